import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ValidationError } from "../../../src/errors.ts";
import type { Alert, SqlLedger } from "../../../src/ledger/index.ts";
import { alertDrafts, ledgerRecord, type SuiteContext, uniqueMerchant } from "../ledger.suite.ts";

/** Commits one record with one alert per listed rule; returns the alerts created. */
async function raise(
  ledger: SqlLedger,
  merchantId: string,
  rules: string[],
  customerId = "cust-42",
): Promise<Alert[]> {
  const reasons = rules.map((rule) => ({ rule, score: 0.5, detail: `${rule} fired` }));
  const record = ledgerRecord(
    { merchantId, customerId },
    { decision: { action: "block", reasons } },
  );
  const { alerts } = await ledger.commitBatch([record], alertDrafts(record), []);
  return alerts;
}

async function listAll(ledger: SqlLedger, merchantId: string, limit: number): Promise<Alert[][]> {
  const pages: Alert[][] = [];
  let cursor: string | undefined;
  do {
    const page = await ledger.listAlerts(merchantId, {}, { limit, ...(cursor && { cursor }) });
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}

export function registerAlertTests(ctx: SuiteContext): void {
  test("PRC-5 alerts are stored open, one per transaction and rule, for new transactions only", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const created = await raise(ledger, merchantId, ["velocity", "amount-spike"]);
    assert.equal(created.length, 2);
    for (const alert of created) {
      assert.equal(alert.status, "open");
      assert.match(alert.id, /^\d+$/);
      assert.deepEqual(alert.notes, []);
      assert.equal(alert.createdAt, alert.updatedAt);
      assert.deepEqual(await ledger.getAlert(merchantId, alert.id), alert);
    }
    assert.equal(
      await ledger.getAlert(uniqueMerchant(), created[0]!.id),
      null,
      "another merchant's alert",
    );
    assert.equal(await ledger.getAlert(merchantId, "not-an-id"), null);
  });

  test("PRC-5 an alert moves open -> acknowledged -> closed, keeping each note in order", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const [alert] = await raise(ledger, merchantId, ["velocity"]);
    const acked = await ledger.transitionAlert(
      merchantId,
      alert!.id,
      "acknowledge",
      "looking into it",
    );
    assert.equal(acked.kind, "ok");
    assert.equal(acked.kind === "ok" && acked.alert.status, "acknowledged");
    const closed = await ledger.transitionAlert(
      merchantId,
      alert!.id,
      "close",
      "customer confirmed",
    );
    assert.ok(closed.kind === "ok");
    assert.equal(closed.alert.status, "closed");
    assert.deepEqual(
      closed.alert.notes.map((n) => [n.status, n.note]),
      [
        ["acknowledged", "looking into it"],
        ["closed", "customer confirmed"],
      ],
    );
    assert.ok(closed.alert.updatedAt >= alert!.updatedAt);
    const { rows } = await ledger.db.query<{ status: string }>(
      "SELECT status FROM alert_events WHERE alert_id = $1::bigint ORDER BY id",
      [alert!.id],
    );
    assert.deepEqual(
      rows.map((r) => r.status),
      ["open", "acknowledged", "closed"],
    );
  });

  test("PRC-5 open -> closed directly, without a note; closed alerts accept no further move", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const [alert] = await raise(ledger, merchantId, ["velocity"]);
    const closed = await ledger.transitionAlert(merchantId, alert!.id, "close");
    assert.ok(closed.kind === "ok");
    assert.deepEqual(closed.alert.notes, []);
    for (const move of ["acknowledge", "close"] as const) {
      assert.deepEqual(await ledger.transitionAlert(merchantId, alert!.id, move, "again"), {
        kind: "conflict",
        status: "closed",
      });
    }
  });

  test("PRC-5 acknowledging twice is a conflict; unknown or foreign alerts are not found", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const [alert] = await raise(ledger, merchantId, ["velocity"]);
    assert.equal((await ledger.transitionAlert(merchantId, alert!.id, "acknowledge")).kind, "ok");
    assert.deepEqual(await ledger.transitionAlert(merchantId, alert!.id, "acknowledge"), {
      kind: "conflict",
      status: "acknowledged",
    });
    assert.deepEqual(await ledger.transitionAlert(uniqueMerchant(), alert!.id, "close"), {
      kind: "not_found",
    });
    assert.deepEqual(await ledger.transitionAlert(merchantId, "999999999999", "close"), {
      kind: "not_found",
    });
    assert.deepEqual(await ledger.transitionAlert(merchantId, "1; DROP TABLE alerts", "close"), {
      kind: "not_found",
    });
  });

  test("QRY-1 listAlerts filters by status, customerId, rule and a created_at range", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const [early] = await raise(ledger, merchantId, ["velocity"], "cust-a");
    await sleep(20);
    const between = new Date().toISOString();
    await sleep(20);
    const late = await raise(ledger, merchantId, ["velocity", "structuring"], "cust-b");
    await ledger.transitionAlert(merchantId, late[1]!.id, "acknowledge");
    const ids = async (filter: Parameters<SqlLedger["listAlerts"]>[1]) =>
      (await ledger.listAlerts(merchantId, filter, { limit: 100 })).items.map((a) => a.id).sort();

    assert.deepEqual(await ids({}), [early!.id, ...late.map((a) => a.id)].sort());
    assert.deepEqual(await ids({ status: "acknowledged" }), [late[1]!.id]);
    assert.deepEqual(await ids({ status: "closed" }), []);
    assert.deepEqual(await ids({ customerId: "cust-a" }), [early!.id]);
    assert.deepEqual(await ids({ rule: "structuring" }), [late[1]!.id]);
    assert.deepEqual(await ids({ rule: "velocity", customerId: "cust-b" }), [late[0]!.id]);
    assert.deepEqual(await ids({ from: between }), late.map((a) => a.id).sort());
    assert.deepEqual(await ids({ to: between }), [early!.id]);
    assert.deepEqual(await ids({ from: early!.createdAt, to: between }), [early!.id]);
  });

  test("QRY-1 listAlerts pages newest first with a cursor, without duplicates or gaps", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    // Several alerts share one created_at (one batch): the id breaks the tie in the cursor.
    const created: Alert[] = [];
    for (let i = 0; i < 4; i++)
      created.push(...(await raise(ledger, merchantId, ["r1", "r2", "r3"])));
    const pages = await listAll(ledger, merchantId, 5);
    assert.deepEqual(
      pages.map((p) => p.length),
      [5, 5, 2],
    );
    const listed = pages.flat();
    assert.equal(new Set(listed.map((a) => a.id)).size, 12);
    assert.deepEqual(listed.map((a) => a.id).sort(), created.map((a) => a.id).sort());
    for (let i = 1; i < listed.length; i++) {
      const [prev, cur] = [listed[i - 1]!, listed[i]!];
      assert.ok(
        prev.createdAt > cur.createdAt ||
          (prev.createdAt === cur.createdAt && BigInt(prev.id) > BigInt(cur.id)),
      );
    }
    const exact = await listAll(ledger, merchantId, 12);
    assert.deepEqual(
      exact.map((p) => p.length),
      [12],
      "no empty trailing page",
    );
  });

  test("QRY-1 an invalid cursor is a validation error on the cursor field", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const bogus = [
      "not a cursor",
      "eyJ4IjoxfQ",
      Buffer.from('["2026-11-21T00:00:00.000000Z","x"]').toString("base64url"),
    ];
    for (const cursor of bogus) {
      await assert.rejects(
        ledger.listAlerts(merchantId, {}, { limit: 10, cursor }),
        (error: unknown) => error instanceof ValidationError && error.field === "cursor",
        cursor,
      );
    }
  });
}
