import { ValidationError } from "../errors.ts";

const DAY_MS = 86_400_000;

/** A UTC day as YYYY-MM-DD; throws a ValidationError for anything else (including 2026-02-30). */
export function parseDay(text: string, field = "day"): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match !== null) {
    const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
    if (new Date(ms).toISOString().slice(0, 10) === text) return text;
  }
  throw new ValidationError(
    field,
    `${field} must be a UTC day as YYYY-MM-DD, got ${JSON.stringify(text)}`,
  );
}

/** The UTC day before the one `now` is in. */
export function previousUtcDay(now: number): string {
  return new Date(now - DAY_MS).toISOString().slice(0, 10);
}

/** The UTC day after `day`. */
export function nextUtcDay(day: string): string {
  return new Date(Date.parse(`${parseDay(day)}T00:00:00.000Z`) + DAY_MS).toISOString().slice(0, 10);
}

/** The UTC day an instant (ms) is in. */
export function utcDayOf(instant: number): string {
  return new Date(instant).toISOString().slice(0, 10);
}

/** [start, end) of the day as ISO instants. */
export function dayBounds(day: string): { start: string; end: string } {
  const start = Date.parse(`${parseDay(day)}T00:00:00.000Z`);
  return { start: new Date(start).toISOString(), end: new Date(start + DAY_MS).toISOString() };
}

export const ARCHIVE_ROOT = "ledger-archive";
export const DATA_FILE = "transactions.ndjson.gz";
export const MANIFEST_FILE = "manifest.json";

/** `ledger-archive/<yyyy>/<mm>/<dd>/`: one folder per UTC day. */
export function dayFolder(day: string): string {
  const [yyyy, mm, dd] = parseDay(day).split("-");
  return `${ARCHIVE_ROOT}/${yyyy}/${mm}/${dd}`;
}

export function archiveKeys(day: string): { data: string; manifest: string } {
  const folder = dayFolder(day);
  return { data: `${folder}/${DATA_FILE}`, manifest: `${folder}/${MANIFEST_FILE}` };
}

/** The day a manifest key belongs to, or null when the key is not one. */
export function dayOfManifestKey(key: string): string | null {
  const match = /(?:^|\/)ledger-archive\/(\d{4})\/(\d{2})\/(\d{2})\/manifest\.json$/.exec(key);
  return match === null ? null : `${match[1]}-${match[2]}-${match[3]}`;
}
