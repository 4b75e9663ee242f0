import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { postAlerts, webhookChannel } from "../../src/alerts/webhook-delivery.ts";
import { AlertReceiver } from "../support/alert-receiver.ts";
import { sampleAlert } from "../support/fixtures.ts";

const within = (ms: number) => AbortSignal.timeout(ms);

/** PRC-5, REL-6: one webhook request to a real local HTTP server, and what its answer means. */
describe("webhook delivery", () => {
  const receiver = new AlertReceiver();
  before(() => receiver.start());
  after(() => receiver.stop());

  test("PRC-5 REL-6 alerts are POSTed as { alerts: [...] }, each with its id (for the receiver to drop a redelivery); a 2xx delivers them", async () => {
    receiver.taken.length = 0;
    receiver.answer = () => 204;
    const sent = [sampleAlert(), sampleAlert()];
    const result = await postAlerts(sent, { url: receiver.url, signal: within(2000) });
    assert.deepEqual(result, { kind: "delivered" });
    assert.deepEqual(receiver.taken, sent);
    assert.deepEqual(
      receiver.taken.map((a) => a.id),
      sent.map((a) => a.id),
    );
  });

  test("REL-6 401, 403, 404, 408, 429, 5xx (any status but 400, 413, 415 and 422) are failures the outbox retries; those four are a refusal for good", async () => {
    // A rotated token or a receiver mid-deploy answers 401, 403 or 404 to every request: a
    // refusal would dead-letter the whole backlog, one alert at a time.
    for (const status of [401, 403, 404, 405, 408, 409, 410, 429, 500, 502, 503, 504]) {
      receiver.answer = () => status;
      assert.deepEqual(
        await postAlerts([sampleAlert()], { url: receiver.url, signal: within(2000) }),
        {
          kind: "failed",
          reason: `webhook answered HTTP ${status}`,
        },
      );
    }
    for (const status of [400, 413, 415, 422]) {
      receiver.answer = () => status;
      assert.deepEqual(
        await postAlerts([sampleAlert()], { url: receiver.url, signal: within(2000) }),
        {
          kind: "refused",
          reason: `webhook answered HTTP ${status}`,
        },
      );
    }
  });

  test("REL-6 a receiver that does not answer in time, or whose port is closed, is a failure; the reason names neither the URL nor its token", async () => {
    receiver.answer = () => ({ status: 204, delayMs: 2000 });
    const started = Date.now();
    const slow = await postAlerts([sampleAlert()], { url: receiver.url, signal: within(200) });
    assert.ok(Date.now() - started < 1500, "abandoned at the timeout");
    assert.deepEqual(slow, { kind: "failed", reason: "webhook: no answer" });

    const closed = new AlertReceiver();
    await closed.start();
    const url = closed.url;
    await closed.stop();
    const refused = await postAlerts([sampleAlert()], { url, signal: within(2000) });
    assert.equal(refused.kind, "failed");
    assert.equal((refused as { reason: string }).reason, "webhook: ECONNREFUSED");
    for (const result of [slow, refused]) {
      const text = JSON.stringify(result);
      assert.ok(!text.includes("s3cret-token") && !text.includes("127.0.0.1"), text);
    }
  });

  test("REL-6 the webhook channel: up to 500 alerts a request and 5 s a request by default", async () => {
    const channel = webhookChannel({ url: receiver.url });
    assert.equal(channel.name, "webhook");
    assert.equal(channel.maxBatch, 500);
    assert.equal(channel.timeoutMs, 5000);
    assert.throws(() => webhookChannel({ url: receiver.url, maxBatch: 0 }), /maxBatch/);
    receiver.answer = () => 200;
    assert.deepEqual(await channel.send([sampleAlert()], within(2000)), { kind: "delivered" });
  });
});
