/**
 * Finding card numbers (PANs) in text, so that none is stored or logged (PRIV-1, SEC-5): in
 * free-text and id fields at ingest, in alert notes, and as a mask over quarantined payloads,
 * whatever digits and separators the number is written with.
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

function isCardNumber(digits: string): boolean {
  return digits.length <= MAX_PAN && plausibleCardNumber(digits) && luhnValid(digits);
}

/*
 * Folding: every character is read as what it stands for after Unicode compatibility
 * normalization (NFKC: fullwidth "４" is "4", "①" is "1", the fullwidth slash is "/"), with
 *   - each decimal digit of any script (\p{Nd}: Arabic-Indic "٤", Devanagari "४", ...) as its
 *     ASCII digit, by its numeric value;
 *   - each letter as "a": letters end a run of digits;
 *   - invisible characters (zero-width spaces and joiners U+200B..U+200D, U+2060, U+FEFF, soft
 *     hyphen, variation selectors, combining marks such as the keycap U+20E3) dropped, so they
 *     neither split a group of digits nor count as a separator;
 *   - anything else (any space, tab, line break, punctuation, dash, symbol) kept as itself: a
 *     separator between groups of digits.
 * Characters are folded one at a time; NFKC of a whole string only differs by composing letters
 * with marks, which changes nothing here.
 */
const INVISIBLE = /^[\p{Default_Ignorable_Code_Point}\p{Cf}\p{M}]$/u;
const DECIMAL_DIGIT = /^\p{Nd}$/u;
const LETTER = /^\p{L}$/u;

const ASCII_FOLDED = Array.from({ length: 128 }, (_, code) => {
  const c = String.fromCharCode(code);
  return /[A-Za-z]/.test(c) ? "a" : c;
});

const foldedCache = new Map<number, string>();
const FOLDED_CACHE_MAX = 4096;

/**
 * The ASCII digit of a \p{Nd} character. Unicode encodes decimal digits only in runs of ten
 * consecutive code points from 0 to 9 (a stability guarantee), so a maximal run of \p{Nd} code
 * points starts at a zero and the value is the distance from its start, modulo 10.
 */
function asciiDigit(codePoint: number): string {
  let start = codePoint;
  while (start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return String((codePoint - start) % 10);
}

function foldCodePoint(codePoint: number): string {
  let folded = foldedCache.get(codePoint);
  if (folded !== undefined) return folded;
  folded = "";
  for (const c of String.fromCodePoint(codePoint).normalize("NFKC")) {
    if (INVISIBLE.test(c)) continue;
    const code = c.codePointAt(0)!;
    if (code < 128) folded += ASCII_FOLDED[code];
    else if (DECIMAL_DIGIT.test(c)) folded += asciiDigit(code);
    else if (LETTER.test(c)) folded += "a";
    else folded += c;
  }
  // Bounded: a client sending every code point of Unicode must not grow it without end.
  if (foldedCache.size >= FOLDED_CACHE_MAX) foldedCache.clear();
  foldedCache.set(codePoint, folded);
  return folded;
}

/** How many digits each BMP character folds to; -1 until first asked. */
const BMP_DIGITS = new Int8Array(0x10000).fill(-1);

function digitsIn(folded: string): number {
  let n = 0;
  for (let k = 0; k < folded.length; k++) {
    const c = folded.charCodeAt(k);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** A run of digit groups: no letter inside, separators (of any length) between the groups. */
interface DigitRun {
  /** Where the run starts and ends in the text (first digit, after the last digit). */
  start: number;
  end: number;
  /** The groups of digits, in ASCII. */
  groups: string[];
  /** separators[k] (folded) stands between groups[k] and groups[k + 1]. */
  separators: string[];
}

/**
 * The text folded, when it holds enough digits to hold a card number. ASCII text is its own
 * folding; other text is folded character by character, with where each folded character came
 * from (origin: index of its character in the text; originEnd: index after it).
 */
interface FoldedText {
  folded: string;
  /** The text's length. */
  length: number;
  origin?: number[];
  originEnd?: number[];
}

function foldText(text: string): FoldedText | undefined {
  // Every string of a transaction is checked; most hold too few digits to hold a card number.
  let digits = 0;
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 128) {
      if (code >= 48 && code <= 57) digits++;
      continue;
    }
    ascii = false;
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const codePoint = text.codePointAt(i)!;
      if (codePoint > 0xffff) {
        digits += digitsIn(foldCodePoint(codePoint));
        i++;
        continue;
      }
    }
    let n = BMP_DIGITS[code]!;
    if (n < 0) BMP_DIGITS[code] = n = digitsIn(foldCodePoint(code));
    digits += n;
  }
  if (digits < MIN_PAN) return undefined;
  if (ascii) return { folded: text, length: text.length };
  let folded = "";
  const origin: number[] = [];
  const originEnd: number[] = [];
  for (let i = 0; i < text.length; ) {
    const code = text.charCodeAt(i);
    const codePoint = code < 128 ? code : text.codePointAt(i)!;
    const width = codePoint > 0xffff ? 2 : 1;
    const part = code < 128 ? ASCII_FOLDED[code]! : foldCodePoint(codePoint);
    for (let k = 0; k < part.length; k++) {
      origin.push(i);
      originEnd.push(i + width);
    }
    folded += part;
    i += width;
  }
  return { folded, length: text.length, origin, originEnd };
}

/** Digit groups under separators: anything but digits and letters (folded, letters are "a"). */
const RUN = /\d+(?:[^A-Za-z\d]+\d+)*/g;
const NOT_DIGITS = /\D+/;
const SEPARATORS = /\D+/g;

/** Calls visit for each digit run of the folded text, in order, until visit answers true. */
function someRun(text: FoldedText, visit: (run: DigitRun) => boolean): boolean {
  const { folded, origin, originEnd } = text;
  for (const m of folded.matchAll(RUN)) {
    const run = m[0];
    const last = m.index + run.length - 1;
    let start = m.index;
    let end = last + 1;
    if (origin !== undefined && originEnd !== undefined) {
      start = origin[m.index]!;
      // Invisible characters right after the last digit go with it ("4\ufe0f\u20e3").
      end = end < folded.length ? Math.max(originEnd[last]!, origin[end]!) : text.length;
    }
    const separated = NOT_DIGITS.test(run);
    const groups = separated ? run.split(NOT_DIGITS) : [run];
    const separators = separated ? run.match(SEPARATORS)! : [];
    if (visit({ start, end, groups, separators })) return true;
  }
  return false;
}

/** How card numbers are grouped when written out: 4-4-4-4, 4-6-5, 4-4-4-4-3, 8-8. */
function isCardGroup(group: string): boolean {
  return group.length >= 3 && group.length <= 8;
}

/**
 * True when a span of whole groups of the run, shaped like a written card number, joins into
 * 13 or more digits that `accept` takes. A span is tried when it is
 *   - one group, written without separators ("tok_4111111111111111");
 *   - groups of 3-8 digits each, whatever separates them ("4111 1111-1111.1111", "3782, 822463,
 *     10005", "4111\t1111\t1111\t1111"): how people and forms group card numbers;
 *   - groups of one length up to 8 under one and the same separator, the last one possibly
 *     shorter ("4 1 1 1 1 1 ...", "41 11 11 11 ...", "411-111-111-111-111-1"): digits spaced out
 *     evenly.
 * Spans of mixed short groups are not joined: "2026-12-07-000123" (an order id), "30/11/2026
 * 10:30:00" (a date) or "12.345.678/0001-95" (a Brazilian company number) are not read as one
 * number, or one in ten of those starting with 3 to 6 would pass Luhn and be refused. Every span
 * is tried, so a number beside others ("order 12 4111 1111 1111 1111") is still found.
 */
function holdsCardShapedSpan(run: DigitRun, accept: (digits: string) => boolean): boolean {
  const { groups, separators } = run;
  for (let i = 0; i < groups.length; i++) {
    const first = groups[i]!;
    let digits = first;
    if (digits.length >= MIN_PAN && accept(digits)) return true;
    let cardGrouped = isCardGroup(first);
    let evenlySpaced = first.length <= 8;
    for (let j = i + 1; j < groups.length && digits.length < MAX_PAN; j++) {
      const group = groups[j]!;
      cardGrouped &&= isCardGroup(group);
      const spaced =
        evenlySpaced && separators[j - 1] === separators[i] && group.length <= first.length;
      evenlySpaced = spaced && group.length === first.length;
      if (!cardGrouped && !spaced) break;
      digits += group;
      if (digits.length > MAX_PAN) break;
      if (digits.length >= MIN_PAN && accept(digits)) return true;
    }
  }
  return false;
}

/**
 * True when the text holds a card number: 13-19 digits with a card network's prefix that pass
 * the Luhn check, written in any script's digits (fullwidth, Arabic-Indic, ...), plain or in
 * groups under any separators (spaces, tabs, commas, dashes, dots, slashes, ...) as
 * holdsCardShapedSpan tells, with invisible characters anywhere in it.
 */
export function containsCardNumber(text: string): boolean {
  const folded = foldText(text);
  return folded !== undefined && someRun(folded, (run) => holdsCardShapedSpan(run, isCardNumber));
}

/**
 * The digits of a card number as a client may write it in paymentMethod.card.number: folded as
 * containsCardNumber reads text (any script's digits as ASCII, invisible characters dropped)
 * with every separator removed; a letter stays (as "a"), so the result is no number. ASCII
 * digits come back as they are.
 */
export function cardNumberDigits(text: string): string {
  if (/^\d*$/.test(text)) return text;
  let out = "";
  for (let i = 0; i < text.length; ) {
    const codePoint = text.codePointAt(i)!;
    const folded = codePoint < 128 ? ASCII_FOLDED[codePoint]! : foldCodePoint(codePoint);
    for (const c of folded) if ((c >= "0" && c <= "9") || c === "a") out += c;
    i += codePoint > 0xffff ? 2 : 1;
  }
  return out;
}

/**
 * PCI DSS lets the first 6 and last 4 digits be shown together only for numbers of at least
 * 15 digits; a shorter number keeps its last 4 only, or too few digits would stay hidden.
 */
export function binOf(digits: string): string | undefined {
  return digits.length >= 15 ? digits.slice(0, 6) : undefined;
}

/** Replaces each run `replace` answers for; the rest of the text stays as it is. */
function replaceRuns(text: string, replace: (run: DigitRun) => string | undefined): string {
  const folded = foldText(text);
  if (folded === undefined) return text;
  let out = "";
  let from = 0;
  someRun(folded, (run) => {
    const replacement = replace(run);
    if (replacement !== undefined) {
      out += text.slice(from, run.start) + replacement;
      from = run.end;
    }
    return false;
  });
  return from === 0 ? text : out + text.slice(from);
}

const anyDigits = () => true;

/** As the mask had it before SEC-5: 13 or more digits joined by single separator characters. */
function longSingleSeparated(run: DigitRun): boolean {
  let count = run.groups[0]!.length;
  for (let k = 1; k < run.groups.length && count < MIN_PAN; k++) {
    const group = run.groups[k]!;
    count = run.separators[k - 1]!.length === 1 ? count + group.length : group.length;
  }
  return count >= MIN_PAN;
}

/**
 * Masks, in free text (quarantined payloads, error messages), every digit run holding 13 or more
 * digits in a card-shaped span (holdsCardShapedSpan) or joined by single separator characters,
 * Luhn-valid or not, any prefix: a second line of defence may be wrong in the safe direction.
 * The whole run is replaced by its digits in ASCII, masked but for the BIN (when binOf allows
 * it) and the last 4, separators dropped.
 */
export function maskCardNumbers(text: string): string {
  return replaceRuns(text, (run) => {
    if (!longSingleSeparated(run) && !holdsCardShapedSpan(run, anyDigits)) return undefined;
    const digits = run.groups.join("");
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
  return replaceRuns(text, (run) =>
    holdsCardShapedSpan(run, isCardNumber) ? CARD_NUMBER_PLACEHOLDER : undefined,
  );
}
