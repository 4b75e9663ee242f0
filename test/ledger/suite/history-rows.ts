import assert from "node:assert/strict";
import { test } from "node:test";
import { historyRows } from "../../../src/ledger/history-rows.ts";
import type { HistoryRow } from "../../../src/ledger/types.ts";
import { historyItemOf, historyItemOfRow } from "../../../src/processor/history-item.ts";
import { ledgerRecord, type SuiteContext, uniqueMerchant } from "../ledger.suite.ts";

async function collect(rows: AsyncIterable<HistoryRow>): Promise<HistoryRow[]> {
  const out: HistoryRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

export function registerHistoryRowTests(ctx: SuiteContext): void {
  test("REL-6 scanHistory gives, from an instant on, the items the processor recorded for each transaction", async () => {
    // A ledger of its own: scanHistory has no upper bound and reads every merchant.
    const ledger = await ctx.fresh();
    const merchantId = uniqueMerchant();
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 21, 9, minute)).toISOString();
    const records = [
      ledgerRecord({ merchantId, occurredAt: at(0) }, { receivedAt: at(0) }),
      // Before `from`: not read.
      ledgerRecord({ merchantId, occurredAt: at(-90) }, { receivedAt: at(-90) }),
      // Without card, device, IP or country: entities the history does not track.
      ledgerRecord(
        {
          merchantId,
          occurredAt: at(2),
          paymentMethod: { type: "bank_transfer" },
          deviceId: undefined,
          ipAddress: undefined,
          country: undefined,
        },
        { receivedAt: at(3) },
      ),
      // A future occurredAt: in the history at its receivedAt.
      ledgerRecord({ merchantId, occurredAt: at(50) }, { receivedAt: at(4) }),
      ledgerRecord({ merchantId, customerId: "c:2", occurredAt: at(1) }, { receivedAt: at(1) }),
    ];
    await ledger.commitBatch(records, [], []);
    const from = at(-60);
    const expected = [records[0]!, records[4]!, records[2]!, records[3]!].map((r) =>
      historyItemOf({ v: 1, receivedAt: r.receivedAt, tx: JSON.parse(JSON.stringify(r.tx)) }, []),
    );
    const rows = await collect(ledger.scanHistory(from));
    assert.deepEqual(rows.map(historyItemOfRow), expected);
    // Pages of 2: no duplicate or gap at page boundaries.
    assert.deepEqual(await collect(historyRows(ledger.db, from, undefined, 2)), rows);
    await assert.rejects(collect(ledger.scanHistory("yesterday")), /ISO 8601/);
  });

  test("REL-6 scanHistory resumes after a row's cursor: the rows after it, none twice, none missed", async () => {
    const ledger = await ctx.fresh();
    const merchantId = uniqueMerchant();
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 22, 9, minute)).toISOString();
    // Two of the same instant: the cursor tells them apart by their place in the chain.
    const records = [0, 1, 1, 2, 3, 4].map((minute) =>
      ledgerRecord({ merchantId, occurredAt: at(minute) }, { receivedAt: at(minute) }),
    );
    await ledger.commitBatch(records, [], []);
    const from = at(-60);
    const rows = await collect(ledger.scanHistory(from));
    assert.equal(rows.length, records.length);
    assert.equal(new Set(rows.map((r) => r.cursor)).size, rows.length, "one cursor per row");
    for (let i = 0; i < rows.length; i++) {
      const rest = await collect(ledger.scanHistory(from, rows[i]!.cursor));
      assert.deepEqual(rest, rows.slice(i + 1), `after row ${i}`);
      // Across pages of 2 as well, whichever row the cursor is in the page.
      assert.deepEqual(await collect(historyRows(ledger.db, from, rows[i]!.cursor, 2)), rest);
    }
    await assert.rejects(collect(ledger.scanHistory(from, "not a cursor")), /cursor/);
  });
}
