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
 * built when it is due, so its transactions occur when they are sent. answerMs: how long the
 * API took to answer the requests (acceptance, not the decision).
 */
export async function offerSteadily(
  client: IngestClient,
  options: { ratePerSecond: number; seconds: number; batchSize: number },
  makeBatch: (size: number) => Buffer,
): Promise<BatchAnswer & { lateMs: number; answerMs: Percentiles }> {
  const intervalMs = (1000 * options.batchSize) / options.ratePerSecond;
  const batches = Math.round((options.ratePerSecond * options.seconds) / options.batchSize);
  const total: BatchAnswer = { accepted: 0, duplicate: 0, rejected: 0 };
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  let lateMs = 0;
  const answerMs: number[] = [];
  for (let i = 0; i < batches; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else lateMs = Math.max(lateMs, -wait);
    const body = makeBatch(options.batchSize);
    const sent = performance.now();
    inFlight.push(
      client.post(body).then((answer) => {
        answerMs.push(performance.now() - sent);
        total.accepted += answer.accepted;
        total.duplicate += answer.duplicate;
        total.rejected += answer.rejected;
      }),
    );
  }
  await Promise.all(inFlight);
  return { ...total, lateMs: Math.round(lateMs), answerMs: percentiles(answerMs) };
}

/** Nearest-rank percentiles of a phase's request latencies, in ms (one decimal). */
export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (rank: number) =>
    Number(sorted[Math.max(0, Math.ceil((rank / 100) * sorted.length) - 1)]!.toFixed(1));
  return { count: sorted.length, p50: at(50), p99: at(99), max: at(100) };
}

/** What the probes of a phase saw: all of them, and per path. */
export interface ProbeReport {
  all: Percentiles;
  byPath: Record<string, Percentiles>;
  /** Answers other than 200, and requests that failed. */
  failures: number;
}

/**
 * Requests other than the load, answered while it runs: GETs of `paths` in turn, one every
 * 1000 / perSecond ms on a fixed schedule (an open loop, on sockets of their own so they never
 * queue behind an ingest request), from now until `until` settles; then the latency of each,
 * from sending to the end of its answer.
 */
export async function probeWhile<T>(
  baseUrl: string,
  key: string,
  paths: readonly string[],
  perSecond: number,
  until: Promise<T>,
): Promise<{ result: T; probes: ProbeReport }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const latencies = new Map<string, number[]>(paths.map((path) => [path, []]));
  let failures = 0;
  let done = false;
  const finished = until.finally(() => {
    done = true;
  });
  const get = (path: string) =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const req = request(
        new URL(path, baseUrl),
        { method: "GET", agent, headers: { authorization: `Bearer ${key}` } },
        (res) => {
          res.resume();
          res.on("end", () => {
            latencies.get(path)!.push(performance.now() - sent);
            if (res.statusCode !== 200) failures++;
            resolve();
          });
          res.on("error", () => {
            failures++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        failures++;
        resolve();
      });
      req.end();
    });
  const inFlight: Promise<void>[] = [];
  const intervalMs = 1000 / perSecond;
  const started = performance.now();
  for (let i = 0; !done; i++) {
    const wait = started + i * intervalMs - performance.now();
    if (wait > 0)
      await Promise.race([new Promise((resolve) => setTimeout(resolve, wait)), finished]);
    if (done) break;
    inFlight.push(get(paths[i % paths.length]!));
  }
  const result = await finished;
  await Promise.all(inFlight);
  agent.destroy();
  const byPath: Record<string, Percentiles> = {};
  for (const [path, values] of latencies) byPath[path] = percentiles(values);
  return { result, probes: { all: percentiles([...latencies.values()].flat()), byPath, failures } };
}
