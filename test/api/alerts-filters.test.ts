import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Alert } from "../../src/ledger/types.ts";
import { alertDrafts, ledgerRecords } from "../ledger/ledger.suite.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";

/** `ms` written with an offset of +HH:MM (RFC 3339 allows up to ±23:59; PostgreSQL ±15:59). */
function withOffset(ms: number, sign: "+" | "-", hours: number, minutes: number): string {
  const shift = (sign === "+" ? 1 : -1) * (hours * 60 + minutes) * 60_000;
  const local = new Date(ms + shift).toISOString().slice(0, 19);
  return `${local}${sign}${String(hours).padStart(2, "0")}:${String(minutes).padStart(2, "0")}`;
}

/** QRY-1: every accepted from / to reaches SQL as a UTC instant; out-of-range ones are a 400. */
describe("alert and export time filters (real PostgreSQL + Redis)", () => {
  let h: Harness;
  let key: string;
  const customerId = `cust-filters-${process.pid}`;
  before(async () => {
    h = await startHarness({ kind: "real", process: false });
    key = await h.keyFor("japancart");
    const records = ledgerRecords("japancart", 3, "2026-03-10T00:00:00.000Z").map((r) => ({
      ...r,
      tx: { ...r.tx, customerId },
    }));
    await h.ledger.commitBatch(records, records.flatMap(alertDrafts), []);
  });
  after(() => h.close());

  const get = (url: string) => h.app.inject({ method: "GET", url, headers: bearer(key) });
  const q = encodeURIComponent;

  function assertValidation(res: { statusCode: number; json(): unknown }, field: string) {
    assert.equal(res.statusCode, 400, JSON.stringify(res.json()));
    const body = res.json() as { error: { code: string; field?: string } };
    assert.equal(body.error.code, "TXW_ERR_VALIDATION");
    assert.equal(body.error.field, field);
  }

  test("QRY-1 alert filters with offsets beyond ±14:00 are normalised to UTC, not a 503", async () => {
    const now = Date.now();
    const start = withOffset(now - 3_600_000, "+", 23, 59);
    const end = withOffset(now + 3_600_000, "-", 23, 59);
    const res = await get(`/v1/alerts?customerId=${customerId}&from=${q(start)}&to=${q(end)}`);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as { alerts: Alert[] }).alerts.length, 3);
    // The same instants, shifted by the offset: an hour ahead excludes every alert just made.
    const ahead = withOffset(now + 3_600_000, "+", 23, 59);
    const none = await get(`/v1/alerts?customerId=${customerId}&from=${q(ahead)}`);
    assert.equal(none.statusCode, 200, none.body);
    assert.equal((none.json() as { alerts: Alert[] }).alerts.length, 0);
    const plain = await get(`/v1/alerts?customerId=${customerId}&from=2026-01-01T00:00:00%2B23:59`);
    assert.equal(plain.statusCode, 200, plain.body);
  });

  test("QRY-1 alert filters outside years 1970..9999 are a 400 naming the parameter", async () => {
    assertValidation(await get(`/v1/alerts?to=${q("9999-12-31T23:59:59-23:59")}`), "to");
    assertValidation(await get(`/v1/alerts?from=${q("1970-01-01T00:00:00+00:01")}`), "from");
    assertValidation(await get(`/v1/alerts?from=${q("0000-01-01T00:00:00Z")}`), "from");
    assertValidation(await get("/v1/alerts?from=a&from=b"), "from");
    const edge = await get(
      `/v1/alerts?from=${q("1970-01-01T00:00:00Z")}&to=${q("9999-12-31T23:59:59Z")}`,
    );
    assert.equal(edge.statusCode, 200, edge.body);
  });

  test("QRY-1 export bounds with offsets beyond ±14:00 select the right UTC period", async () => {
    // [2026-03-10T00:00Z, 2026-03-10T00:01:30Z) holds the first two of the three records.
    const from = withOffset(Date.parse("2026-03-10T00:00:00Z"), "+", 23, 59);
    const to = withOffset(Date.parse("2026-03-10T00:01:30Z"), "-", 15, 30);
    const res = await get(`/v1/exports/transactions?from=${q(from)}&to=${q(to)}`);
    assert.equal(res.statusCode, 200, res.body);
    const rows = res.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { customerId: string; occurredAt: string });
    assert.deepEqual(
      rows.map((r) => Date.parse(r.occurredAt)),
      [Date.parse("2026-03-10T00:00:00Z"), Date.parse("2026-03-10T00:01:00Z")],
    );
    assert.match(
      String(res.headers["content-disposition"]),
      /txwatch-export-2026-03-10-2026-03-10\.ndjson/,
    );
  });

  test("QRY-1 export bounds outside years 1970..9999 are a 400 naming the parameter", async () => {
    assertValidation(
      await get(
        `/v1/exports/transactions?from=2026-01-01T00:00:00Z&to=${q("9999-12-31T23:59:59-23:59")}`,
      ),
      "to",
    );
    assertValidation(
      await get(
        `/v1/exports/transactions?from=${q("1969-12-31T23:59:59Z")}&to=2026-01-01T00:00:00Z`,
      ),
      "from",
    );
  });
});
