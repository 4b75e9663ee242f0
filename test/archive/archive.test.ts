import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { archiveDay } from "../../src/archive/archive-day.ts";
import { directorySink } from "../../src/archive/directory-sink.ts";
import { archiveKeys } from "../../src/archive/layout.ts";
import { type ArchiveManifest, manifestSchema } from "../../src/archive/manifest.ts";
import { s3Sink } from "../../src/archive/s3-sink.ts";
import { verifyArchive } from "../../src/archive/verify-archive.ts";
import { ensureMonthPartitions } from "../../src/ledger/commit.ts";
import { GENESIS_HASH, openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { nowOf, requestedDay } from "../../src/runtime/aws-archive.ts";
import { ledgerRecords, uniqueMerchant } from "../ledger/ledger.suite.ts";
import { cleanEnv, runCli } from "../support/cli.ts";
import { TEST_PAN } from "../support/fixtures.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import { commitRecordedAt } from "./backdated-commit.ts";
import { operation, recordingClient, s3Answers } from "./s3-recorder.ts";

const DAY0 = "2026-11-30";
const DAY1 = "2026-12-01";
const DAY2 = "2026-12-02";

/** Exactly the fields a line holds: what the row's hash covers, its chain, and the hash. */
const LINE_KEYS = [
  "amount",
  "chain",
  "currency",
  "customerId",
  "decision",
  "merchantId",
  "occurredAt",
  "prevHash",
  "receivedAt",
  "recordedAt",
  "rowHash",
  "seq",
  "transactionId",
  "tx",
];

function linesOf(dir: string, day: string): Record<string, unknown>[] {
  const data = readFileSync(join(dir, archiveKeys(day).data));
  return gunzipSync(data)
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function manifestOf(dir: string, day: string): ArchiveManifest {
  return manifestSchema.parse(
    JSON.parse(readFileSync(join(dir, archiveKeys(day).manifest), "utf8")),
  );
}

/** AWS-6 / PRC-4: the daily ledger archive against the real PostgreSQL. */
describe("ledger archive (real PostgreSQL)", () => {
  const schema = uniqueName("txw_test");
  let ledger: SqlLedger;
  let root: string;
  let dir: string;
  const ids: Record<string, string[]> = {};
  const hashes = new Map<string, string>();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "txwatch-archive-"));
    dir = join(root, "archive");
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await ledger.migrate();
    await ensureMonthPartitions(ledger.db, ["2026-11-01", "2026-12-01", "2027-01-01"]);
    const merchant = uniqueMerchant();
    const batches: [string, string, number][] = [
      [DAY0, "2026-11-30T18:00:00.000Z", 3],
      [DAY1, "2026-12-01T00:00:00.000Z", 3], // the first instant of the day is in it
      [DAY1, "2026-12-01T12:00:00.000Z", 4],
      [DAY1, "2026-12-01T23:59:59.999Z", 2], // the last one too
      [DAY2, "2026-12-02T00:00:00.000Z", 3], // the next day's first instant is not
      [DAY2, "2026-12-02T08:00:00.000Z", 3],
    ];
    for (const [day, at, n] of batches) {
      const records = ledgerRecords(merchant, n, at);
      await commitRecordedAt(ledger, records, at);
      ids[day] = [...(ids[day] ?? []), ...records.map((r) => r.tx.transactionId)];
    }
    // Today's rows, by the ledger's own commit: they continue the chain and belong to no
    // archived day.
    const today = ledgerRecords(merchant, 2, new Date().toISOString());
    await ledger.commitBatch(today, [], []);
    ids.today = today.map((r) => r.tx.transactionId);
    assert.deepEqual(await ledger.verifyChain().then(({ ok, checked }) => ({ ok, checked })), {
      ok: true,
      checked: 20,
    });
    const { rows } = await ledger.db.query<{ seq: string; row_hash: string }>(
      "SELECT seq::text AS seq, row_hash FROM transactions",
    );
    for (const row of rows) hashes.set(row.seq, row.row_hash);
  });
  after(async () => {
    await ledger?.close();
    await dropSchema(schema);
    rmSync(root, { recursive: true, force: true });
  });

  test("AWS-6 archiveDay writes day 1 as one contiguous run of the chain; the manifest's rows and heads match the ledger", async () => {
    const result = await archiveDay(ledger, DAY1, directorySink(dir), { pageSize: 4 });
    assert.equal(result.skipped, false);
    assert.equal(result.rows, 9);
    const manifest = manifestOf(dir, DAY1);
    assert.equal(manifest.formatVersion, 1);
    assert.equal(manifest.day, DAY1);
    assert.equal(manifest.rows, 9);
    assert.equal(manifest.dataFile, "transactions.ndjson.gz");
    assert.deepEqual(manifest.period, {
      by: "recordedAt",
      from: "2026-12-01T00:00:00.000Z",
      to: "2026-12-02T00:00:00.000Z",
    });
    assert.deepEqual(manifest.chains, [
      {
        chainId: "ledger",
        firstSeq: "4",
        firstHash: hashes.get("4"),
        prevSeq: "3",
        prevHash: hashes.get("3"),
        headSeq: "12",
        headHash: hashes.get("12"),
        count: 9,
      },
    ]);
    const data = readFileSync(join(dir, "ledger-archive/2026/12/01/transactions.ndjson.gz"));
    assert.equal(createHash("sha256").update(data).digest("hex"), manifest.dataSha256);
    assert.equal(data.length, manifest.dataBytes);

    const lines = linesOf(dir, DAY1);
    assert.deepEqual(
      lines.map((l) => l.seq),
      ["4", "5", "6", "7", "8", "9", "10", "11", "12"],
    );
    assert.deepEqual(
      lines.map((l) => l.transactionId),
      ids[DAY1],
    );
    for (const line of lines) {
      assert.deepEqual(Object.keys(line).sort(), LINE_KEYS);
      assert.equal(line.rowHash, hashes.get(line.seq as string));
    }
    // Only the ledger's tokenized card: no number, no test PAN anywhere in the file.
    const text = gunzipSync(data).toString("utf8");
    assert.ok(!text.includes(TEST_PAN));
    assert.ok(!text.includes('"number"'));
    assert.deepEqual(
      Object.keys((lines[0]!.tx as { paymentMethod: { card: object } }).paymentMethod.card).sort(),
      ["bin", "last4", "token"],
    );
  });

  test("AWS-6 rows of day 2 (and of the days around) are not in day 1's archive", () => {
    const archived = new Set(linesOf(dir, DAY1).map((l) => l.transactionId));
    for (const other of [DAY0, DAY2, "today"]) {
      for (const id of ids[other]!)
        assert.ok(!archived.has(id), `${other} row ${id} is not archived`);
    }
  });

  test("AWS-6 verifyArchive passes on the archive, also against the live ledger", async () => {
    const alone = await verifyArchive(directorySink(dir), DAY1);
    assert.deepEqual(alone.problems, []);
    assert.equal(alone.ok, true);
    assert.equal(alone.rows, 9);
    const withLedger = await verifyArchive(directorySink(dir), DAY1, { ledger });
    assert.deepEqual(withLedger.problems, []);
  });

  test("AWS-6 archiving the same day again rewrites nothing", async () => {
    const paths = Object.values(archiveKeys(DAY1)).map((k) => join(dir, k));
    const before = paths.map((p) => ({ mtime: statSync(p).mtimeMs, body: readFileSync(p) }));
    await new Promise((r) => setTimeout(r, 20));
    const again = await archiveDay(ledger, DAY1, directorySink(dir));
    assert.equal(again.skipped, true);
    assert.equal(again.rows, 9);
    paths.forEach((p, i) => {
      assert.equal(statSync(p).mtimeMs, before[i]!.mtime);
      assert.deepEqual(readFileSync(p), before[i]!.body);
    });
  });

  test("AWS-6 consecutive days chain together: day 2 starts at day 1's head; an empty day keeps the head", async () => {
    const sink = directorySink(dir);
    const day0 = await archiveDay(ledger, DAY0, sink);
    assert.equal(day0.manifest.chains[0]!.prevSeq, "0");
    assert.equal(day0.manifest.chains[0]!.headHash, hashes.get("3"));
    const day2 = await archiveDay(ledger, DAY2, sink);
    assert.equal(day2.rows, 6);
    assert.equal(day2.manifest.chains[0]!.prevHash, hashes.get("12"));
    assert.equal(day2.manifest.chains[0]!.headHash, hashes.get("18"));
    // Before any row: genesis, nothing in it.
    const empty = await archiveDay(ledger, "2026-11-29", sink);
    assert.equal(empty.rows, 0);
    assert.deepEqual(empty.manifest.chains[0], {
      chainId: "ledger",
      firstSeq: null,
      firstHash: null,
      prevSeq: "0",
      prevHash: GENESIS_HASH,
      headSeq: "0",
      headHash: GENESIS_HASH,
      count: 0,
    });
    const all = await verifyArchive(sink, undefined, { ledger });
    assert.deepEqual(all.problems, []);
    assert.deepEqual(
      all.days.map((d) => [d.day, d.rows]),
      [
        ["2026-11-29", 0],
        [DAY0, 3],
        [DAY1, 9],
        [DAY2, 6],
      ],
    );
  });

  test("AWS-6 verifyArchive of all days names a deleted day (data and manifest gone) and the break in the chain it leaves", async () => {
    const copy = join(root, "deleted-day");
    cpSync(dir, copy, { recursive: true });
    rmSync(join(copy, "ledger-archive/2026/12/01"), { recursive: true });
    const result = await verifyArchive(directorySink(copy));
    assert.equal(result.ok, false);
    assert.deepEqual(result.problems, [
      `${DAY1}: manifest ledger-archive/2026/12/01/manifest.json is missing: the day is a gap between 2026-11-29 and ${DAY2}`,
      `${DAY2}: does not continue ${DAY0}: it starts after seq 12, ${DAY0} ends at seq 3 (prevHash is not that day's headHash)`,
    ]);
    assert.deepEqual(
      result.days.map((d) => d.day),
      ["2026-11-29", DAY0, DAY1, DAY2],
    );

    // Two days in a row gone: both named, the chain checked across the gap.
    rmSync(join(copy, "ledger-archive/2026/11/30"), { recursive: true });
    const two = await verifyArchive(directorySink(copy));
    assert.deepEqual(two.problems, [
      `${DAY0}: manifest ledger-archive/2026/11/30/manifest.json is missing: the day is a gap between 2026-11-29 and ${DAY2}`,
      `${DAY1}: manifest ledger-archive/2026/12/01/manifest.json is missing: the day is a gap between 2026-11-29 and ${DAY2}`,
      `${DAY2}: does not continue 2026-11-29: it starts after seq 12, 2026-11-29 ends at seq 0 (prevHash is not that day's headHash)`,
    ]);
  });

  test("AWS-6 archiveDay through the S3 sink streams the data file (one PutObject below a part) and puts the manifest last, describing the bytes sent", async () => {
    const { client, requests } = recordingClient(s3Answers);
    const result = await archiveDay(ledger, DAY1, s3Sink({ bucket: "archive-bucket", client }), {
      pageSize: 4,
    });
    assert.equal(result.rows, 9);
    assert.deepEqual(
      requests.map((r) => `${operation(r)} ${r.path}`),
      [
        "GetObject /ledger-archive/2026/12/01/manifest.json",
        "PutObject /ledger-archive/2026/12/01/transactions.ndjson.gz",
        "PutObject /ledger-archive/2026/12/01/manifest.json",
      ],
    );
    const data = requests[1]!.body;
    const manifest = manifestSchema.parse(JSON.parse(requests[2]!.body.toString("utf8")));
    assert.equal(manifest.dataBytes, data.length);
    assert.equal(manifest.dataSha256, createHash("sha256").update(data).digest("hex"));
    // The same file as the directory sink wrote: same rows, same compression.
    assert.deepEqual(data, readFileSync(join(dir, archiveKeys(DAY1).data)));
  });

  test("AWS-6 a day that is not over is not archived, and leaves nothing; the handler takes a valid event.day and the event's time as now", async () => {
    const early = join(root, "early");
    const today = new Date().toISOString().slice(0, 10);
    await assert.rejects(archiveDay(ledger, today, directorySink(early)), /not over/);
    assert.equal(existsSync(early), false);
    assert.equal(requestedDay({}), undefined);
    assert.equal(requestedDay({ day: "2026-02-28" }), "2026-02-28");
    for (const bad of ["2026-02-30", "2026-12-1", "yesterday", 20261201]) {
      assert.throws(() => requestedDay({ day: bad }), /YYYY-MM-DD/);
    }
    assert.equal(nowOf({ time: "2026-12-07T00:30:00Z" }), Date.parse("2026-12-07T00:30:00Z"));
    assert.equal(nowOf({}, 42), 42);
    assert.throws(() => nowOf({ time: "at half past midnight" }), /ISO 8601/);
  });

  test("AWS-6 verifyArchive detects one byte of an amount changed in the data and names the row", async () => {
    const copy = join(root, "tampered-amount");
    cpSync(dir, copy, { recursive: true });
    const path = join(copy, archiveKeys(DAY1).data);
    const lines = gunzipSync(readFileSync(path)).toString("utf8").split("\n");
    // Line 5 (seq 8): its amount "12800" becomes "12801", one byte.
    const changed = lines[4]!.replace('"amount":"12800"', '"amount":"12801"');
    assert.notEqual(changed, lines[4]);
    lines[4] = changed;
    writeFileSync(path, gzipSync(lines.join("\n")));
    const result = await verifyArchive(directorySink(copy), DAY1);
    assert.equal(result.ok, false);
    assert.ok(
      result.problems.some((p) => /sha256 does not match/.test(p)),
      result.problems.join("\n"),
    );
    assert.ok(
      result.problems.includes(
        `${DAY1}: line 5 (seq 8): row hash does not match its content (row altered)`,
      ),
      result.problems.join("\n"),
    );

    // A careful tamperer also fixes the manifest's file hash: the row hash still catches it.
    const manifestPath = join(copy, archiveKeys(DAY1).manifest);
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as ArchiveManifest;
    const data = readFileSync(path);
    manifest.dataSha256 = createHash("sha256").update(data).digest("hex");
    manifest.dataBytes = data.length;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const again = await verifyArchive(directorySink(copy), DAY1);
    assert.deepEqual(again.problems, [
      `${DAY1}: line 5 (seq 8): row hash does not match its content (row altered)`,
    ]);
  });

  test("AWS-6 verifyArchive detects a changed manifest count and a removed last row", async () => {
    const copy = join(root, "tampered-count");
    cpSync(dir, copy, { recursive: true });
    const manifestPath = join(copy, archiveKeys(DAY1).manifest);
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as ArchiveManifest;
    manifest.rows = 8;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const result = await verifyArchive(directorySink(copy), DAY1);
    assert.deepEqual(result.problems, [
      `${DAY1}: row count: the data file holds 9 rows, the manifest says 8`,
    ]);

    // The last row dropped and the file hash and counts made to fit: the head gives it away.
    const path = join(copy, archiveKeys(DAY1).data);
    const lines = gunzipSync(readFileSync(path)).toString("utf8").split("\n").filter(Boolean);
    const data = gzipSync(`${lines.slice(0, -1).join("\n")}\n`);
    writeFileSync(path, data);
    manifest.dataSha256 = createHash("sha256").update(data).digest("hex");
    manifest.dataBytes = data.length;
    manifest.chains[0]!.count = 8;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const cut = await verifyArchive(directorySink(copy), DAY1);
    assert.ok(
      cut.problems.some((p) => /headHash/.test(p)),
      cut.problems.join("\n"),
    );
  });

  test("AWS-6 txwatch archive and verify-ledger --archive: exit 0 with a summary, 1 listing the problems", async () => {
    const env = cleanEnv({ DATABASE_URL, TXWATCH_DB_SCHEMA: schema });
    const out = join(root, "cli");
    const made = await runCli(["archive", "--day", DAY1, "--to", out], env);
    assert.equal(made.code, 0, made.stdout + made.stderr);
    assert.match(made.stdout, /2026-12-01 archived to .*: 9 rows, seq 4\.\.12/);
    const again = await runCli(["archive", "--day", DAY1, "--to", out], env);
    assert.match(again.stdout, /already archived .*nothing written/);

    const ok = await runCli(["verify-ledger", "--archive", out, "--day", DAY1], env);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout.trim(), "archive verified: 2026-12-01, 9 rows, hash chain intact");
    const all = await runCli(["verify-ledger", "--archive", dir, "--against-ledger"], env);
    assert.equal(all.code, 0, all.stdout + all.stderr);
    assert.match(all.stdout, /^archive verified: 4 days \(2026-11-29 \.\. 2026-12-02\), 18 rows/);

    const bad = await runCli(["verify-ledger", "--archive", join(root, "tampered-amount")], env);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /archive INVALID/);
    assert.match(bad.stdout, /2026-12-01: line 5 \(seq 8\): row hash does not match/);
    const missing = await runCli(["verify-ledger", "--archive", out, "--day", DAY2], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /manifest .*2026\/12\/02\/manifest\.json is missing/);
  });
});
