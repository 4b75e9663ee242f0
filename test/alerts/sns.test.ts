import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { SNSClient } from "@aws-sdk/client-sns";
import { PGlite } from "@electric-sql/pglite";
import { snsChannel } from "../../src/alerts/sns.ts";
import { pgliteSqlClient, SqlLedger } from "../../src/ledger/index.ts";
import type { Alert } from "../../src/ledger/types.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { startAlertOutbox } from "../../src/outbox/alert-outbox.ts";
import { raise, until } from "../outbox/alert-outbox.suite.ts";
import { sampleAlert } from "../support/fixtures.ts";
import { logSink } from "../support/log-sink.ts";

/** One PublishBatch entry as SNS received it. */
interface Entry {
  id: string;
  alert: Alert;
  attributes: Record<string, string>;
}

/** What the fake answers a PublishBatch: per entry, or an error for the whole request. */
type SnsAnswer =
  | { entries: (entry: Entry) => "ok" | { code: string; senderFault: boolean } }
  | { error: { status: number; code: string; type: "Sender" | "Receiver" } };

/**
 * The SNS Query API's PublishBatch on a loopback port, enough for the real SDK client: the
 * channel is tested through the SDK's own serialisation and error mapping, not a stub of it.
 */
class FakeSns {
  readonly published: Entry[] = [];
  answer: SnsAnswer = { entries: () => "ok" };
  private server: Server | null = null;
  endpoint = "";

  async start(): Promise<void> {
    const server = createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      assert.equal(form.get("Action"), "PublishBatch");
      const entries: Entry[] = [];
      for (let i = 1; form.has(`PublishBatchRequestEntries.member.${i}.Id`); i++) {
        const at = `PublishBatchRequestEntries.member.${i}`;
        const attributes: Record<string, string> = {};
        for (let j = 1; form.has(`${at}.MessageAttributes.entry.${j}.Name`); j++) {
          const name = form.get(`${at}.MessageAttributes.entry.${j}.Name`)!;
          attributes[name] = form.get(`${at}.MessageAttributes.entry.${j}.Value.StringValue`)!;
        }
        entries.push({
          id: form.get(`${at}.Id`)!,
          alert: JSON.parse(form.get(`${at}.Message`)!) as Alert,
          attributes,
        });
      }
      const answer = this.answer;
      res.setHeader("content-type", "text/xml");
      if ("error" in answer) {
        const { status, code, type } = answer.error;
        res
          .writeHead(status)
          .end(
            `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type><Code>${code}</Code><Message>no</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
          );
        return;
      }
      const ok: string[] = [];
      const failed: string[] = [];
      for (const entry of entries) {
        const fate = answer.entries(entry);
        if (fate === "ok") {
          this.published.push(entry);
          ok.push(
            `<member><Id>${entry.id}</Id><MessageId>m-${entry.alert.id}</MessageId></member>`,
          );
        } else {
          failed.push(
            `<member><Id>${entry.id}</Id><Code>${fate.code}</Code><Message>no</Message><SenderFault>${fate.senderFault}</SenderFault></member>`,
          );
        }
      }
      res
        .writeHead(200)
        .end(
          `<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult><Successful>${ok.join("")}</Successful><Failed>${failed.join("")}</Failed></PublishBatchResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishBatchResponse>`,
        );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    this.server = server;
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

const TOPIC = "arn:aws:sns:us-east-1:123456789012:fraud-alerts-pr42";

describe("SNS delivery", () => {
  const sns = new FakeSns();
  let client: SNSClient;
  before(async () => {
    await sns.start();
    client = new SNSClient({
      region: "us-east-1",
      endpoint: sns.endpoint,
      credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
      // The outbox retries, with its own backoff; one SDK attempt keeps the tests exact.
      maxAttempts: 1,
    });
  });
  after(async () => {
    client.destroy();
    await sns.stop();
  });

  test("REL-6 PRC-5 alerts are published ten per PublishBatch, each message the alert as JSON with its id, merchant and rule as attributes", async () => {
    sns.answer = { entries: () => "ok" };
    const channel = snsChannel(client, TOPIC);
    assert.equal(channel.maxBatch, 10);
    const sent = Array.from({ length: 3 }, () =>
      sampleAlert({ rule: "velocity-card-10m", action: "block", score: 90 }),
    );
    const result = await channel.send(sent, AbortSignal.timeout(5000));
    assert.deepEqual(result, {
      kind: "each",
      outcomes: [{ kind: "delivered" }, { kind: "delivered" }, { kind: "delivered" }],
    });
    assert.deepEqual(
      sns.published.slice(-3).map((e) => e.alert),
      sent,
    );
    assert.deepEqual(sns.published.at(-1)?.attributes, {
      alertId: sent[2]!.id,
      merchantId: "japancart",
      rule: "velocity-card-10m",
    });
  });

  test("REL-6 each entry has its own answer: one SNS blames on the sender is refused, any other failure is retried", async () => {
    const sent = Array.from({ length: 3 }, () =>
      sampleAlert({ rule: "velocity-card-10m", action: "block", score: 90 }),
    );
    sns.answer = {
      entries: (e) =>
        e.alert.id === sent[0]!.id
          ? { code: "InvalidParameter", senderFault: true }
          : e.alert.id === sent[1]!.id
            ? { code: "InternalError", senderFault: false }
            : "ok",
    };
    const result = await snsChannel(client, TOPIC).send(sent, AbortSignal.timeout(5000));
    assert.deepEqual(result, {
      kind: "each",
      outcomes: [
        { kind: "refused", reason: "SNS InvalidParameter" },
        { kind: "failed", reason: "SNS InternalError" },
        { kind: "delivered" },
      ],
    });
  });

  test("REL-6 a whole request refused for its content is a refusal; throttling, a missing permission or topic are retried", async () => {
    const channel = snsChannel(client, TOPIC);
    const cases: [SnsAnswer, string][] = [
      [{ error: { status: 400, code: "InvalidParameter", type: "Sender" } }, "refused"],
      [{ error: { status: 400, code: "Throttled", type: "Sender" } }, "failed"],
      [{ error: { status: 403, code: "AuthorizationError", type: "Sender" } }, "failed"],
      [{ error: { status: 404, code: "NotFound", type: "Sender" } }, "failed"],
      [{ error: { status: 500, code: "InternalError", type: "Receiver" } }, "failed"],
    ];
    for (const [answer, kind] of cases) {
      sns.answer = answer;
      const result = await channel.send(
        [sampleAlert({ rule: "velocity-card-10m", action: "block", score: 90 })],
        AbortSignal.timeout(5000),
      );
      assert.equal(result.kind, kind, JSON.stringify(answer));
      assert.match((result as { reason: string }).reason, /^SNS[: ]/);
    }
  });

  test("REL-6 through the outbox: an entry SNS refuses is dead-lettered, one it failed is published on a later attempt, none lost", async () => {
    const db = await PGlite.create();
    const ledger = new SqlLedger(pgliteSqlClient(db));
    const { log } = logSink("info");
    const metrics = createMetrics();
    try {
      await ledger.migrate();
      const raised = await raise(ledger, 25);
      const poison = raised[4]!.id;
      const flaky = raised[12]!.id;
      let flakyTries = 0;
      sns.answer = {
        entries: (e) => {
          if (e.alert.id === poison) return { code: "InvalidParameter", senderFault: true };
          if (e.alert.id === flaky && flakyTries++ < 2) {
            return { code: "InternalError", senderFault: false };
          }
          return "ok";
        },
      };
      const before = sns.published.length;
      const outbox = await startAlertOutbox({
        ledger,
        channels: [snsChannel(client, TOPIC, { timeoutMs: 1000 })],
        log,
        metrics,
        pollMs: 100,
        leaseMs: 4000,
        backoff: { baseMs: 50, maxMs: 200 },
      });
      try {
        // The migration put the SNS cursor at the tail of an empty ledger: all 25 are due.
        await until(
          async () => (await ledger.alertChannelState("sns"))?.undelivered === 0,
          8000,
          "the SNS channel caught up",
        );
      } finally {
        await outbox.stop();
      }
      const published = [...new Set(sns.published.slice(before).map((e) => e.alert.id))];
      assert.deepEqual(
        published.sort((a, b) => Number(a) - Number(b)),
        raised.map((a) => a.id).filter((id) => id !== poison),
      );
      const dead = await ledger.listAlertDeadLetters("sns", 10);
      assert.deepEqual(
        dead.map((d) => [d.alertId, d.reason]),
        [[poison, "SNS InvalidParameter"]],
      );
      assert.equal(flakyTries, 3);
    } finally {
      await ledger.close();
    }
  });
});
