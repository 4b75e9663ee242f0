import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Alert } from "../../src/ledger/types.ts";

/** How the receiver answers a request's alerts: a status, after an optional delay. */
export type Answer = (alerts: Alert[]) => number | { status: number; delayMs?: number };

/**
 * A real webhook receiver on a loopback port, for outbox tests (REL-6): it records every alert
 * it took (2xx) in arrival order, counts requests, and tracks how many were in flight at once.
 * It can go down for real (its port closed, connections cut) and come back on the same port.
 */
export class AlertReceiver {
  /** Alerts answered with a 2xx, in the order they arrived (redeliveries included). */
  readonly taken: Alert[] = [];
  requests = 0;
  inFlight = 0;
  maxInFlight = 0;
  answer: Answer = () => 204;
  private server: Server | null = null;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/txwatch?token=s3cret-token`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Closes the port and cuts every connection: connections are refused until start(). */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Distinct alert ids taken, in order of first arrival. */
  takenIds(): string[] {
    return [...new Set(this.taken.map((a) => a.id))];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      let text = "";
      for await (const chunk of req) text += chunk;
      const { alerts } = JSON.parse(text) as { alerts: Alert[] };
      const answer = this.answer(alerts);
      const { status, delayMs = 0 } = typeof answer === "number" ? { status: answer } : answer;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (status >= 200 && status < 300) this.taken.push(...alerts);
      res.writeHead(status).end();
    } finally {
      this.inFlight--;
    }
  }
}
