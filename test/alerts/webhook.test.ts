import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { webhookPublisher } from "../../src/alerts/webhook.ts";
import type { Alert } from "../../src/ledger/types.ts";

const alert: Alert = {
  id: "1",
  merchantId: "japancart",
  transactionId: "tx-1",
  customerId: "cust-1",
  rule: "card-testing-card-10m",
  action: "review",
  score: 50,
  detail: "card made 6 transactions in 10m (limit 4)",
  status: "open",
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  notes: [],
};

/** PRC-5: alerts reach a webhook on a real local HTTP server, with bounded retries. */
describe("webhook publisher", () => {
  let server: Server;
  let url: string;
  const received: unknown[] = [];
  let failuresLeft = 0;
  let status = 204;
  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        if (failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(503).end();
          return;
        }
        received.push(JSON.parse(body));
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test("PRC-5 new alerts are POSTed as { alerts: [...] }, after transient failures", async () => {
    received.length = 0;
    failuresLeft = 2;
    await webhookPublisher({ url, attempts: 3 }).publish([alert]);
    assert.deepEqual(received, [{ alerts: [alert] }]);
  });

  test("PRC-5 a webhook that keeps failing is reported, not retried forever", async () => {
    received.length = 0;
    failuresLeft = 10;
    await assert.rejects(webhookPublisher({ url, attempts: 2 }).publish([alert]), /503/);
    failuresLeft = 0;
  });

  test("PRC-5 a 4xx is final: no retry", async () => {
    received.length = 0;
    status = 400;
    await assert.rejects(webhookPublisher({ url, attempts: 3 }).publish([alert]), /400/);
    assert.equal(received.length, 1, "sent once");
    status = 204;
  });
});
