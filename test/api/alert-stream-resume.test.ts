import assert from "node:assert/strict";
import { get, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Alert } from "../../src/ledger/types.ts";
import { alwaysReviewRuleset, wireTransaction } from "../support/fixtures.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";

const ruleset = alwaysReviewRuleset();

interface Stream {
  events: () => { id: string; alert: Alert }[];
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
  return {
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
