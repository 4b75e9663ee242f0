import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { archiveDay } from "../../src/archive/archive-day.ts";
import {
  ArchiveRunError,
  archivePendingDays,
  MAX_DAYS_PER_RUN,
  pendingDays,
} from "../../src/archive/archive-pending.ts";
import { directorySink } from "../../src/archive/directory-sink.ts";
import { archiveKeys } from "../../src/archive/layout.ts";
import type { ArchiveSink } from "../../src/archive/sink.ts";
import { verifyArchive } from "../../src/archive/verify-archive.ts";
import { ensureMonthPartitions } from "../../src/ledger/commit.ts";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import type { SqlClient } from "../../src/ledger/sql-client.ts";
import { runArchiveJob } from "../../src/runtime/aws-archive.ts";
import { ledgerRecords, uniqueMerchant } from "../ledger/ledger.suite.ts";
import { cleanEnv } from "../support/cli.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import { commitRecordedAt } from "./backdated-commit.ts";

const D1 = "2026-11-02"; // 3 rows: the ledger's first day
const D2 = "2026-11-03"; // no rows
const D3 = "2026-11-04"; // BIG rows
const BIG = 1200;

/** A scheduled event as EventBridge sends it: `time` is when the schedule fired. */
function scheduled(time: string) {
  return {
    version: "0",
    id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    source: "aws.events",
    time,
    region: "eu-west-1",
    resources: ["arn:aws:events:eu-west-1:123456789012:rule/ledger-archive-schedule"],
    detail: {},
  };
}

/** The ledger's client, counting the pages read and able to alter one page's rows. */
function watchedDb(
  db: SqlClient,
  alter?: (page: number, rows: { row_hash: string }[]) => void,
): { client: { db: SqlClient }; pages: () => number } {
  let pages = 0;
  const client: SqlClient = {
    ...db,
    async query<T>(text: string, params?: Parameters<SqlClient["query"]>[1]) {
      const result = await db.query<T>(text, params);
      if (text.includes("t.recorded_at >= $1")) {
        pages++;
        alter?.(pages, result.rows as { row_hash: string }[]);
      }
      return result;
    },
  };
  return { client: { db: client }, pages: () => pages };
}

/** AWS-6: the archive job (catch-up, event time, ledger only) and the streamed export. */
describe("ledger archive job (real PostgreSQL)", () => {
  const schema = uniqueName("txw_test");
  const emptySchema = uniqueName("txw_test");
  let ledger: SqlLedger;
  let root: string;
  /** Stands in for Redis: counts the connections it receives. */
  let redis: Server;
  let redisConnections = 0;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "txwatch-archive-job-"));
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await ledger.migrate();
    await ensureMonthPartitions(ledger.db, ["2026-11-01", "2026-12-01"]);
    const merchant = uniqueMerchant();
    await commitRecordedAt(
      ledger,
      ledgerRecords(merchant, 3, "2026-11-02T10:00:00.000Z"),
      "2026-11-02T10:00:00.000Z",
    );
    await commitRecordedAt(
      ledger,
      ledgerRecords(merchant, BIG, "2026-11-04T09:00:00.000Z"),
      "2026-11-04T09:00:00.000Z",
    );
    redis = createServer((socket) => {
      redisConnections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => redis.listen(0, "127.0.0.1", resolve));
    const port = (redis.address() as { port: number }).port;
    env = cleanEnv({
      DATABASE_URL,
      TXWATCH_DB_SCHEMA: schema,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      LOG_LEVEL: "silent",
    });
  });
  after(async () => {
    await ledger?.close();
    await new Promise((resolve) => redis?.close(resolve));
    await dropSchema(schema);
    await dropSchema(emptySchema);
    rmSync(root, { recursive: true, force: true });
  });

  test("AWS-6 with no archive yet, the scheduled run archives every day from the ledger's first one up to the day before the event's time, oldest first, empty days included", async () => {
    const sink = directorySink(join(root, "catch-up"));
    // Fired at 2026-11-06 00:30 (and retried, say, a week later: the clock says December).
    const result = await runArchiveJob(scheduled("2026-11-06T00:30:00Z"), { env, sink });
    assert.deepEqual(result, {
      days: [
        { day: D1, rows: 3, skipped: false },
        { day: D2, rows: 0, skipped: false },
        { day: D3, rows: BIG, skipped: false },
        { day: "2026-11-05", rows: 0, skipped: false },
      ],
    });
    const verified = await verifyArchive(sink, undefined, { ledger });
    assert.deepEqual(verified.problems, []);
    // The next day's run archives only the day after the newest manifest.
    const next = await runArchiveJob(scheduled("2026-11-07T00:30:00Z"), { env, sink });
    assert.deepEqual(next, { days: [{ day: "2026-11-06", rows: 0, skipped: false }] });
    // Its retry finds nothing left; a run before the day has settled does not try it.
    assert.deepEqual(await runArchiveJob(scheduled("2026-11-07T00:30:00Z"), { env, sink }), {
      days: [],
    });
    assert.deepEqual(await runArchiveJob(scheduled("2026-11-08T00:02:00Z"), { env, sink }), {
      days: [],
    });

    // An empty day deleted: the chain still continues across it, the gap is still named.
    const copy = join(root, "catch-up-gap");
    cpSync(join(root, "catch-up"), copy, { recursive: true });
    rmSync(join(copy, "ledger-archive/2026/11/03"), { recursive: true });
    assert.deepEqual((await verifyArchive(directorySink(copy))).problems, [
      `${D2}: manifest ledger-archive/2026/11/03/manifest.json is missing: the day is a gap between ${D1} and 2026-11-06`,
    ]);
  });

  test("AWS-6 the archive job opens only the ledger: no connection to Redis, with or without event.day", async () => {
    const sink = directorySink(join(root, "no-redis"));
    const one = await runArchiveJob({ day: D1 }, { env, sink });
    assert.deepEqual(one, { days: [{ day: D1, rows: 3, skipped: false }] });
    await runArchiveJob(scheduled("2026-11-03T00:30:00Z"), { env, sink });
    assert.equal(redisConnections, 0);
  });

  test("AWS-6 a run stops at the first day that fails (the invocation fails) and the next run resumes from that day: no day is skipped", async () => {
    const dir = join(root, "failing");
    const real = directorySink(dir);
    let failing = true;
    const sink: ArchiveSink = {
      ...real,
      async putStream(key: string, body: Readable, contentType: string) {
        if (failing && key === archiveKeys(D2).data) {
          body.destroy();
          throw new Error("S3 is unavailable");
        }
        return real.putStream(key, body, contentType);
      },
    };
    const failed = await runArchiveJob(scheduled("2026-11-06T00:30:00Z"), { env, sink }).then(
      () => assert.fail("the run should fail"),
      (error: unknown) => error,
    );
    assert.ok(failed instanceof ArchiveRunError);
    assert.equal(failed.day, D2);
    assert.deepEqual(failed.done, [{ day: D1, rows: 3, skipped: false }]);
    assert.match(failed.message, /archiving 2026-11-03 failed after 1 day\(s\).*S3 is unavailable/);
    assert.deepEqual(readdirSync(join(dir, "ledger-archive/2026/11")), ["02"]);

    failing = false;
    const retried = await runArchiveJob(scheduled("2026-11-06T00:30:00Z"), { env, sink });
    assert.deepEqual(
      retried.days.map((d) => d.day),
      [D2, D3, "2026-11-05"],
    );
    assert.deepEqual((await verifyArchive(real)).problems, []);
  });

  test(`AWS-6 a run archives at most ${MAX_DAYS_PER_RUN} days; the next continues where it stopped`, async () => {
    const sink = directorySink(join(root, "bounded"));
    await archiveDay(ledger, D1, sink);
    const now = Date.parse("2026-12-20T00:30:00Z");
    const pending = await pendingDays(ledger, sink, now);
    assert.equal(pending.days.length, 31);
    assert.equal(pending.more, true);
    assert.equal(pending.days[0], D2);
    assert.equal(pending.days.at(-1), "2026-12-03");
    const first = await archivePendingDays(ledger, sink, { now: () => now, maxDays: 2 });
    assert.deepEqual(first, {
      days: [
        { day: D2, rows: 0, skipped: false },
        { day: D3, rows: BIG, skipped: false },
      ],
      more: true,
    });
    const second = await archivePendingDays(ledger, sink, { now: () => now, maxDays: 2 });
    assert.deepEqual(
      second.days.map((d) => d.day),
      ["2026-11-05", "2026-11-06"],
    );
  });

  test("AWS-6 with an empty ledger and no archive, a run archives only the day before the event's time", async () => {
    const empty = await openPostgresLedger({ connectionString: DATABASE_URL, schema: emptySchema });
    try {
      await empty.migrate();
      const sink = directorySink(join(root, "empty"));
      const result = await runArchiveJob(scheduled("2026-11-10T00:30:00Z"), {
        env: { ...env, TXWATCH_DB_SCHEMA: emptySchema },
        sink,
      });
      assert.deepEqual(result, { days: [{ day: "2026-11-09", rows: 0, skipped: false }] });
    } finally {
      await empty.close();
    }
  });

  test("AWS-6 archiveDay streams the data file: the sink receives compressed bytes before the day's last page is read, and the manifest describes the bytes streamed", async () => {
    const dir = join(root, "streamed");
    const real = directorySink(dir);
    const { client, pages } = watchedDb(ledger.db);
    let pagesAtFirstChunk: number | undefined;
    const streamed: Buffer[] = [];
    const sink: ArchiveSink = {
      ...real,
      async putStream(key, body, contentType) {
        body.on("data", (chunk: Buffer) => {
          pagesAtFirstChunk ??= pages();
          streamed.push(chunk);
        });
        body.pause();
        return real.putStream(key, body, contentType);
      },
    };
    const result = await archiveDay(client, D3, sink, { pageSize: 50 });
    assert.equal(result.rows, BIG);
    const totalPages = pages();
    assert.ok(totalPages >= BIG / 50, String(totalPages));
    assert.ok(
      pagesAtFirstChunk !== undefined && pagesAtFirstChunk < totalPages / 2,
      `first chunk after ${pagesAtFirstChunk} of ${totalPages} pages`,
    );
    const file = readFileSync(join(dir, archiveKeys(D3).data));
    assert.deepEqual(Buffer.concat(streamed), file);
    assert.equal(result.manifest.dataBytes, file.length);
    assert.equal(result.manifest.dataSha256, createHash("sha256").update(file).digest("hex"));
    assert.deepEqual((await verifyArchive(real, D3, { ledger })).problems, []);
  });

  test("AWS-6 a chain break found after the first page fails the day and leaves nothing under the day's folder (no data file, no manifest, no temp file)", async () => {
    const dir = join(root, "broken");
    const { client } = watchedDb(ledger.db, (page, rows) => {
      if (page === 3 && rows[0] !== undefined) rows[0].row_hash = "0".repeat(64);
    });
    await assert.rejects(
      archiveDay(client, D3, directorySink(dir), { pageSize: 50 }),
      /does not match the hash chain/,
    );
    const folder = join(dir, "ledger-archive/2026/11/04");
    assert.deepEqual(existsSync(folder) ? readdirSync(folder) : [], []);
  });
});
