import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { RedisHistoryStore } from "../../src/history/index.ts";
import {
  DAY_MS,
  generationKey,
  rebuildLockKey,
  rebuildProgressKey,
} from "../../src/history/keys.ts";
import type { HistoryRebuild, HistorySink, RebuildProgress } from "../../src/history/rebuild.ts";
import type { HistoryItem } from "../../src/history/types.ts";
import type { HistoryRow, Ledger } from "../../src/ledger/types.ts";
import { warmHistory } from "../../src/runtime/warm-history.ts";
import { connectTestRedis, deleteKeys, uniqueName } from "../support/services.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { historyItem as at, T0, window, withCard } from "./history-fixtures.ts";

const MINUTE = 60_000;
const NOW = T0 + 10 * MINUTE;

/** Seven purchases of one card in the 10 minutes before NOW: what the ledger holds. */
function sevenPurchases(card: string): HistoryItem[] {
  return Array.from({ length: 7 }, (_, i) =>
    withCard(at(T0 + i * MINUTE, { entities: { customer: `c-${card}` } }), card),
  );
}

/** The 8th purchase, asking how many the card made in 10 minutes (itself included). */
function eighth(card: string): HistoryItem {
  return withCard(
    at(NOW, { entities: { customer: `c-${card}` }, queries: [window("card", 600)] }),
    card,
  );
}

/** A rebuild replaying `ledger` into the store, recording what happened. */
function fakeRebuild(ledger: HistoryItem[], options: Partial<HistoryRebuild> = {}) {
  const seen = { replays: 0, lost: 0, rebuilt: [] as number[], failed: 0, blind: 0 };
  const rebuild: HistoryRebuild = {
    async replay(into: HistorySink, now: number) {
      seen.replays++;
      await into.restore(ledger, now);
      return ledger.length;
    },
    events: {
      lost: () => seen.lost++,
      rebuilt: (n) => seen.rebuilt.push(n),
      failed: () => seen.failed++,
      blind: () => seen.blind++,
    },
    ...options,
  };
  return { rebuild, seen };
}

/**
 * A ledger holding `items` (a row's cursor is its index), counting what each scan reads;
 * `beforeRow` is awaited before row i of every scan (a slow read, or a process that dies there).
 */
function fakeLedger(items: HistoryItem[], beforeRow?: (i: number) => Promise<void>) {
  const rows: HistoryRow[] = items.map((item, i) => ({
    cursor: String(i),
    merchantId: item.merchantId,
    transactionId: item.transactionId,
    customerId: item.entities.customer!,
    occurredAt: item.eventTime,
    receivedAt: item.eventTime,
    amount: item.amount,
    currency: item.currency,
    ...(item.cardToken !== undefined && { cardToken: item.cardToken }),
  }));
  const scans: { from: string; after?: string; read: number }[] = [];
  const ledger: Pick<Ledger, "scanHistory"> = {
    async *scanHistory(from, after) {
      const scan = { from, ...(after !== undefined && { after }), read: 0 };
      scans.push(scan);
      for (let i = after === undefined ? 0 : Number(after) + 1; i < rows.length; i++) {
        await beforeRow?.(i);
        scan.read++;
        yield rows[i]!;
      }
    },
  };
  return { ledger, scans };
}

/** A rebuild through warmHistory from `ledger`, two transactions per chunk and saved progress. */
function ledgerRebuild(ledger: Pick<Ledger, "scanHistory">, options: Partial<HistoryRebuild> = {}) {
  const seen = {
    lost: 0,
    resumed: [] as number[],
    paused: [] as number[],
    rebuilt: [] as number[],
  };
  const rebuild: HistoryRebuild = {
    replay: (into, now, replayOptions) => warmHistory(ledger, into, now, replayOptions, 2),
    events: {
      lost: () => seen.lost++,
      resumed: (n) => seen.resumed.push(n),
      paused: (n) => seen.paused.push(n),
      rebuilt: (n) => seen.rebuilt.push(n),
    },
    ...options,
  };
  return { rebuild, seen };
}

const DAY_BEFORE_NOW = new Date(NOW - DAY_MS).toISOString();

/** REL-6 on the machine's Redis (127.0.0.1:6379), one key prefix per test. */
describe("history rebuilt when Redis lost it (generation marker, real Redis)", () => {
  const prefixes: string[] = [];
  const stores: RedisHistoryStore[] = [];
  async function storeOn(prefix: string, rebuild: HistoryRebuild): Promise<RedisHistoryStore> {
    const store = new RedisHistoryStore(await connectTestRedis(), prefix, undefined, { rebuild });
    stores.push(store);
    return store;
  }
  function newPrefix(): string {
    const prefix = uniqueName("txwtest");
    prefixes.push(prefix);
    return prefix;
  }
  after(async () => {
    for (const store of stores) await store.close().catch(() => undefined);
    const admin = await connectTestRedis();
    try {
      for (const prefix of prefixes) await deleteKeys(admin, `${prefix}:`);
    } finally {
      await admin.quit();
    }
  });

  test("REL-6 a store without its marker rebuilds from the ledger before answering: the 8th purchase sees the 7 before", async () => {
    const prefix = newPrefix();
    const { rebuild, seen } = fakeRebuild(sevenPurchases("k1"));
    const store = await storeOn(prefix, rebuild);
    const [result] = await store.recordBatch([eighth("k1")], NOW);
    assert.equal(result!.windows[0]!.count, 8, "the 7 replayed purchases and this one");
    assert.equal(result!.incomplete, undefined);
    assert.deepEqual(seen, { replays: 1, lost: 1, rebuilt: [7], failed: 0, blind: 0 });
    const admin = await connectTestRedis();
    try {
      assert.equal(await admin.exists(generationKey(prefix)), 1, "the marker is set");
      assert.equal(await admin.exists(rebuildLockKey(prefix)), 0, "the lock is released");
    } finally {
      await admin.quit();
    }
    // The marker is there now: later batches trust the store.
    await store.recordBatch([eighth("k1")], NOW + 1);
    assert.equal(seen.replays, 1);
  });

  test("REL-6 with the marker present no rebuild, whatever the store holds", async () => {
    const prefix = newPrefix();
    const admin = await connectTestRedis();
    try {
      await admin.set(generationKey(prefix), "set by an earlier rebuild");
    } finally {
      await admin.quit();
    }
    const { rebuild, seen } = fakeRebuild(sevenPurchases("k2"));
    const store = await storeOn(prefix, rebuild);
    const [result] = await store.recordBatch([eighth("k2")], NOW);
    assert.equal(result!.windows[0]!.count, 1);
    assert.deepEqual(seen, { replays: 0, lost: 0, rebuilt: [], failed: 0, blind: 0 });
  });

  test("REL-6 an empty ledger: the rebuild sets the marker with 0 transactions and never runs again", async () => {
    const prefix = newPrefix();
    const { rebuild, seen } = fakeRebuild([]);
    const store = await storeOn(prefix, rebuild);
    for (let i = 0; i < 3; i++) await store.recordBatch([eighth("k3")], NOW + i);
    assert.deepEqual(seen, { replays: 1, lost: 1, rebuilt: [0], failed: 0, blind: 0 });
    // A second process on the same Redis (a restarted monitor) finds the marker.
    const second = fakeRebuild([]);
    await (await storeOn(prefix, second.rebuild)).recordBatch([eighth("k3")], NOW + 5);
    assert.equal(second.seen.replays, 0);
  });

  test("REL-6 two stores on one Redis rebuild once, and both decide on the whole history", async () => {
    const prefix = newPrefix();
    const ledger = sevenPurchases("k4");
    let replays = 0;
    const slow = async (into: HistorySink, now: number) => {
      replays++;
      await sleep(300);
      await into.restore(ledger, now);
      return ledger.length;
    };
    const a = fakeRebuild(ledger, { replay: slow });
    const b = fakeRebuild(ledger, { replay: slow });
    const [storeA, storeB] = [await storeOn(prefix, a.rebuild), await storeOn(prefix, b.rebuild)];
    const [[fromA], [fromB]] = await Promise.all([
      storeA.recordBatch([eighth("k4")], NOW),
      storeB.recordBatch([eighth("k4")], NOW),
    ]);
    // Each counts the replayed 7 and itself; the other store's 8th (same event time, other id)
    // too when that one was recorded first, which depends on how the two calls interleave.
    for (const from of [fromA!, fromB!]) {
      const count = from.windows[0]!.count;
      assert.ok(count === 8 || count === 9, `counted ${count}`);
    }
    assert.equal(fromA!.incomplete, undefined);
    assert.equal(fromB!.incomplete, undefined);
    assert.equal(a.seen.lost + b.seen.lost, 1, "one loss reported");
    assert.equal(replays, 1, "one rebuild");
    assert.equal(a.seen.blind + b.seen.blind, 0);
  });

  test("REL-6 a store whose wait for another's rebuild runs out decides blind, marked incomplete, until the marker is back", async () => {
    const prefix = newPrefix();
    const ledger = sevenPurchases("k5");
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const a = fakeRebuild(ledger, {
      async replay(into, now) {
        await gate;
        await into.restore(ledger, now);
        return ledger.length;
      },
    });
    const b = fakeRebuild(ledger, { waitMs: 300 });
    const storeA = await storeOn(prefix, a.rebuild);
    const storeB = await storeOn(prefix, b.rebuild);
    const rebuilding = storeA.recordBatch([eighth("k5")], NOW);
    await waitFor(
      "store A to take the lock",
      async () => (a.seen.lost === 1 ? true : undefined),
      5000,
    );

    const [blind] = await storeB.recordBatch([eighth("k5")], NOW);
    assert.equal(blind!.incomplete, true, "decided before the rebuild ended: marked");
    assert.equal(b.seen.blind, 1);
    // The wait ran out once for this outage: the next batch does not wait again, nor rebuild.
    const [again] = await storeB.recordBatch([eighth("k5")], NOW + 1);
    assert.equal(again!.incomplete, true);
    assert.equal(b.seen.blind, 1, "one blind line per outage");
    assert.equal(b.seen.replays, 0);

    release();
    const [fromA] = await rebuilding;
    assert.equal(fromA!.incomplete, undefined);
    assert.equal(fromA!.windows[0]!.count, 10, "the 7 replayed, its own and B's two");
    const [after] = await storeB.recordBatch([eighth("k5")], NOW + 2);
    assert.equal(after!.incomplete, undefined, "the marker is back: decided on the whole day");
    assert.equal(after!.windows[0]!.count, 11);
  });

  test("REL-6 a rebuild that fails fails the batch and frees the lock; the next batch rebuilds", async () => {
    const prefix = newPrefix();
    const ledger = sevenPurchases("k6");
    let attempts = 0;
    const { rebuild, seen } = fakeRebuild(ledger, {
      async replay(into, now) {
        attempts++;
        if (attempts === 1) throw new Error("the ledger cannot be read");
        await into.restore(ledger, now);
        return ledger.length;
      },
    });
    const store = await storeOn(prefix, rebuild);
    const purchase = eighth("k6");
    await assert.rejects(store.recordBatch([purchase], NOW), /the ledger cannot be read/);
    assert.equal(seen.failed, 1);
    // The stream redelivers the batch.
    const [result] = await store.recordBatch([purchase], NOW);
    assert.equal(result!.windows[0]!.count, 8);
    assert.equal(attempts, 2);
    assert.deepEqual(seen.rebuilt, [7]);
  });

  test("REL-6 the marker and the lock live under the store's prefix; the marker never expires", async () => {
    const prefix = newPrefix();
    const store = await storeOn(prefix, fakeRebuild([]).rebuild);
    await store.recordBatch([eighth("k7")], NOW);
    const admin = await connectTestRedis();
    try {
      assert.equal(await admin.ttl(generationKey(prefix)), -1);
      assert.match(
        (await admin.get(generationKey(prefix))) ?? "",
        new RegExp(` ${store.ownerId} 0$`),
      );
    } finally {
      await admin.quit();
    }
  });
  async function progressOn(prefix: string): Promise<RebuildProgress | null> {
    const admin = await connectTestRedis();
    try {
      const text = await admin.get(rebuildProgressKey(prefix));
      return text === null ? null : (JSON.parse(text) as RebuildProgress);
    } finally {
      await admin.quit();
    }
  }

  async function keysLeft(prefix: string) {
    const admin = await connectTestRedis();
    try {
      return {
        marker: await admin.exists(generationKey(prefix)),
        lock: await admin.exists(rebuildLockKey(prefix)),
        progress: await admin.exists(rebuildProgressKey(prefix)),
      };
    } finally {
      await admin.quit();
    }
  }

  test("REL-6 a rebuild whose time budget runs out saves its progress, frees the lock and decides its batch marked; another store resumes it, reading only the rest, and the 8th purchase sees the 7", async () => {
    const prefix = newPrefix();
    const items = sevenPurchases("k8");
    // The first store's read slows down after four rows: past its budget at the third chunk.
    let slow = true;
    const { ledger, scans } = fakeLedger(items, async (i) => {
      if (slow && i === 4) await sleep(1000);
    });
    const a = ledgerRebuild(ledger, { budgetMs: 500 });
    const storeA = await storeOn(prefix, a.rebuild);
    const [other] = await storeA.recordBatch(
      [at(NOW, { entities: { customer: "c-k8-other" } })],
      NOW,
    );
    assert.equal(other!.incomplete, true, "decided before the rebuild ended: marked");
    assert.deepEqual(a.seen, { lost: 1, resumed: [], paused: [6], rebuilt: [] });
    assert.deepEqual(await progressOn(prefix), { from: DAY_BEFORE_NOW, cursor: "5", replayed: 6 });
    assert.deepEqual(await keysLeft(prefix), { marker: 0, lock: 0, progress: 1 });

    slow = false;
    const b = ledgerRebuild(ledger);
    const storeB = await storeOn(prefix, b.rebuild);
    const [result] = await storeB.recordBatch([eighth("k8")], NOW + 1);
    assert.deepEqual(scans.slice(1), [{ from: DAY_BEFORE_NOW, after: "5", read: 1 }], "the rest");
    assert.deepEqual(b.seen, { lost: 0, resumed: [6], paused: [], rebuilt: [7] });
    assert.equal(result!.incomplete, undefined);
    assert.equal(result!.windows[0]!.count, 8, "6 replayed by A, 1 by B, and this one");
    assert.deepEqual(await keysLeft(prefix), { marker: 1, lock: 0, progress: 0 });
  });

  test("REL-6 a rebuilder that dies mid-way (its lock expires): the next store resumes from its progress", async () => {
    const prefix = newPrefix();
    const items = sevenPurchases("k9");
    let kill: (error: Error) => void = () => {};
    const death = new Promise<void>((_, reject) => {
      kill = reject;
    });
    let dying = true;
    const { ledger, scans } = fakeLedger(items, async (i) => {
      if (dying && i === 4) await death;
    });
    const a = ledgerRebuild(ledger);
    const storeA = await storeOn(prefix, a.rebuild);
    const hung = storeA.recordBatch([eighth("k9")], NOW);
    hung.catch(() => {});
    await waitFor(
      "store A to save its progress",
      async () => ((await progressOn(prefix))?.replayed === 4 ? true : undefined),
      5000,
    );
    dying = false;
    // Its lock expires (LOCK_MS) as a dead process's does.
    const admin = await connectTestRedis();
    try {
      await admin.del(rebuildLockKey(prefix));
    } finally {
      await admin.quit();
    }

    const b = ledgerRebuild(ledger);
    const storeB = await storeOn(prefix, b.rebuild);
    const [result] = await storeB.recordBatch([eighth("k9")], NOW + 1);
    assert.deepEqual(scans.slice(1), [{ from: DAY_BEFORE_NOW, after: "3", read: 3 }]);
    assert.deepEqual(b.seen, { lost: 0, resumed: [4], paused: [], rebuilt: [7] });
    assert.equal(result!.incomplete, undefined);
    // The 7 and this one; A's 8th, recorded before it hung, counts too (another transaction id).
    assert.equal(result!.windows[0]!.count, 9);
    assert.deepEqual(await keysLeft(prefix), { marker: 1, lock: 0, progress: 0 });

    // The dead process's last gasp leaves the rebuilt history alone.
    kill(new Error("killed"));
    await assert.rejects(hung, /killed/);
    assert.deepEqual(await keysLeft(prefix), { marker: 1, lock: 0, progress: 0 });
  });

  test("REL-6 a stale, foreign or too recent progress is not resumed: the rebuild starts over from the day before now", async () => {
    const saved = [
      // Left by a rebuild abandoned hours before the day now starts.
      JSON.stringify({
        from: new Date(NOW - DAY_MS - 3 * 3_600_000).toISOString(),
        cursor: "5",
        replayed: 6,
      }),
      // Reading from after the day's start would leave its first transactions out.
      JSON.stringify({
        from: new Date(NOW - DAY_MS + 60_000).toISOString(),
        cursor: "5",
        replayed: 6,
      }),
      "not a progress",
    ];
    for (const [i, text] of saved.entries()) {
      const prefix = newPrefix();
      const admin = await connectTestRedis();
      try {
        await admin.set(rebuildProgressKey(prefix), text);
      } finally {
        await admin.quit();
      }
      const { ledger, scans } = fakeLedger(sevenPurchases(`k10-${i}`));
      const { rebuild, seen } = ledgerRebuild(ledger);
      const store = await storeOn(prefix, rebuild);
      const [result] = await store.recordBatch([eighth(`k10-${i}`)], NOW);
      assert.deepEqual(scans, [{ from: DAY_BEFORE_NOW, read: 7 }], text);
      assert.deepEqual(seen, { lost: 1, resumed: [], paused: [], rebuilt: [7] });
      assert.equal(result!.windows[0]!.count, 8);
      assert.deepEqual(await keysLeft(prefix), { marker: 1, lock: 0, progress: 0 });
    }
  });
});
