import { HISTORY_WINDOW_SECONDS } from "./vocabulary.ts";

const DURATION = /^([1-9]\d{0,5})(s|m|h)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600 } as const;

/** Seconds of a duration like "30s", "10m" or "1h"; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
}

/** A window a rule may use: the history keeps 24 h, so nothing can look back further. */
export function isRuleWindow(text: string): boolean {
  const seconds = parseDuration(text);
  return seconds !== undefined && seconds <= HISTORY_WINDOW_SECONDS;
}

/**
 * The one spelling of a duration in the largest whole unit ("600s" -> "10m", "60m" -> "1h"),
 * so rulesets that mean the same window have the same version.
 */
export function canonicalDuration(text: string): string {
  const seconds = parseDuration(text);
  if (seconds === undefined) return text;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** Validated durations seen so far: a ruleset has a handful, asked for on every transaction. */
const validated = new Map<string, number>();

/** Seconds of a duration already validated by the schema. */
export function windowSeconds(text: string): number {
  let seconds = validated.get(text);
  if (seconds === undefined) {
    seconds = parseDuration(text);
    if (seconds === undefined) throw new Error(`not a validated duration: ${text}`);
    validated.set(text, seconds);
  }
  return seconds;
}
