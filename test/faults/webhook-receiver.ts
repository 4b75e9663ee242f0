import { createServer, type Server } from "node:http";

/**
 * The alert receiver of scenario f: an HTTP server of the test's own on a loopback port, that
 * records every alert id it is sent (receivers dedupe by alert id) and can go down (connections
 * refused) and come back on the same port.
 */
export class WebhookReceiver {
  /** Alert id -> when each delivery of it arrived. */
  readonly received = new Map<string, number[]>();
  private server: Server | undefined;
  posts = 0;

  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/alerts`;
  }

  get up(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const at = Date.now();
        this.posts++;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
            alerts?: { id?: unknown }[];
          };
          for (const alert of body.alerts ?? []) {
            const id = String(alert.id);
            const list = this.received.get(id) ?? [];
            list.push(at);
            this.received.set(id, list);
          }
          res.writeHead(200, { "content-type": "application/json" }).end("{}");
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  /** Down: stops listening and cuts every open connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
