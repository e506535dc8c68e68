/**
 * Human-friendly durations ("30s", "5m", "250ms") and sizes ("1mb", "512kb") for the config file.
 * Written by hand because the grammar is four suffixes and every error must name the accepted forms.
 */
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)$/i;
const SIZE_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** A duration in milliseconds, written as a number of ms or as "250ms", "30s", "5m", "1h", "1d". */
export const duration = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = DURATION.exec(value.trim());
  if (!match) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a duration — write it like 250ms, 30s, 5m or 1h`,
    });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * (DURATION_MS[match[2] as string] as number));
});

/** A size in bytes, written as a number of bytes or as "512kb", "1mb". */
export const size = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = SIZE.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a size — write it like 512kb or 1mb` });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * (SIZE_BYTES[(match[2] as string).toLowerCase()] as number));
});
