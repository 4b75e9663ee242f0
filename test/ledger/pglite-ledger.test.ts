import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import { openEmbeddedLedger, pgliteSqlClient, SqlLedger } from "../../src/ledger/index.ts";
import { ledgerRecords, ledgerSuite, uniqueMerchant } from "./ledger.suite.ts";

/**
 * In-memory PGlite. Starting one runs initdb in WebAssembly (seconds), so the suite's fresh
 * ledgers start from a dump of one bare, initialised data directory instead: same engine, same
 * SqlLedger, a fraction of the time. openEmbeddedLedger itself is exercised below.
 */
let template: Promise<Blob> | undefined;

async function bareDataDir(): Promise<Blob> {
  const seed = await PGlite.create();
  try {
    return await seed.dumpDataDir("none");
  } finally {
    await seed.close();
  }
}

ledgerSuite("PGlite (embedded)", async () => {
  template ??= bareDataDir();
  const db = await PGlite.create({ loadDataDir: await template });
  const ledger = new SqlLedger(pgliteSqlClient(db));
  return { ledger, dispose: () => ledger.close() };
});

describe("embedded ledger on disk", () => {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-ledger-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("PRC-4 the embedded ledger keeps its rows, migrations and chain in dataDir across a reopen", async () => {
    const dataDir = join(dir, "ledger");
    const merchantId = uniqueMerchant();
    const records = ledgerRecords(merchantId, 3);
    const first = await openEmbeddedLedger({ dataDir });
    try {
      assert.ok((await first.migrate()).length > 0);
      assert.equal((await first.commitBatch(records, [], [])).inserted.length, 3);
    } finally {
      await first.close();
    }
    const again = await openEmbeddedLedger({ dataDir });
    try {
      assert.deepEqual(await again.migrate(), []);
      assert.deepEqual(await again.commitBatch(records, [], []), {
        inserted: [],
        alerts: [],
        quarantined: 0,
      });
      assert.deepEqual(await again.verifyChain().then(({ ok, checked }) => ({ ok, checked })), {
        ok: true,
        checked: 3,
      });
      assert.ok(await again.getTransaction(merchantId, records[2]!.tx.transactionId));
    } finally {
      await again.close();
    }
  });
});
