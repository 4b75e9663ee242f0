import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { AlertHub } from "../../src/alerts/hub.ts";
import { buildApp } from "../../src/api/app.ts";
import { createApiKey } from "../../src/api/auth.ts";
import { MemoryClaimStore } from "../../src/claims/index.ts";
import { MemoryHistoryStore } from "../../src/history/index.ts";
import { openPostgresLedger, type SqlLedger } from "../../src/ledger/index.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { LocalLogStream } from "../../src/stream/index.ts";
import { ledgerRecords } from "../ledger/ledger.suite.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../support/services.ts";
import { PgProxy } from "./pg-proxy.ts";

const PASSWORD = "s3cret-export-pw";
const PERIOD = "from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z";

/**
 * QRY-1 / OPS-1: a real PostgreSQL outage (the ledger's TCP connections cut by a proxy) during
 * the regulatory export: before the first byte it is the catalogue's 503, after it the
 * connection is cut so a client cannot take a truncated export for a complete one.
 */
describe("export during a ledger outage (real PostgreSQL behind a proxy)", () => {
  const schema = uniqueName("txw_test");
  const proxy = new PgProxy({
    host: "127.0.0.1",
    port: Number(new URL(DATABASE_URL).port || 5432),
  });
  const logs: string[] = [];
  let ledger: SqlLedger;
  let app: FastifyInstance;
  let stream: LocalLogStream;
  let key: string;
  let base: string;

  before(async () => {
    const port = await proxy.listen();
    const url = new URL(DATABASE_URL);
    url.host = `127.0.0.1:${port}`;
    // Trust authentication ignores the password; it is here to prove it is never logged.
    url.password = PASSWORD;
    ledger = await openPostgresLedger({ connectionString: url.toString(), schema });
    await ledger.migrate();
    // More than one page (500 rows) of the ledger's keyset-paginated export.
    await ledger.commitBatch(ledgerRecords("japancart", 600, "2026-03-10T00:00:00.000Z"), [], []);
    key = await createApiKey(ledger, "japancart");
    stream = new LocalLogStream({ partitions: 1 });
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs.push(String(chunk));
        done();
      },
    });
    app = await buildApp({
      ledger,
      history: new MemoryHistoryStore(),
      claims: new MemoryClaimStore(),
      stream,
      tokenKey: Buffer.alloc(32, 1),
      hub: new AlertHub(),
      metrics: createMetrics(),
      log: createLogger("debug", sink),
      rateLimitPerMinute: 10_000,
      bodyLimitBytes: 1024 * 1024,
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
    await stream.close();
    await ledger.close();
    await proxy.close();
    await dropSchema(schema);
  });

  const exportNow = () =>
    fetch(`${base}/v1/exports/transactions?${PERIOD}`, {
      headers: { authorization: `Bearer ${key}` },
    });

  test("QRY-1 the export is complete while the ledger is up", async () => {
    const res = await exportNow();
    assert.equal(res.status, 200);
    assert.equal((await res.text()).trim().split("\n").length, 600);
  });

  test("OPS-1 a ledger outage before the first byte is a 503 TXW_ERR_UNAVAILABLE", async () => {
    // The key is cached by now; the outage hits the export's first query.
    proxy.cutWhenSent("ORDER BY t.occurred_at");
    try {
      const res = await exportNow();
      assert.equal(res.status, 503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, "TXW_ERR_UNAVAILABLE");
      assert.doesNotMatch(body.error.message, /terminated|ECONN|Connection|Error:/i);
    } finally {
      proxy.restore();
    }
  });

  test("OPS-1 a ledger outage mid-stream cuts the connection and is logged without secrets", async () => {
    logs.length = 0;
    // Only the second page's query carries the keyset condition.
    proxy.cutWhenSent("(t.occurred_at, t.seq) >");
    try {
      const res = await exportNow();
      assert.equal(res.status, 200, "headers were out before the outage");
      await assert.rejects(res.text(), "the client sees a broken response, not a short export");
    } finally {
      proxy.restore();
    }
    await new Promise((r) => setTimeout(r, 50));
    const text = logs.join("");
    assert.match(text, /export aborted mid-stream/);
    assert.ok(!text.includes(PASSWORD), "no credentials in the logs");
    assert.ok(!text.includes(key), "no API key in the logs");
    const again = await exportNow();
    assert.equal(again.status, 200, "the next export works once the ledger is back");
    assert.equal((await again.text()).trim().split("\n").length, 600);
  });
});
