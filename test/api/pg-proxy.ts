import { connect, createServer, type Server, type Socket } from "node:net";
import { listenLoopback } from "../support/loopback.ts";

/**
 * A TCP proxy in front of the real PostgreSQL that can take it down, so tests see a genuine
 * outage (connections cut, new ones refused) at a chosen moment rather than a fake ledger.
 * `cutWhenSent(marker)` cuts everything as soon as a client sends SQL containing `marker`,
 * before PostgreSQL sees that query: an outage exactly between two queries of one request.
 */
export class PgProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private down = false;
  private marker: string | null = null;

  constructor(private readonly target: { host: string; port: number }) {}

  async listen(): Promise<number> {
    const server = createServer((client) => this.pipe(client));
    this.server = server;
    return listenLoopback(server);
  }

  /** Cuts every connection now and refuses new ones until `restore()`. */
  cut(): void {
    this.down = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  cutWhenSent(marker: string): void {
    this.marker = marker;
  }

  restore(): void {
    this.down = false;
    this.marker = null;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private pipe(client: Socket): void {
    if (this.down) {
      client.destroy();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(client).add(upstream);
    client.on("data", (chunk: Buffer) => {
      if (this.marker !== null && chunk.includes(this.marker)) {
        this.cut();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!client.destroyed) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  }
}
