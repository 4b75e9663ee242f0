import { Agent, request } from "node:http";

/** The counts a batch POST /v1/transactions answers with. */
export interface BatchAnswer {
  accepted: number;
  duplicate: number;
  rejected: number;
}

/**
 * Posts pre-serialised batches over keep-alive sockets with node:http, which costs the load
 * generator far less CPU than fetch: on two cores, every cycle it spends is the monitor's loss.
 */
export class IngestClient {
  private readonly agent: Agent;
  private readonly target: URL;

  constructor(
    url: string,
    private readonly key: string,
    sockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets });
    this.target = new URL("/v1/transactions", url);
  }

  post(body: Buffer): Promise<BatchAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(
        this.target,
        {
          method: "POST",
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.key}`,
            "content-type": "application/json",
            "content-length": body.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 202) {
              reject(new Error(`ingest answered ${res.statusCode}: ${text.slice(0, 300)}`));
              return;
            }
            const { accepted, duplicate, rejected } = JSON.parse(text) as BatchAnswer;
            resolve({ accepted, duplicate, rejected });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function batchBody(transactions: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ transactions }));
}

/** Sends every body, `concurrency` requests at a time, each sender waiting for its answer. */
export async function sendAll(
  client: IngestClient,
  bodies: Buffer[],
  concurrency: number,
): Promise<BatchAnswer> {
  const total: BatchAnswer = { accepted: 0, duplicate: 0, rejected: 0 };
  let next = 0;
  const sender = async () => {
    while (next < bodies.length) {
      const answer = await client.post(bodies[next++]!);
      total.accepted += answer.accepted;
      total.duplicate += answer.duplicate;
      total.rejected += answer.rejected;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  return total;
}

/**
 * Offers `ratePerSecond` transactions for `seconds`, in batches of `batchSize` sent on a fixed
 * schedule whatever the answers (an open loop: a slow monitor is not offered less). A batch is
 * built when it is due, so its transactions occur when they are sent.
 */
export async function offerSteadily(
  client: IngestClient,
  options: { ratePerSecond: number; seconds: number; batchSize: number },
  makeBatch: (size: number) => Buffer,
): Promise<BatchAnswer & { lateMs: number }> {
  const intervalMs = (1000 * options.batchSize) / options.ratePerSecond;
  const batches = Math.round((options.ratePerSecond * options.seconds) / options.batchSize);
  const total: BatchAnswer = { accepted: 0, duplicate: 0, rejected: 0 };
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  let lateMs = 0;
  for (let i = 0; i < batches; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else lateMs = Math.max(lateMs, -wait);
    inFlight.push(
      client.post(makeBatch(options.batchSize)).then((answer) => {
        total.accepted += answer.accepted;
        total.duplicate += answer.duplicate;
        total.rejected += answer.rejected;
      }),
    );
  }
  await Promise.all(inFlight);
  return { ...total, lateMs: Math.round(lateMs) };
}
