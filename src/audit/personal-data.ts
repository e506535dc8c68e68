/**
 * Personal data by its shape: email addresses; card numbers of 13–19 digits starting 2–6 with
 * optional single spaces or dashes, only when the Luhn check passes (order numbers survive, and
 * epoch milliseconds start with 1); phone numbers written internationally or in common national
 * forms. Bare digit runs that could be a phone number or an id are left alone on purpose.
 */
import { REDACTED } from './redaction-marker.js';

const EMAIL =
  /(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*(?:@|%40)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b/g;
/** 13–19 digits starting 2–6, single spaces or dashes between; Luhn decides in the callback. */
const CARD = /(?<![\w.+-])[2-6](?:[ -]?\d){12,18}(?![\w-])/g;
/** A number must not run on into more digits, a time or a decimal. */
const PHONE_END = '(?![\\w:]|[.-]\\d)';
const PHONE_INTERNATIONAL = new RegExp(
  `(?<![\\w+])\\+\\d{1,3}(?:[ .-]?\\(\\d{1,4}\\))?[ .-]?\\d+(?:[ .-]\\d+){0,5}${PHONE_END}`,
  'g',
);
const PHONE_NANP = new RegExp(
  `(?<![\\w.+-])(?:1[ .-])?(?:\\(\\d{3}\\)[ ]?|\\d{3}[ .-])\\d{3}[ .-]\\d{4}${PHONE_END}`,
  'g',
);
/** National numbers with a trunk 0 and one consistent separator: 020 7946 0958, 01-23-45-67-89. */
const PHONE_TRUNK = new RegExp(`(?<![\\w.+-])0\\d{1,4}([ -])\\d{2,8}(?:\\1\\d{2,8}){0,3}${PHONE_END}`, 'g');

export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

const digitCount = (text: string): number => text.replace(/\D/g, '').length;

export function isCard(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && /^[2-6]/.test(digits) && luhn(digits);
}

function maskCard(match: string, offset: number, whole: string): string {
  if (!isCard(match.replace(/[ -]/g, ''))) return match;
  // A bare JSON number ({"n":4111…}) becomes a string, so the line stays JSON.
  const before = whole.slice(0, offset).trimEnd().at(-1);
  const after = whole.slice(offset + match.length).trimStart()[0];
  const bare =
    /^\d+$/.test(match) &&
    (before === ':' || before === '[' || before === ',') &&
    (after === undefined || ',}]'.includes(after));
  return bare ? `"${REDACTED}"` : REDACTED;
}

const phoneMask =
  (min: number, max: number) =>
  (match: string): string => {
    const n = digitCount(match);
    return n >= min && n <= max ? REDACTED : match;
  };
const maskInternational = phoneMask(8, 15);
const maskNational = phoneMask(9, 12);

/** `text` with emails, card numbers and phone numbers masked. */
export function maskPersonalData(text: string): string {
  let out = text;
  if (out.includes('@') || out.includes('%40')) out = out.replace(EMAIL, REDACTED);
  if (!/\d/.test(out)) return out;
  return out
    .replace(CARD, maskCard)
    .replace(PHONE_INTERNATIONAL, maskInternational)
    .replace(PHONE_NANP, maskNational)
    .replace(PHONE_TRUNK, maskNational);
}
