/**
 * Finding card numbers (PANs) in text, so that none is stored or logged (PRIV-1): in free-text
 * and id fields at ingest, in alert notes, and as a mask over quarantined payloads.
 */

/** Luhn check: catches mistyped numbers before they become tokens nobody can match. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * A run of digit groups separated by single separators: space, dash, dot, underscore, colon or
 * slash ("4111 1111-1111 1111", "4111_1111_1111_1111"; ids may hold `_ . : -`, so a number
 * written with those must not slip through). Bounded by non-digits rather than \b, so
 * "tok_4111111111111111" or "card4111111111111111" is a run too.
 */
const DIGIT_RUN = /(?<!\d)\d+(?:[ ._:/-]\d+)*(?!\d)/g;
const SEPARATOR = /[ ._:/-]/;

const MIN_PAN = 13;
const MAX_PAN = 19;

/**
 * Issuer prefixes by length, of the networks that take e-commerce payments (Visa, Mastercard,
 * Mir, Amex, Diners, JCB, Discover, UnionPay, Maestro). Luhn alone would flag one random number
 * in ten: ids built from epoch milliseconds ("tx-1795253400123") would be refused at random.
 */
function plausibleCardNumber(digits: string): boolean {
  const first = digits[0];
  switch (digits.length) {
    case 13:
      return first === "4";
    case 14:
    case 15:
      return first === "3";
    default: {
      if (first !== "2") return first === "3" || first === "4" || first === "5" || first === "6";
      const prefix = Number(digits.slice(0, 4));
      return (prefix >= 2221 && prefix <= 2720) || (prefix >= 2200 && prefix <= 2204);
    }
  }
}

/** How card numbers are grouped when written out: 4-4-4-4, 4-6-5, 4-4-4-4-3, 8-8. */
const GROUP = /^\d{3,8}$/;

/**
 * True when the text holds a card number: 13-19 digits with a card network's prefix that pass
 * the Luhn check, written plain or in groups separated as DIGIT_RUN allows. Every span of whole
 * groups is tried, so a number beside others ("order 12 4111 1111 1111 1111") is still found.
 */
export function containsCardNumber(text: string): boolean {
  // Every string of a transaction is checked; most hold too few digits to hold a card number.
  if (digitCount(text) < MIN_PAN) return false;
  for (const [run] of text.matchAll(DIGIT_RUN)) {
    const groups = run.split(SEPARATOR);
    for (let i = 0; i < groups.length; i++) {
      let digits = "";
      for (let j = i; j < groups.length; j++) {
        // "2026-0001234567890" is an id, not a grouped card number.
        if (j > i && !(GROUP.test(groups[j]!) && GROUP.test(groups[i]!))) break;
        digits += groups[j];
        if (digits.length > MAX_PAN) break;
        if (digits.length >= MIN_PAN && plausibleCardNumber(digits) && luhnValid(digits)) {
          return true;
        }
      }
    }
  }
  return false;
}

function digitCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) count++;
  }
  return count;
}

/**
 * PCI DSS lets the first 6 and last 4 digits be shown together only for numbers of at least
 * 15 digits; a shorter number keeps its last 4 only, or too few digits would stay hidden.
 */
export function binOf(digits: string): string | undefined {
  return digits.length >= 15 ? digits.slice(0, 6) : undefined;
}

/**
 * Masks every run of 13 or more digits (Luhn-valid or not: a second line of defence may be
 * wrong in the safe direction) in free text, for quarantined payloads and error messages:
 * BIN (when binOf allows it) and last 4 kept, separators dropped.
 */
export function maskCardNumbers(text: string): string {
  return text.replace(DIGIT_RUN, (run) => {
    const digits = run.replace(/\D/g, "");
    if (digits.length < MIN_PAN) return run;
    const head = digits.length <= MAX_PAN ? (binOf(digits) ?? "") : "";
    return `${head}${"*".repeat(digits.length - head.length - 4)}${digits.slice(-4)}`;
  });
}

/** What a client or a log sees in place of a card number it must not get back. */
export const CARD_NUMBER_PLACEHOLDER = "[card number]";

/**
 * Replaces each digit run that holds a card number (containsCardNumber) by
 * CARD_NUMBER_PLACEHOLDER and leaves everything else as it is, so field names, messages and
 * URLs keep their other digits (ids built from epoch milliseconds, amounts) readable.
 */
export function redactCardNumbers(text: string): string {
  if (!containsCardNumber(text)) return text;
  return text.replace(DIGIT_RUN, (run) =>
    containsCardNumber(run) ? CARD_NUMBER_PLACEHOLDER : run,
  );
}
