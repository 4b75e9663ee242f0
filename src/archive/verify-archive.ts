import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { type ChainRow, rowHash } from "../ledger/hash-chain.ts";
import type { SqlClient } from "../ledger/sql-client.ts";
import { ledgerHashes } from "./day-rows.ts";
import {
  ARCHIVE_ROOT,
  archiveKeys,
  DATA_FILE,
  dayOfManifestKey,
  nextUtcDay,
  parseDay,
} from "./layout.ts";
import { type ArchiveManifest, LEDGER_CHAIN_ID, manifestSchema } from "./manifest.ts";
import type { ArchiveSink } from "./sink.ts";

/** Row problems listed per day before the rest are only counted. */
const MAX_ROW_PROBLEMS = 20;

export interface DayVerification {
  day: string;
  /** Rows read from the data file. */
  rows: number;
  /** The chain head the day starts from and the one it ends at, as the manifest states them. */
  prevSeq?: string;
  prevHash?: string;
  headSeq?: string;
  headHash?: string;
  problems: string[];
}

export interface ArchiveVerification {
  ok: boolean;
  days: DayVerification[];
  rows: number;
  /** Every problem, each prefixed with its day. */
  problems: string[];
}

export interface VerifyArchiveOptions {
  /** When given, each archived row's hash is also compared with the live ledger's. */
  ledger?: { db: SqlClient };
}

interface ParsedLine {
  line: number;
  row: ChainRow & { rowHash: string };
}

/** The data file's lines, decompressed as they are read. */
async function* linesOf(data: Buffer): AsyncGenerator<string> {
  const gunzip = createGunzip();
  const lines = createInterface({ input: Readable.from([data]).pipe(gunzip), crlfDelay: Infinity });
  const failed = new Promise<never>((_, reject) => gunzip.once("error", reject));
  failed.catch(() => {});
  const iterator = lines[Symbol.asyncIterator]();
  for (;;) {
    const next = await Promise.race([iterator.next(), failed]);
    if (next.done) return;
    yield next.value;
  }
}

function isHash(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{64}$/.test(value);
}

function parseLine(text: string, line: number): ParsedLine | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `line ${line} is not JSON`;
  }
  const row = value as Partial<ChainRow & { rowHash: string }> | null;
  if (
    row === null ||
    typeof row !== "object" ||
    typeof row.seq !== "string" ||
    !/^\d+$/.test(row.seq)
  ) {
    return `line ${line} is not an archived ledger row (no seq)`;
  }
  if (!isHash(row.rowHash) || !isHash(row.prevHash)) {
    return `line ${line} (seq ${row.seq}) has no valid rowHash / prevHash`;
  }
  return { line, row: row as ChainRow & { rowHash: string } };
}

async function readManifest(
  source: ArchiveSink,
  day: string,
  problems: string[],
): Promise<ArchiveManifest | null> {
  const text = await source.get(archiveKeys(day).manifest);
  if (text === null) {
    problems.push(`manifest ${archiveKeys(day).manifest} is missing`);
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(text.toString("utf8"));
  } catch {
    problems.push("manifest is not JSON");
    return null;
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    problems.push(`manifest is malformed: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
    return null;
  }
  const manifest = parsed.data;
  if (manifest.day !== day)
    problems.push(`manifest is for day ${manifest.day}, filed under ${day}`);
  if (manifest.dataFile !== DATA_FILE)
    problems.push(`manifest names data file ${manifest.dataFile}`);
  return manifest;
}

/** Checks one day: file hash, every row's hash and link, counts and heads against the manifest. */
export async function verifyArchiveDay(
  source: ArchiveSink,
  dayText: string,
  { ledger }: VerifyArchiveOptions = {},
): Promise<DayVerification> {
  const day = parseDay(dayText);
  const problems: string[] = [];
  const result: DayVerification = { day, rows: 0, problems };
  const manifest = await readManifest(source, day, problems);
  if (manifest === null) return result;
  const chain = manifest.chains.find((c) => c.chainId === LEDGER_CHAIN_ID);
  if (chain === undefined || manifest.chains.length !== 1) {
    problems.push(`manifest must hold exactly the "${LEDGER_CHAIN_ID}" chain`);
    return result;
  }
  result.prevSeq = chain.prevSeq;
  result.prevHash = chain.prevHash;
  result.headSeq = chain.headSeq;
  result.headHash = chain.headHash;

  const data = await source.get(archiveKeys(day).data);
  if (data === null) {
    problems.push(`data file ${archiveKeys(day).data} is missing`);
    return result;
  }
  if (createHash("sha256").update(data).digest("hex") !== manifest.dataSha256) {
    problems.push(
      "data file sha256 does not match the manifest's dataSha256 (file altered or replaced)",
    );
  }
  if (data.length !== manifest.dataBytes) {
    problems.push(`data file is ${data.length} bytes, the manifest says ${manifest.dataBytes}`);
  }

  let rowProblems = 0;
  const rowProblem = (text: string) => {
    rowProblems++;
    if (rowProblems <= MAX_ROW_PROBLEMS) problems.push(text);
  };
  let expectedSeq = BigInt(chain.prevSeq) + 1n;
  let prevHash = chain.prevHash;
  let firstRow: ParsedLine["row"] | undefined;
  let lineNo = 0;
  try {
    for await (const text of linesOf(data)) {
      lineNo++;
      if (text === "") continue;
      const parsed = parseLine(text, lineNo);
      if (typeof parsed === "string") {
        rowProblem(parsed);
        continue;
      }
      const { rowHash: stored, ...content } = parsed.row;
      result.rows++;
      firstRow ??= parsed.row;
      if (BigInt(content.seq) !== expectedSeq) {
        rowProblem(
          `line ${lineNo}: seq ${content.seq} where ${expectedSeq} was expected (rows missing or reordered)`,
        );
      }
      if (content.prevHash !== prevHash) {
        rowProblem(
          `line ${lineNo} (seq ${content.seq}): prevHash does not link to the previous row's hash`,
        );
      }
      let computed: string | undefined;
      try {
        computed = rowHash(content);
      } catch (error) {
        rowProblem(
          `line ${lineNo} (seq ${content.seq}): cannot be hashed: ${(error as Error).message}`,
        );
      }
      if (computed !== undefined && computed !== stored) {
        rowProblem(
          `line ${lineNo} (seq ${content.seq}): row hash does not match its content (row altered)`,
        );
      }
      expectedSeq = BigInt(content.seq) + 1n;
      prevHash = stored;
    }
  } catch (error) {
    problems.push(`data file cannot be decompressed: ${(error as Error).message}`);
    return result;
  }
  if (rowProblems > MAX_ROW_PROBLEMS)
    problems.push(`... and ${rowProblems - MAX_ROW_PROBLEMS} more row problems`);

  if (result.rows !== manifest.rows) {
    problems.push(
      `row count: the data file holds ${result.rows} rows, the manifest says ${manifest.rows}`,
    );
  }
  if (result.rows !== chain.count) {
    problems.push(
      `row count: the data file holds ${result.rows} rows, the chain entry says ${chain.count}`,
    );
  }
  if (prevHash !== chain.headHash) {
    problems.push(
      "head: the last row's hash is not the manifest's headHash (rows missing at the end)",
    );
  }
  if ((expectedSeq - 1n).toString() !== chain.headSeq) {
    problems.push(
      `head: the last row is seq ${expectedSeq - 1n}, the manifest says ${chain.headSeq}`,
    );
  }
  if (
    (firstRow?.seq ?? null) !== chain.firstSeq ||
    (firstRow?.rowHash ?? null) !== chain.firstHash
  ) {
    problems.push("first row: seq / hash differ from the manifest's firstSeq / firstHash");
  }
  if (ledger !== undefined) await compareWithLedger(ledger.db, data, chain, problems);
  return result;
}

/** The archived hashes against the live ledger's rows of the same seq (a second pass). */
async function compareWithLedger(
  db: SqlClient,
  data: Buffer,
  chain: ArchiveManifest["chains"][number],
  problems: string[],
): Promise<void> {
  if (chain.prevSeq !== "0") {
    const before = ledgerHashes(db, chain.prevSeq, chain.prevSeq);
    const live = (await before.next()).value;
    if (live === undefined || live.hash !== chain.prevHash) {
      problems.push(
        `ledger: seq ${chain.prevSeq} (the head before the day) does not have the manifest's prevHash`,
      );
    }
  }
  if (chain.firstSeq === null) return;
  const live = ledgerHashes(db, chain.firstSeq, chain.headSeq);
  let mismatches = 0;
  for await (const text of linesOf(data)) {
    const parsed = text === "" ? null : parseLine(text, 0);
    if (parsed === null || typeof parsed === "string") continue;
    const next = await live.next();
    const ledgerRow = next.done ? undefined : next.value;
    if (
      ledgerRow === undefined ||
      ledgerRow.seq !== parsed.row.seq ||
      ledgerRow.hash !== parsed.row.rowHash
    ) {
      mismatches++;
      if (mismatches <= MAX_ROW_PROBLEMS) {
        problems.push(`ledger: seq ${parsed.row.seq} differs from the live ledger's row`);
      }
    }
  }
  if (mismatches > MAX_ROW_PROBLEMS)
    problems.push(`... and ${mismatches - MAX_ROW_PROBLEMS} more ledger mismatches`);
}

/** The days with a manifest in the source, oldest first. */
export async function archivedDays(source: ArchiveSink): Promise<string[]> {
  const keys = await source.list(`${ARCHIVE_ROOT}/`);
  return keys
    .map(dayOfManifestKey)
    .filter((d): d is string => d !== null)
    .sort();
}

/**
 * Verifies one archived day, or every day in the source. All days: each day on its own; every
 * calendar day from the first archived day to the last must have a manifest (a day without
 * transactions still has one, with zero rows), so a missing one is a gap, named; and each day
 * must start where the previous day present ended (its prevSeq / prevHash are that day's
 * headSeq / headHash), whatever the gap between them.
 */
export async function verifyArchive(
  source: ArchiveSink,
  day?: string,
  options: VerifyArchiveOptions = {},
): Promise<ArchiveVerification> {
  const days = day === undefined ? await archivedDays(source) : [parseDay(day)];
  const results: DayVerification[] = [];
  const problems: string[] = [];
  if (days.length === 0) problems.push(`no archived day under ${source.describe}`);
  const record = (result: DayVerification) => {
    results.push(result);
    problems.push(...result.problems.map((p) => `${result.day}: ${p}`));
  };
  /** The last day verified whose manifest states a head. */
  let previous: DayVerification | undefined;
  let expected = days[0];
  for (const d of days) {
    // Calendar days between the previous archived day and this one have no manifest.
    for (; expected !== undefined && expected < d; expected = nextUtcDay(expected)) {
      record({
        day: expected,
        rows: 0,
        problems: [
          `manifest ${archiveKeys(expected).manifest} is missing: the day is a gap between ${days[0]} and ${days.at(-1)}`,
        ],
      });
    }
    expected = nextUtcDay(d);
    const result = await verifyArchiveDay(source, d, options);
    if (
      previous?.headHash !== undefined &&
      result.prevHash !== undefined &&
      (result.prevHash !== previous.headHash || result.prevSeq !== previous.headSeq)
    ) {
      result.problems.push(
        `does not continue ${previous.day}: it starts after seq ${result.prevSeq}, ${previous.day} ends at seq ${previous.headSeq} (prevHash is not that day's headHash)`,
      );
    }
    record(result);
    if (result.headHash !== undefined) previous = result;
  }
  return {
    ok: problems.length === 0,
    days: results,
    rows: results.reduce((n, r) => n + r.rows, 0),
    problems,
  };
}
