/** Rates in the config: "300/min", "10/s", "1000/hour", "5000/day". */
import { z } from 'zod';

const UNITS: Readonly<Record<string, number>> = {
  s: 1,
  sec: 1,
  second: 1,
  m: 60,
  min: 60,
  minute: 60,
  h: 3600,
  hour: 3600,
  d: 86_400,
  day: 86_400,
};
const RATE = /^\s*(\d+)\s*\/\s*([a-z]+)\s*$/;

export interface Rate {
  readonly points: number;
  /** Window length in seconds. */
  readonly seconds: number;
}

export const rate = z.string().transform((value, ctx): Rate => {
  const match = RATE.exec(value);
  const seconds = match ? UNITS[match[2] as string] : undefined;
  const points = match ? Number(match[1]) : 0;
  if (!match || seconds === undefined || points < 1) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a rate — write it like 300/min, 10/s or 1000/hour`,
    });
    return z.NEVER;
  }
  return { points, seconds };
});
