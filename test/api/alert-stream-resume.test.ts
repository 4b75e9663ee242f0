import assert from "node:assert/strict";
import { get, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { alertRoutes } from "../../src/api/routes/alerts.ts";
import type { Alert, Ledger } from "../../src/ledger/types.ts";
import { alwaysReviewRuleset, wireTransaction } from "../support/fixtures.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";

const ruleset = alwaysReviewRuleset();

interface Stream {
  events: () => { id: string; alert: Alert }[];
  /** The response ended (the server closed the stream). */
  ended: () => boolean;
  text: () => string;
  close: () => void;
}

async function openStream(port: number, key: string, lastEventId?: string): Promise<Stream> {
  let text = "";
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = get(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/alerts/stream",
        headers: {
          authorization: `Bearer ${key}`,
          accept: "text/event-stream",
          ...(lastEventId !== undefined && { "last-event-id": lastEventId }),
        },
      },
      resolve,
    );
    request.on("error", reject);
  });
  assert.equal(response.statusCode, 200);
  response.setEncoding("utf8");
  response.on("data", (chunk: string) => {
    text += chunk;
  });
  let ended = false;
  response.on("end", () => {
    ended = true;
  });
  return {
    ended: () => ended,
    text: () => text,
    events: () =>
      text
        .split("\n\n")
        .filter((block) => block.includes("event: alert"))
        .map((block) => {
          const field = (name: string) =>
            block
              .split("\n")
              .find((l) => l.startsWith(`${name}: `))!
              .slice(name.length + 2);
          return { id: field("id"), alert: JSON.parse(field("data")) as Alert };
        }),
    close: () => response.destroy(),
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** PRC-5: a client that reconnects with Last-Event-ID gets what it missed, once, in order. */
describe("alert stream resumed with Last-Event-ID (embedded ledger)", () => {
  let h: Harness;
  let key: string;
  let otherKey: string;
  let port: number;
  before(async () => {
    h = await startHarness({ kind: "embedded", ruleset });
    key = await h.keyFor("japancart");
    otherKey = await h.keyFor("fastshop");
    await h.app.listen({ port: 0, host: "127.0.0.1" });
    port = (h.app.server.address() as AddressInfo).port;
  });
  after(() => h.close());

  async function raise(merchantId: string, apiKey: string, n: number): Promise<string[]> {
    const txs = Array.from({ length: n }, () => wireTransaction({ merchantId }));
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(apiKey),
      payload: JSON.stringify({ transactions: txs }),
    });
    assert.equal(res.statusCode, 202, res.body);
    for (const tx of txs) await h.waitForDecision(merchantId, tx.transactionId as string);
    return txs.map((tx) => tx.transactionId as string);
  }

  test("PRC-5 a reconnect with Last-Event-ID replays the merchant's missed alerts, then goes on live, each once", async () => {
    const first = await openStream(port, key);
    await raise("japancart", key, 2);
    await until(() => first.events().length === 2, "the first two alerts");
    const lastSeen = first.events().at(-1)!.id;
    first.close();

    // Missed while disconnected: three of ours, and another merchant's that must not be sent.
    const missed = await raise("japancart", key, 3);
    await raise("fastshop", otherKey, 2);

    const resumed = await openStream(port, key, lastSeen);
    await until(() => resumed.events().length === 3, "the replayed alerts");
    const live = await raise("japancart", key, 1);
    await until(() => resumed.events().length === 4, "the live alert");
    await new Promise((r) => setTimeout(r, 100));
    const events = resumed.events();
    resumed.close();
    assert.deepEqual(
      events.map((e) => e.alert.transactionId),
      [...missed, ...live],
      "the missed ones in order, then the live one; none twice, none of another merchant",
    );
    assert.ok(events.every((e) => e.id === e.alert.id));
    const ids = events.map((e) => BigInt(e.id));
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!));
    assert.ok(ids[0]! > BigInt(lastSeen));
  });

  test("PRC-5 without Last-Event-ID (or with one that is not an id) the stream starts live", async () => {
    await raise("japancart", key, 1);
    for (const header of [undefined, "not-an-id"]) {
      const stream = await openStream(port, key, header);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(stream.events().length, 0, `nothing replayed with ${header}`);
      stream.close();
    }
  });
});

/**
 * PRC-5: a reconnect far behind is replayed a bounded part at a time: the stream ends after
 * `maxReplay` alerts (or a ledger failure) without the live alerts held meanwhile, and the
 * client's reconnect goes on from its Last-Event-ID; no alert is skipped or sent twice.
 */
describe("alert stream replay cut short (embedded ledger, maxReplay 2)", () => {
  let h: Harness;
  let key: string;
  let app: FastifyInstance;
  let port: number;
  /** Replaces the ledger's alertsAfter for the streams of `app` while set. */
  let alertsAfter: Ledger["alertsAfter"] | undefined;
  before(async () => {
    h = await startHarness({ kind: "embedded", ruleset });
    key = await h.keyFor("japancart");
    const ledger = new Proxy(h.ledger, {
      get(target, name) {
        if (name === "alertsAfter" && alertsAfter !== undefined) return alertsAfter;
        const value = Reflect.get(target, name);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    app = Fastify();
    app.addHook("onRequest", async (request) => {
      request.merchant = { id: "key-1", merchantId: "japancart" };
    });
    alertRoutes(app, { ...h.deps, ledger }, 5, 2);
    await app.listen({ port: 0, host: "127.0.0.1" });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await app.close();
    await h.close();
  });

  async function raise(n: number): Promise<string[]> {
    const txs = Array.from({ length: n }, () => wireTransaction({ merchantId: "japancart" }));
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: JSON.stringify({ transactions: txs }),
    });
    assert.equal(res.statusCode, 202, res.body);
    for (const tx of txs) await h.waitForDecision("japancart", tx.transactionId as string);
    return txs.map((tx) => tx.transactionId as string);
  }

  /** Reconnects as EventSource does until a stream stays open; every event, in order. */
  async function catchUp(from: string): Promise<{ ids: string[]; txs: string[]; streams: number }> {
    const ids: string[] = [];
    const txs: string[] = [];
    let last = from;
    for (let streams = 1; streams <= 20; streams++) {
      const stream = await openStream(port, key, last);
      // A stream cut short ends at once; one that caught up stays open.
      await until(() => stream.ended(), "the end of a replay cut short", 1000).catch(() => {});
      const events = stream.events();
      ids.push(...events.map((e) => e.id));
      txs.push(...events.map((e) => e.alert.transactionId));
      if (events.length > 0) last = events.at(-1)!.id;
      if (!stream.ended()) {
        stream.close();
        return { ids, txs, streams };
      }
      assert.match(stream.text(), /\nretry: \d+\n\n$/, "a retry: field says to reconnect soon");
      assert.ok(events.length <= 2, "at most maxReplay per connection");
    }
    throw new Error("never caught up");
  }

  test("PRC-5 a replay past maxReplay ends the stream; the reconnects go on from Last-Event-ID, none skipped, none twice", async () => {
    const from = await h.ledger.alertsTail();
    const missed = await raise(5);
    const { ids, txs, streams } = await catchUp(from);
    assert.deepEqual(txs, missed, "every missed alert, in order, once");
    assert.ok(streams >= 3, `replayed over several connections (${streams})`);
    const sorted = ids.map(BigInt);
    assert.ok(sorted.every((id, i) => id > (i === 0 ? BigInt(from) : sorted[i - 1]!)));
  });

  test("PRC-5 live alerts raised during a replay cut short are not lost: the next connection replays them", async () => {
    const from = await h.ledger.alertsTail();
    const missed = await raise(3);
    // The first replay read waits until two more alerts were raised (and published live).
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let gated = true;
    alertsAfter = async (cursor, limit, merchantId) => {
      if (gated) {
        gated = false;
        await gate;
      }
      return h.ledger.alertsAfter(cursor, limit, merchantId);
    };
    try {
      const first = await openStream(port, key, from);
      const live = await raise(2);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(first.events().length, 0, "the live alerts wait behind the replay");
      release();
      await until(() => first.ended(), "the stream ends after maxReplay");
      const firstEvents = first.events();
      assert.deepEqual(
        firstEvents.map((e) => e.alert.transactionId),
        missed.slice(0, 2),
        "the two oldest missed; no live alert jumps over the third",
      );
      alertsAfter = undefined;
      const rest = await catchUp(firstEvents.at(-1)!.id);
      assert.deepEqual(rest.txs, [...missed.slice(2), ...live], "then the rest, each once");
    } finally {
      alertsAfter = undefined;
    }
  });

  test("PRC-5 a ledger failure during the replay ends the stream after what was sent; the reconnect resumes from there", async () => {
    const from = await h.ledger.alertsTail();
    const missed = await raise(2);
    alertsAfter = async () => {
      throw new Error("ledger down");
    };
    try {
      const failed = await openStream(port, key, from);
      const live = await raise(1);
      await until(() => failed.ended(), "the stream ends");
      assert.equal(failed.events().length, 0, "no live alert jumps over the missed ones");
      assert.match(failed.text(), /\nretry: \d+\n\n$/);
      alertsAfter = undefined;
      const resumed = await catchUp(from);
      assert.deepEqual(resumed.txs, [...missed, ...live]);
    } finally {
      alertsAfter = undefined;
    }
  });

  test("PRC-5 a replay that catches up goes on live, with the alerts held meanwhile", async () => {
    const from = await h.ledger.alertsTail();
    const missed = await raise(1);
    const stream = await openStream(port, key, from);
    await until(() => stream.events().length === 1, "the replayed alert");
    const live = await raise(2);
    await until(() => stream.events().length === 3, "the live alerts");
    assert.equal(stream.ended(), false);
    assert.deepEqual(
      stream.events().map((e) => e.alert.transactionId),
      [...missed, ...live],
    );
    stream.close();
  });
});
