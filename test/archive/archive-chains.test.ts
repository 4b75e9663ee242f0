import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { archiveDay } from "../../src/archive/archive-day.ts";
import { directorySink } from "../../src/archive/directory-sink.ts";
import { archiveKeys } from "../../src/archive/layout.ts";
import type { ArchiveManifest } from "../../src/archive/manifest.ts";
import { verifyArchive } from "../../src/archive/verify-archive.ts";
import { ensureMonthPartitions } from "../../src/ledger/commit.ts";
import { GENESIS_HASH, openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { ledgerRecords, uniqueMerchant } from "../ledger/ledger.suite.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import { commitRecordedAt } from "./backdated-commit.ts";

const DAY1 = "2026-12-01";
const DAY2 = "2026-12-02";

/** AWS-6 with SCL-3: a day's archive holds one run of every chain. */
describe("ledger archive of several chains (real PostgreSQL)", () => {
  const schema = uniqueName("txw_test");
  let ledger: SqlLedger;
  let root: string;
  let dir: string;
  /** The rows committed, as [chain, seq, hash], in commit order. */
  const committed: [number, string, string][] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "txwatch-archive-chains-"));
    dir = join(root, "archive");
    ledger = await openPostgresLedger({ connectionString: DATABASE_URL, schema });
    await ledger.migrate();
    await ensureMonthPartitions(ledger.db, ["2026-12-01", "2027-01-01"]);
    const merchant = uniqueMerchant();
    // Chains 0 and 3 interleaved over two days; chain 5 starts on day 2.
    const batches: [number, string][] = [
      [0, "2026-12-01T01:00:00.000Z"],
      [3, "2026-12-01T02:00:00.000Z"],
      [0, "2026-12-01T03:00:00.000Z"],
      [3, "2026-12-01T23:00:00.000Z"],
      [3, "2026-12-02T01:00:00.000Z"],
      [5, "2026-12-02T02:00:00.000Z"],
      [0, "2026-12-02T03:00:00.000Z"],
    ];
    for (const [chain, at] of batches) {
      const rows = await commitRecordedAt(ledger, ledgerRecords(merchant, 2, at), at, chain);
      for (const row of rows) {
        committed.push([chain, row.seq, row.rowHash]);
      }
    }
    assert.equal((await ledger.verifyChain()).ok, true);
  });
  after(async () => {
    await ledger?.close();
    await dropSchema(schema);
    rmSync(root, { recursive: true, force: true });
  });

  const runOf = (chain: number, from: number, to: number) =>
    committed.filter(([c], i) => c === chain && i >= from && i < to);

  test("SCL-3 AWS-6 a day's manifest holds a run per chain: the head before the day, the rows, the head after", async () => {
    const sink = directorySink(dir);
    const day1 = await archiveDay(ledger, DAY1, sink);
    assert.equal(day1.rows, 8);
    const zero = runOf(0, 0, 8);
    const three = runOf(3, 0, 8);
    assert.deepEqual(day1.manifest.chains, [
      {
        chainId: "ledger",
        firstSeq: zero[0]![1],
        firstHash: zero[0]![2],
        prevSeq: "0",
        prevHash: GENESIS_HASH,
        headSeq: zero.at(-1)![1],
        headHash: zero.at(-1)![2],
        count: 4,
      },
      {
        chainId: "ledger.3",
        firstSeq: three[0]![1],
        firstHash: three[0]![2],
        prevSeq: "0",
        prevHash: GENESIS_HASH,
        headSeq: three.at(-1)![1],
        headHash: three.at(-1)![2],
        count: 4,
      },
      {
        chainId: "ledger.5",
        firstSeq: null,
        firstHash: null,
        prevSeq: "0",
        prevHash: GENESIS_HASH,
        headSeq: "0",
        headHash: GENESIS_HASH,
        count: 0,
      },
    ]);
    const day2 = await archiveDay(ledger, DAY2, sink);
    assert.equal(day2.rows, 6);
    assert.deepEqual(
      day2.manifest.chains.map((c) => [c.chainId, c.prevHash, c.count]),
      [
        ["ledger", zero.at(-1)![2], 2],
        ["ledger.3", three.at(-1)![2], 2],
        ["ledger.5", GENESIS_HASH, 2],
      ],
    );
    const lines = gunzipSync(readFileSync(join(dir, archiveKeys(DAY2).data)))
      .toString("utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { chain: number; seq: string });
    assert.deepEqual(
      lines.map((l) => [l.chain, l.seq]),
      committed.slice(8).map(([chain, seq]) => [chain, seq]),
    );
    const verified = await verifyArchive(sink, undefined, { ledger });
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.rows, 14);
  });

  test("SCL-3 AWS-6 verifyArchive names the chain a row was cut from, and a day that does not continue a chain", async () => {
    const copy = join(root, "cut");
    cpSync(dir, copy, { recursive: true });
    // Day 1's last row of chain 3 dropped, the file hash and counts made to fit.
    const path = join(copy, archiveKeys(DAY1).data);
    const lines = gunzipSync(readFileSync(path)).toString("utf8").split("\n").filter(Boolean);
    const last = lines.findLastIndex((l) => (JSON.parse(l) as { chain: number }).chain === 3);
    const data = gzipSync(`${lines.filter((_, i) => i !== last).join("\n")}\n`);
    writeFileSync(path, data);
    const manifestPath = join(copy, archiveKeys(DAY1).manifest);
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as ArchiveManifest;
    manifest.dataSha256 = createHash("sha256").update(data).digest("hex");
    manifest.dataBytes = data.length;
    manifest.rows = 7;
    manifest.chains[1]!.count = 3;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const cut = await verifyArchive(directorySink(copy), DAY1);
    assert.deepEqual(cut.problems, [
      `${DAY1}: head: the last row of chain ledger.3's hash is not the manifest's headHash (rows missing at the end)`,
      `${DAY1}: head: the last row of chain ledger.3 is seq ${runOf(3, 0, 8)[2]![1]}, the manifest says ${runOf(3, 0, 8)[3]![1]}`,
    ]);

    // The manifest's head moved back too: now day 2 no longer continues chain 3.
    manifest.chains[1]!.headSeq = runOf(3, 0, 8)[2]![1];
    manifest.chains[1]!.headHash = runOf(3, 0, 8)[2]![2];
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const both = await verifyArchive(directorySink(copy));
    assert.deepEqual(both.problems, [
      `${DAY2}: does not continue ${DAY1} on chain ledger.3: it starts after seq ${runOf(3, 0, 8)[3]![1]}, ${DAY1} ends at seq ${runOf(3, 0, 8)[2]![1]} (prevHash is not that day's headHash)`,
    ]);
  });
});
