import { connect, createServer, type Server, type Socket } from "node:net";
import { Redis } from "ioredis";
import { listenLoopback } from "../support/loopback.ts";
import { REDIS_URL } from "../support/services.ts";

/**
 * A client of the test Redis whose every command goes through a proxy of its own, connected:
 * the proxy counts that client's commands and round trips. The caller quits the client and
 * closes the proxy.
 */
export async function proxiedRedis(): Promise<{ proxy: RespProxy; redis: Redis }> {
  const { hostname, port, username, password } = new URL(REDIS_URL);
  const proxy = new RespProxy({
    host: hostname.replace(/^\[|\]$/g, ""),
    port: Number(port || 6379),
  });
  const proxyPort = await proxy.listen();
  const redis = new Redis({
    host: "127.0.0.1",
    port: proxyPort,
    ...(username !== "" && { username: decodeURIComponent(username) }),
    ...(password !== "" && { password: decodeURIComponent(password) }),
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    await proxy.close();
    throw error;
  }
  return { proxy, redis };
}

/**
 * A TCP proxy in front of Redis that sees exactly one client's traffic, so the tests can count
 * that client's commands and round trips (INFO commandstats is server-wide and other test files
 * use the same Redis concurrently).
 *
 * A round trip starts each time the client sends after it last received a reply. Replies are
 * held back `replyDelayMs`, so every byte of a pipeline reaches the proxy before any reply goes
 * back: a pipeline can only count as one round trip, and N sequential calls as N.
 */
export class RespProxy {
  commands: string[] = [];
  roundTrips = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private repliedSinceLastSend = true;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly replyDelayMs = 20,
  ) {}

  async listen(): Promise<number> {
    const server = createServer((client) => this.pipe(client));
    this.server = server;
    return listenLoopback(server);
  }

  reset(): void {
    this.commands = [];
    this.roundTrips = 0;
    this.repliedSinceLastSend = true;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(client).add(upstream);
    let pending: Buffer = Buffer.alloc(0);
    client.on("data", (chunk: Buffer) => {
      if (this.repliedSinceLastSend) this.roundTrips++;
      this.repliedSinceLastSend = false;
      pending = this.parse(Buffer.concat([pending, chunk]));
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      setTimeout(() => {
        this.repliedSinceLastSend = true;
        if (!client.destroyed) client.write(chunk);
      }, this.replyDelayMs);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    // Replies are still on their way (delayed): close the client only after the last one.
    const endLater = () => setTimeout(end, this.replyDelayMs + 5);
    upstream.on("close", endLater).on("error", endLater);
  }

  /** Records the name of every complete RESP request (`*N` of `$len` bulk strings); keeps the rest. */
  private parse(buf: Buffer): Buffer {
    let pos = 0;
    for (;;) {
      const start = pos;
      const header = readLine(buf, pos);
      if (header === null) return buf.subarray(start);
      if (header.line[0] !== "*") throw new Error(`not a RESP request: ${header.line}`);
      const n = Number(header.line.slice(1));
      pos = header.next;
      let name: string | null = null;
      for (let i = 0; i < n; i++) {
        const len = readLine(buf, pos);
        if (len === null || len.next + Number(len.line.slice(1)) + 2 > buf.length)
          return buf.subarray(start);
        const size = Number(len.line.slice(1));
        if (i === 0) name = buf.toString("utf8", len.next, len.next + size).toLowerCase();
        pos = len.next + size + 2;
      }
      if (name !== null) this.commands.push(name);
    }
  }
}

function readLine(buf: Buffer, pos: number): { line: string; next: number } | null {
  const end = buf.indexOf("\r\n", pos);
  return end === -1 ? null : { line: buf.toString("utf8", pos, end), next: end + 2 };
}
