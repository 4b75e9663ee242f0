import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { GENESIS_HASH, rowHash } from "../ledger/hash-chain.ts";
import type { SqlClient } from "../ledger/sql-client.ts";
import { ledgerRowsAt } from "./day-rows.ts";
import {
  ARCHIVE_ROOT,
  archiveKeys,
  DATA_FILE,
  dayOfManifestKey,
  nextUtcDay,
  parseDay,
} from "./layout.ts";
import {
  type ArchiveChain,
  type ArchivedRow,
  type ArchiveManifest,
  chainOfArchiveId,
  LEDGER_CHAIN_ID,
  manifestSchema,
} from "./manifest.ts";
import type { ArchiveSink } from "./sink.ts";

/** Row problems listed per day before the rest are only counted. */
const MAX_ROW_PROBLEMS = 20;
/** Archived rows compared with the live ledger per query. */
const COMPARE_PAGE = 5000;

export interface DayVerification {
  day: string;
  /** Rows read from the data file. */
  rows: number;
  /**
   * Per chain, the head the day starts from and the one it ends at, as the manifest states
   * them; absent when the manifest could not be read.
   */
  chains?: Pick<ArchiveChain, "chainId" | "prevSeq" | "prevHash" | "headSeq" | "headHash">[];
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
  row: ArchivedRow;
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
  const row = value as Partial<ArchivedRow> | null;
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
  if (row.chain !== undefined && !(Number.isInteger(row.chain) && row.chain >= 0)) {
    return `line ${line} (seq ${row.seq}) has no valid chain`;
  }
  return { line, row: row as ArchivedRow };
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

/** One chain's run through the data file, as its lines are read. */
interface ChainState {
  entry: ArchiveChain;
  lastSeq: bigint;
  prevHash: string;
  rows: number;
  first?: ArchivedRow;
}

/** The manifest's chains by chain number; null (with the problem) when they cannot be. */
function chainsOf(manifest: ArchiveManifest, problems: string[]): Map<number, ChainState> | null {
  const states = new Map<number, ChainState>();
  for (const entry of manifest.chains) {
    const chain = chainOfArchiveId(entry.chainId);
    if (chain === null || states.has(chain)) {
      problems.push(
        `manifest chain "${entry.chainId}" is ${chain === null ? "not a chain name" : "listed twice"}`,
      );
      return null;
    }
    states.set(chain, {
      entry,
      lastSeq: BigInt(entry.prevSeq),
      prevHash: entry.prevHash,
      rows: 0,
    });
  }
  if (!states.has(0)) {
    problems.push(`manifest must hold the "${LEDGER_CHAIN_ID}" chain`);
    return null;
  }
  return states;
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
  const states = chainsOf(manifest, problems);
  if (states === null) return result;
  result.chains = manifest.chains.map(({ chainId, prevSeq, prevHash, headSeq, headHash }) => ({
    chainId,
    prevSeq,
    prevHash,
    headSeq,
    headHash,
  }));

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
      // The chain is not in the v1 row hash: where a row sits is proven by its links.
      const { rowHash: stored, chain = 0, ...content } = parsed.row;
      result.rows++;
      const state = states.get(chain);
      if (state === undefined) {
        rowProblem(
          `line ${lineNo} (seq ${content.seq}) is on chain ${chain}, which the manifest does not list`,
        );
        continue;
      }
      state.rows++;
      state.first ??= parsed.row;
      // Along a chain seq grows, with gaps where a commit rolled back: the links prove that
      // no row is missing.
      if (BigInt(content.seq) <= state.lastSeq) {
        rowProblem(
          `line ${lineNo}: seq ${content.seq} where one above ${state.lastSeq} was expected (rows reordered or repeated)`,
        );
      }
      if (content.prevHash !== state.prevHash) {
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
      state.lastSeq = BigInt(content.seq);
      state.prevHash = stored;
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
  for (const state of states.values()) checkChainEnd(state, problems);
  if (ledger !== undefined) await compareWithLedger(ledger.db, data, manifest, problems);
  return result;
}

/** A chain's rows in the file against its manifest entry: count, head, first row. */
function checkChainEnd(state: ChainState, problems: string[]): void {
  const { entry } = state;
  // Chain 0 speaks as the ledger's only chain did; the others name themselves.
  const of = entry.chainId === LEDGER_CHAIN_ID ? "" : ` of chain ${entry.chainId}`;
  if (state.rows !== entry.count) {
    problems.push(
      `row count: the data file holds ${state.rows} rows${of}, the chain entry says ${entry.count}`,
    );
  }
  if (state.prevHash !== entry.headHash) {
    problems.push(
      `head: the last row${of}'s hash is not the manifest's headHash (rows missing at the end)`,
    );
  }
  if (state.lastSeq.toString() !== entry.headSeq) {
    problems.push(
      `head: the last row${of} is seq ${state.lastSeq}, the manifest says ${entry.headSeq}`,
    );
  }
  if (
    (state.first?.seq ?? null) !== entry.firstSeq ||
    (state.first?.rowHash ?? null) !== entry.firstHash
  ) {
    problems.push(`first row${of}: seq / hash differ from the manifest's firstSeq / firstHash`);
  }
}

/**
 * The archived hashes against the live ledger's rows of the same seq (a second pass, a page
 * of lines at a time), and each chain's head before the day.
 */
async function compareWithLedger(
  db: SqlClient,
  data: Buffer,
  manifest: ArchiveManifest,
  problems: string[],
): Promise<void> {
  const befores = manifest.chains.filter((c) => c.prevSeq !== "0");
  const live = await ledgerRowsAt(
    db,
    befores.map((c) => c.prevSeq),
  );
  for (const entry of befores) {
    if (live.get(entry.prevSeq)?.hash !== entry.prevHash) {
      problems.push(
        `ledger: seq ${entry.prevSeq} (the head before the day${entry.chainId === LEDGER_CHAIN_ID ? "" : ` of chain ${entry.chainId}`}) does not have the manifest's prevHash`,
      );
    }
  }
  let mismatches = 0;
  let page: ArchivedRow[] = [];
  const comparePage = async () => {
    const rows = await ledgerRowsAt(
      db,
      page.map((r) => r.seq),
    );
    for (const archived of page) {
      const ledgerRow = rows.get(archived.seq);
      if (
        ledgerRow === undefined ||
        ledgerRow.hash !== archived.rowHash ||
        ledgerRow.chain !== (archived.chain ?? 0)
      ) {
        mismatches++;
        if (mismatches <= MAX_ROW_PROBLEMS) {
          problems.push(`ledger: seq ${archived.seq} differs from the live ledger's row`);
        }
      }
    }
    page = [];
  };
  for await (const text of linesOf(data)) {
    const parsed = text === "" ? null : parseLine(text, 0);
    if (parsed === null || typeof parsed === "string") continue;
    page.push(parsed.row);
    if (page.length >= COMPARE_PAGE) await comparePage();
  }
  await comparePage();
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
 * Where `day` does not start each chain where `previous` ended it. A chain the previous day
 * does not list had no row before that day's archive was made: it must start at genesis.
 */
function discontinuities(previous: DayVerification, day: DayVerification): string[] {
  const ended = new Map((previous.chains ?? []).map((c) => [c.chainId, c]));
  const problems: string[] = [];
  for (const chain of day.chains ?? []) {
    const before = ended.get(chain.chainId) ?? { headSeq: "0", headHash: GENESIS_HASH };
    if (chain.prevHash === before.headHash && chain.prevSeq === before.headSeq) continue;
    const on = chain.chainId === LEDGER_CHAIN_ID ? "" : ` on chain ${chain.chainId}`;
    problems.push(
      `does not continue ${previous.day}${on}: it starts after seq ${chain.prevSeq}, ${previous.day} ends at seq ${before.headSeq} (prevHash is not that day's headHash)`,
    );
  }
  return problems;
}

/**
 * Verifies one archived day, or every day in the source. All days: each day on its own; every
 * calendar day from the first archived day to the last must have a manifest (a day without
 * transactions still has one, with zero rows), so a missing one is a gap, named; and each day
 * start each chain where the previous day present ended it (its prevSeq / prevHash are that
 * day's headSeq / headHash), whatever the gap between them.
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
    if (previous !== undefined) result.problems.push(...discontinuities(previous, result));
    record(result);
    if (result.chains !== undefined) previous = result;
  }
  return {
    ok: problems.length === 0,
    days: results,
    rows: results.reduce((n, r) => n + r.rows, 0),
    problems,
  };
}
