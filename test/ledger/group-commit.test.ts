import assert from "node:assert/strict";
import { test } from "node:test";
import type { StoredBatch } from "../../src/ledger/commit.ts";
import { GroupCommitter } from "../../src/ledger/group-commit.ts";
import type { Alert, AlertDraft, LedgerRecord, QuarantineRecord } from "../../src/ledger/types.ts";
import { alertDrafts, ledgerRecords, quarantineRecord, uniqueMerchant } from "./ledger.suite.ts";

/**
 * The grouping alone, over a commit function the test holds open: which batches go to the
 * database together, and what each caller is told. The ledger suite runs the same path on
 * PostgreSQL and PGlite.
 */
interface Call {
  records: LedgerRecord[];
  alerts: AlertDraft[];
  quarantined: QuarantineRecord[];
  finish: () => void;
  fail: (error: Error) => void;
}

function heldCommits(options: { refuse?: (r: LedgerRecord) => boolean } = {}) {
  const calls: Call[] = [];
  // Stores every record and alert not stored before (by key), like the ledger.
  const storedKeys = new Set<string>();
  const alertKeys = new Set<string>();
  const commit = (records: LedgerRecord[], alerts: AlertDraft[], quarantined: QuarantineRecord[]) =>
    new Promise<StoredBatch>((resolve, reject) => {
      calls.push({
        records,
        alerts,
        quarantined,
        fail: reject,
        finish: () => {
          if (records.some((r) => options.refuse?.(r))) {
            reject(new Error("refused by the database"));
            return;
          }
          const inserted = records.filter((r) => {
            const key = `${r.tx.merchantId}/${r.tx.transactionId}`;
            if (storedKeys.has(key)) return false;
            storedKeys.add(key);
            return true;
          });
          const fresh = new Set(inserted.map((r) => r.tx.transactionId));
          resolve({
            inserted,
            alerts: alerts
              .filter((a) => {
                const key = `${a.merchantId}/${a.transactionId}/${a.rule}`;
                if (!fresh.has(a.transactionId) || alertKeys.has(key)) return false;
                alertKeys.add(key);
                return true;
              })
              .map(
                (a, i): Alert => ({
                  ...a,
                  id: String(i + 1),
                  status: "open",
                  createdAt: "2026-11-21T00:00:00.000Z",
                  updatedAt: "2026-11-21T00:00:00.000Z",
                  notes: [],
                }),
              ),
            quarantined,
          });
        },
      });
    });
  const groupFailures: { error: string; batches: number }[] = [];
  const committer = new GroupCommitter(commit, (error, batches) =>
    groupFailures.push({ error: (error as Error).message, batches }),
  );
  return { calls, committer, groupFailures };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function batch(n: number) {
  const records = ledgerRecords(uniqueMerchant(), n);
  return { records, alerts: records.flatMap(alertDrafts), quarantined: [quarantineRecord()] };
}

test("PRC-4 batches handed in while a commit runs go to the database together, each caller told its own", async () => {
  const { calls, committer } = heldCommits();
  const [a, b, c, d] = [batch(2), batch(3), batch(1), batch(2)];
  const first = committer.submit(a.records, a.alerts, a.quarantined);
  await tick();
  assert.equal(calls.length, 1);
  const rest = [b, c, d].map((x) => committer.submit(x.records, x.alerts, x.quarantined));
  await tick();
  assert.equal(calls.length, 1, "nothing more starts while the first commit runs");

  calls[0]!.finish();
  assert.deepEqual((await first).inserted, a.records);
  await tick();
  assert.equal(calls.length, 2);
  assert.deepEqual(
    calls[1]!.records,
    [b, c, d].flatMap((x) => x.records),
  );
  assert.deepEqual(
    calls[1]!.quarantined,
    [b, c, d].flatMap((x) => x.quarantined),
  );

  calls[1]!.finish();
  const results = await Promise.all(rest);
  for (const [i, x] of [b, c, d].entries()) {
    assert.deepEqual(results[i]!.inserted, x.records);
    assert.deepEqual(
      results[i]!.alerts.map((alert) => alert.transactionId),
      x.alerts.map((alert) => alert.transactionId),
    );
    assert.deepEqual(results[i]!.quarantined, x.quarantined);
  }
});

test("PRC-4 a record handed in twice in one group is stored once, for the batch that came first", async () => {
  const { calls, committer } = heldCommits();
  const lead = batch(1);
  const b = batch(2);
  // The same transaction again, decided otherwise (a redelivery after a ruleset change).
  const again = {
    ...b.records[1]!,
    tx: { ...b.records[1]!.tx },
    decision: {
      ...b.records[1]!.decision,
      reasons: [{ rule: "later-rule", score: 99, detail: "decided again" }],
    },
  };
  const first = committer.submit(lead.records, [], []);
  const early = committer.submit(b.records, b.alerts, []);
  const late = committer.submit([again], alertDrafts(again), []);
  calls[0]!.finish();
  await first;
  await tick();
  assert.deepEqual(calls[1]!.records, b.records, "the later copy is not handed to the database");
  assert.deepEqual(calls[1]!.alerts, b.alerts, "nor are the alerts its own decision drafted");
  calls[1]!.finish();
  assert.deepEqual((await early).inserted, b.records);
  assert.equal((await early).alerts.length, b.alerts.length);
  assert.deepEqual(await late, { inserted: [], alerts: [], quarantined: [] });
});

test("PRC-4 when a group fails each batch is committed alone, so only the refused one fails", async () => {
  const bad = batch(1);
  const { calls, committer, groupFailures } = heldCommits({
    refuse: (r) => r === bad.records[0],
  });
  const lead = batch(1);
  const [x, y] = [batch(2), batch(2)];
  const first = committer.submit(lead.records, [], []);
  const outcomes = [x, bad, y].map((b) =>
    committer.submit(b.records, b.alerts, b.quarantined).then(
      (stored) => stored.inserted.length,
      (error: Error) => error.message,
    ),
  );
  calls[0]!.finish();
  await first;
  // The group (x, bad, y) fails; then x, bad and y are tried one after another.
  for (let i = 1; i <= 4; i++) {
    await tick();
    assert.equal(calls.length, i + 1);
    calls[i]!.finish();
  }
  assert.deepEqual(
    calls.slice(2).map((c) => c.records),
    [x.records, bad.records, y.records],
  );
  assert.deepEqual(await Promise.all(outcomes), [2, "refused by the database", 2]);
  // The group's failure is reported once, though two of its three batches then committed.
  assert.deepEqual(groupFailures, [{ error: "refused by the database", batches: 3 }]);
});

test("PRC-4 a batch committed alone that fails rejects its caller only, and later batches go on", async () => {
  const { calls, committer, groupFailures } = heldCommits();
  const [a, b] = [batch(1), batch(1)];
  const failed = committer.submit(a.records, [], []);
  await tick();
  calls[0]!.fail(new Error("connection lost"));
  await assert.rejects(failed, /connection lost/);
  const next = committer.submit(b.records, [], []);
  await tick();
  assert.equal(calls.length, 2, "the failed batch is not retried by the committer");
  calls[1]!.finish();
  assert.deepEqual((await next).inserted, b.records);
  assert.deepEqual(groupFailures, [], "a batch alone is its caller's to report");
});
