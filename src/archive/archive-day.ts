import { createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { rowHash } from "../ledger/hash-chain.ts";
import type { SqlClient } from "../ledger/sql-client.ts";
import { ArchiveRowError, headBefore, rowsRecordedIn } from "./day-rows.ts";
import { archiveKeys, DATA_FILE, dayBounds, parseDay } from "./layout.ts";
import {
  ARCHIVE_FORMAT_VERSION,
  type ArchivedRow,
  type ArchiveManifest,
  LEDGER_CHAIN_ID,
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

/**
 * Exports every ledger row recorded during one UTC day (with its decision: every ledger row
 * is a decided transaction) to `sink` as gzip-compressed NDJSON plus a manifest (AWS-6).
 *
 * The period is by recorded_at, which the ledger takes under the chain lock, so a day's rows
 * are one contiguous run of the hash chain: the manifest records the head before it (what the
 * first row links to) and the head after it. Rows are read a page at a time, compressed and
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

  const before = await headBefore(ledger.db, start);
  let count = 0;
  let first: ArchivedRow | undefined;
  let headSeq = BigInt(before.seq);
  let headHash = before.hash;
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
    for await (const row of rowsRecordedIn(
      ledger.db,
      { from: start, to: end, afterSeq: before.seq },
      pageSize,
    )) {
      const { rowHash: stored, ...chain } = row;
      if (BigInt(row.seq) !== headSeq + 1n) {
        throw new ArchiveRowError(
          `${day}: expected seq ${headSeq + 1n}, found ${row.seq}: the day is not a contiguous run of the chain (run verify-ledger)`,
        );
      }
      if (row.prevHash !== headHash || rowHash(chain) !== stored) {
        throw new ArchiveRowError(
          `${day}: ledger row ${row.seq} does not match the hash chain (run verify-ledger)`,
        );
      }
      first ??= row;
      count++;
      headSeq = BigInt(row.seq);
      headHash = stored;
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
    chains: [
      {
        chainId: LEDGER_CHAIN_ID,
        firstSeq: first?.seq ?? null,
        firstHash: first?.rowHash ?? null,
        prevSeq: before.seq,
        prevHash: before.hash,
        headSeq: headSeq.toString(),
        headHash,
        count,
      },
    ],
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
