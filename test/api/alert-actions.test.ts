import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Alert } from "../../src/ledger/types.ts";
import { alertDrafts, ledgerRecords } from "../ledger/ledger.suite.ts";
import { TEST_PAN } from "../support/fixtures.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";

/** PRC-5: the alert lifecycle actions refuse what they cannot store, with the right status. */
describe("alert actions: notes and content types (real PostgreSQL + Redis)", () => {
  let h: Harness;
  let key: string;
  let alerts: Alert[];
  before(async () => {
    h = await startHarness({ kind: "real", process: false });
    key = await h.keyFor("japancart");
    const records = ledgerRecords("japancart", 4, "2026-03-10T00:00:00.000Z");
    alerts = (await h.ledger.commitBatch(records, records.flatMap(alertDrafts), [])).alerts;
    assert.equal(alerts.length, 4);
  });
  after(() => h.close());

  const act = (id: string, action: string, payload?: string, headers = bearer(key)) =>
    h.app.inject({
      method: "POST",
      url: `/v1/alerts/${id}/${action}`,
      headers,
      ...(payload !== undefined && { payload }),
    });

  function assertError(
    res: { statusCode: number; json(): unknown },
    status: number,
    code: string,
    field?: string,
  ) {
    assert.equal(res.statusCode, status, JSON.stringify(res.json()));
    const body = res.json() as { error: { code: string; field?: string } };
    assert.equal(body.error.code, code);
    if (field !== undefined) assert.equal(body.error.field, field);
  }

  const statusOf = async (id: string) => (await h.ledger.getAlert("japancart", id))!.status;

  test("PRC-5 a NUL or a lone surrogate in a note is a 400 naming note, and nothing changes", async () => {
    const id = alerts[0]!.id;
    for (const note of ["checked\u0000ok", "checked \ud800 ok"]) {
      for (const action of ["acknowledge", "close"]) {
        assertError(
          await act(id, action, JSON.stringify({ note })),
          400,
          "TXW_ERR_VALIDATION",
          "note",
        );
      }
    }
    assert.equal(await statusOf(id), "open");
    assert.equal((await act(id, "acknowledge", JSON.stringify({ note: "ok" }))).statusCode, 200);
  });

  test("PRIV-1 a note holding a card number is a 400 naming note, and the number goes nowhere", async () => {
    const id = alerts[1]!.id;
    for (const note of [
      `customer read out ${TEST_PAN} on the phone`,
      "card 4111 1111 1111 1111 again",
      "card 4111-1111-1111-1111 again",
    ]) {
      const res = await act(id, "close", JSON.stringify({ note }));
      assertError(res, 400, "TXW_ERR_VALIDATION", "note");
      assert.ok(!res.body.includes("1111 1111") && !res.body.includes(TEST_PAN));
    }
    assert.equal(await statusOf(id), "open");
    assert.ok(!h.logs().includes(TEST_PAN), "no card number in the logs");
    assert.ok(!h.logs().includes("4111 1111 1111 1111"), "no card number in the logs");
    const stored = (await h.ledger.getAlert("japancart", id))!;
    assert.deepEqual(stored.notes, []);
    // Long numbers that are not card numbers (ids, order numbers) are fine in a note.
    const note = "order 1795253400123, ticket 2026-0001234567890: refunded";
    const ok = await act(id, "acknowledge", JSON.stringify({ note }));
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((ok.json() as Alert).notes.at(-1)?.note, note);
  });

  test("PRC-5 a non-JSON content type on the actions is a 415, empty bodies still work", async () => {
    const id = alerts[2]!.id;
    for (const contentType of ["text/plain", "text/plain; charset=utf-8", "application/xml"]) {
      assertError(
        await act(id, "acknowledge", "looks fine", {
          authorization: `Bearer ${key}`,
          "content-type": contentType,
        }),
        415,
        "TXW_ERR_UNSUPPORTED_MEDIA_TYPE",
      );
    }
    assert.equal(await statusOf(id), "open");
    // No body with the JSON content type (what most clients send), then no body and no type.
    const acknowledged = await act(id, "acknowledge", "");
    assert.equal(acknowledged.statusCode, 200, acknowledged.body);
    assert.equal((acknowledged.json() as Alert).status, "acknowledged");
    const closed = await act(alerts[3]!.id, "close", undefined, {
      authorization: `Bearer ${key}`,
    });
    assert.equal(closed.statusCode, 200, closed.body);
    assert.equal((closed.json() as Alert).status, "closed");
  });
});
