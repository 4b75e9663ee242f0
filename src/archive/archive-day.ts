import { createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { rowHash } from "../ledger/hash-chain.ts";
import type { SqlClient } from "../ledger/sql-client.ts";
import { ArchiveRowError, headsBefore, rowsRecordedIn } from "./day-rows.ts";
import { archiveKeys, DATA_FILE, dayBounds, parseDay } from "./layout.ts";
import {
  ARCHIVE_FORMAT_VERSION,
  type ArchivedRow,
  type ArchiveManifest,
  archiveChainId,
  manifestSchema,
} from "./manifest.ts";
import type { ArchiveSink } from "./sink.ts";

/**
 * A day is archived only once it is over and its last commits have landed: recorded_at is
 * taken when a commit starts, so a row of 23:59:59.999 becomes visible a moment later.
 */
export const SETTLE_MS = 5 * 60_000;

export interface ArchiveDayOptions {
  now?: () => number;
  pageSize?: number;
}

export interface ArchiveDayResult {
  day: string;
  rows: number;
  /** True when the day's manifest already existed: nothing was written. */
  skipped: boolean;
  manifest: ArchiveManifest;
}

/** Passes the compressed bytes through unchanged, hashing and counting them on the way. */
function byteMeter() {
  const sha = createHash("sha256");
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sha.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ bytes, sha256: sha.digest("hex") }) };
}

/** One chain's run through the day, as the rows stream past. */
interface ChainRun {
  chain: number;
  prevSeq: string;
  prevHash: string;
  headSeq: string;
  headHash: string;
  first?: ArchivedRow;
  count: number;
}

/**
 * Exports every ledger row recorded during one UTC day (with its decision: every ledger row
 * is a decided transaction) to `sink` as gzip-compressed NDJSON plus a manifest (AWS-6).
 *
 * The period is by recorded_at, which the ledger takes under the chain's lock, so a day's rows
 * of each hash chain are one contiguous run of it: the manifest records, per chain, the head
 * before the day (what its first row links to) and the head after it. Rows are read a page at a time, compressed and
 * streamed to the sink as they come (hashed and counted on the way): neither the rows nor the
 * compressed file are ever held whole. Each row's hash and link are checked on the way: a broken
 * chain fails the stream, and the sink keeps nothing of it.
 *
 * Idempotent: when the day's manifest exists nothing is read or written. The data file is
 * written first and the manifest last, so a manifest always describes a complete file.
 */
export async function archiveDay(
  ledger: { db: SqlClient },
  dayText: string,
  sink: ArchiveSink,
  { now = Date.now, pageSize = 1000 }: ArchiveDayOptions = {},
): Promise<ArchiveDayResult> {
  const day = parseDay(dayText);
  const keys = archiveKeys(day);
  const existing = await sink.get(keys.manifest);
  if (existing !== null) {
    const manifest = manifestSchema.parse(JSON.parse(existing.toString("utf8")));
    return { day, rows: manifest.rows, skipped: true, manifest };
  }
  const { start, end } = dayBounds(day);
  if (now() < Date.parse(end) + SETTLE_MS) {
    throw new Error(`${day} is not over yet (or ended less than ${SETTLE_MS / 60_000} min ago)`);
  }

  const before = await headsBefore(ledger.db, start);
  const runs = new Map<number, ChainRun>(
    [...before].map(([chain, head]) => [
      chain,
      {
        chain,
        prevSeq: head.seq,
        prevHash: head.hash,
        headSeq: head.seq,
        headHash: head.hash,
        count: 0,
      },
    ]),
  );
  let count = 0;
  let exportError: { error: unknown } | undefined;
  async function* lines(): AsyncGenerator<string> {
    try {
      yield* checkedLines();
    } catch (error) {
      exportError = { error };
      throw error;
    }
  }
  async function* checkedLines(): AsyncGenerator<string> {
    // No chain has a row of the day at or below its head before the day.
    const afterSeq = [...runs.values()].reduce(
      (low, run) => (BigInt(run.prevSeq) < low ? BigInt(run.prevSeq) : low),
      BigInt(Number.MAX_SAFE_INTEGER),
    );
    for await (const row of rowsRecordedIn(
      ledger.db,
      { from: start, to: end, afterSeq: afterSeq.toString() },
      pageSize,
    )) {
      const { rowHash: stored, chain, ...content } = row;
      const run = runs.get(chain);
      if (run === undefined) {
        throw new ArchiveRowError(
          `${day}: ledger row ${row.seq} is on chain ${chain}, which no commit registered (run verify-ledger)`,
        );
      }
      if (BigInt(row.seq) <= BigInt(run.headSeq)) {
        throw new ArchiveRowError(
          `${day}: ledger row ${row.seq} of chain ${chain} comes after seq ${run.headSeq}: the day is not a contiguous run of the chain (run verify-ledger)`,
        );
      }
      if (row.prevHash !== run.headHash || rowHash(content) !== stored) {
        throw new ArchiveRowError(
          `${day}: ledger row ${row.seq} does not match the hash chain (run verify-ledger)`,
        );
      }
      run.first ??= row;
      run.count++;
      run.headSeq = row.seq;
      run.headHash = stored;
      count++;
      yield `${JSON.stringify(row)}\n`;
    }
  }
  const meter = byteMeter();
  // The sink reads meter.stream while the pipeline fills it: back-pressure reaches the reads of
  // the ledger, so memory stays at a page of rows plus the sink's own bounded buffer.
  const upload = sink.putStream(keys.data, meter.stream, "application/gzip").catch((error) => {
    meter.stream.destroy(error as Error);
    throw error;
  });
  const [exported, uploaded] = await Promise.allSettled([
    pipeline(Readable.from(lines()), createGzip(), meter.stream),
    upload,
  ]);
  // A failure of the export itself (a row, the ledger) is the cause; else the sink's (the
  // pipeline then only reports its stream closed).
  if (exportError !== undefined) throw exportError.error;
  if (uploaded.status === "rejected") throw uploaded.reason;
  if (exported.status === "rejected") throw exported.reason;
  const data = meter.result();

  const manifest: ArchiveManifest = {
    formatVersion: ARCHIVE_FORMAT_VERSION,
    day,
    period: { by: "recordedAt", from: start, to: end },
    rows: count,
    chains: [...runs.values()].map((run) => ({
      chainId: archiveChainId(run.chain),
      firstSeq: run.first?.seq ?? null,
      firstHash: run.first?.rowHash ?? null,
      prevSeq: run.prevSeq,
      prevHash: run.prevHash,
      headSeq: run.headSeq,
      headHash: run.headHash,
      count: run.count,
    })),
    dataFile: DATA_FILE,
    dataSha256: data.sha256,
    dataBytes: data.bytes,
    createdAt: new Date(now()).toISOString(),
  };
  await sink.put(
    keys.manifest,
    Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`),
    "application/json",
  );
  return { day, rows: count, skipped: false, manifest };
}
