/**
 * Duplicate keys in a JSON body (SEC-6). JSON.parse keeps the last of two equal keys, so
 * `{"amount": 1, "amount": 100000}` would reach validation as 100000 while a proxy, a WAF or a
 * log reader that keeps the first saw 1. Such a body is refused, naming the key.
 */

const QUOTE = 34; // "
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const OPEN_OBJECT = 123; // {
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91; // [
const CLOSE_ARRAY = 93;

const SMALL = 24;

/**
 * Where the string opened by the quote at `open` ends: the next quote not escaped by an odd run
 * of backslashes (in text JSON.parse accepted, there is one).
 */
function closingQuote(text: string, open: number): number {
  let end = text.indexOf('"', open + 1);
  for (;;) {
    let slashes = 0;
    while (text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

interface Frame {
  /**
   * Keys seen in this object: an array is faster than a Set for the few keys objects have; past
   * SMALL of them a Set, so a body of 100,000 keys costs no quadratic search.
   */
  keys: string[];
  many: Set<string> | null;
  array: boolean;
  /** The element index in an array, the current key in an object: for the field path. */
  index: number;
  key: string | undefined;
}

/**
 * The path of the first duplicated key ("amount", "transactions[3].metadata.orderId"), or
 * undefined. Only for text JSON.parse has already accepted: the scan trusts its structure, so it
 * only finds where strings end and which of them are keys (the ones followed by a colon).
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: Frame[] = [];
  const length = text.length;
  let i = 0;
  while (i < length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(text, i);
      let next = end + 1;
      while (next < length && text.charCodeAt(next) <= 32) next++;
      const frame = stack[stack.length - 1];
      if (text.charCodeAt(next) === COLON && frame !== undefined && !frame.array) {
        const raw = text.slice(i + 1, end);
        // "a" and "\u0061" are the same key: escaped keys are compared decoded.
        const key = raw.includes("\\") ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        frame.key = key;
        if (frame.many !== null) {
          if (frame.many.has(key)) return pathOf(stack);
          frame.many.add(key);
        } else {
          if (frame.keys.includes(key)) return pathOf(stack);
          frame.keys.push(key);
          if (frame.keys.length > SMALL) frame.many = new Set(frame.keys);
        }
      }
      i = next;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      stack.push({
        keys: [],
        many: null,
        array: c === OPEN_ARRAY,
        index: 0,
        key: undefined,
      });
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
    } else if (c === COMMA) {
      const frame = stack[stack.length - 1];
      if (frame?.array === true) frame.index++;
    }
    i++;
  }
  return undefined;
}

function pathOf(stack: Frame[]): string {
  let path = "";
  for (const frame of stack) {
    if (frame.array) path += `[${frame.index}]`;
    else path += path === "" ? frame.key : `.${frame.key}`;
  }
  return path;
}

/** How many keys the JSON text writes: strings followed by a colon (text JSON.parse accepted). */
function keysWritten(text: string): number {
  let count = 0;
  let i = text.indexOf('"');
  while (i !== -1) {
    const end = closingQuote(text, i);
    let next = end + 1;
    let c = text.charCodeAt(next);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++next);
    if (c === COLON) count++;
    i = text.indexOf('"', next);
  }
  return count;
}

/** How many keys the parsed value holds, in all its objects. */
function keysHeld(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += keysHeld(item);
    return count;
  }
  for (const key in value) {
    count++;
    count += keysHeld((value as Record<string, unknown>)[key]);
  }
  return count;
}

/**
 * The path of the first duplicated key of a parsed body, or undefined. The common case, no
 * duplicate, costs one pass from quote to quote (native indexOf) and one walk of the parsed
 * value: a key written twice is held once, so the counts differ. Only then is the text scanned
 * for which key it was.
 */
export function duplicateKeyOf(text: string, parsed: unknown): string | undefined {
  if (keysWritten(text) === keysHeld(parsed)) return undefined;
  return findDuplicateKey(text);
}
