import { sleep } from "../support/wait.ts";

/**
 * The load of the fault suite (REL-1): a merchant's client that behaves as the contract asks
 * (API.md). It sends batches of transactions and records every answer per transaction id; a
 * request that got no answer, a 5xx, a 429 or a 409 (whole or per item) is retried, same ids,
 * same bodies, until each id has a definitive answer, `accepted` or `duplicate`. Any other
 * answer is final and recorded as `refused`: an honest client does not retry a 4xx.
 */

export type Final = "accepted" | "duplicate" | "refused";

export interface ItemAnswer {
  /** When the answer arrived (ms since the epoch). */
  at: number;
  /** The request it came with. */
  request: number;
  /** HTTP status of the request, or 0 when it got no answer. */
  http: number;
  /** The item's status in a 202, or undefined (no answer, or a whole-request error). */
  status?: string;
  /** The error code: the item's, or the whole request's. */
  code?: string;
  /** The item's `deduplication` field (REL-3: "deferred" while a store is down). */
  deduplication?: string;
}

export interface RequestRecord {
  id: number;
  sentAt: number;
  answeredAt?: number;
  /** HTTP status, 0 for no answer (refused connection, reset, timeout). */
  http?: number;
  /** Why there was no answer. */
  error?: string;
  ids: string[];
  /** Per-item statuses of a 202 (accepted, duplicate, rejected:CODE), in order. */
  items?: string[];
  /** Per-item deduplication fields of a 202, in order. */
  deduplication?: (string | undefined)[];
}

export interface ClientOptions {
  /** The monitor's base URL; read on every request. */
  url: () => string;
  apiKey: string;
  /** Transactions per POST. @default 25 */
  batchSize?: number;
  /** Requests in flight at once. @default 3 */
  concurrency?: number;
  /** Pause before a retried id is sent again. @default 200 */
  retryDelayMs?: number;
  /** Per request; a request not answered in time counts as no answer. @default 10000 */
  requestTimeoutMs?: number;
}

interface ItemResult {
  transactionId?: string;
  status: string;
  error?: { code?: string };
  deduplication?: string;
}

export class HonestClient {
  /** Every answer, per id, in order. */
  readonly answers = new Map<string, ItemAnswer[]>();
  /** The definitive answer per id. */
  readonly final = new Map<string, Final>();
  /** First time each id was sent. */
  readonly firstSent = new Map<string, number>();
  readonly requests: RequestRecord[] = [];
  /** Ids ever answered `accepted` (some later answered `duplicate` on a retry). */
  readonly acceptedIds = new Set<string>();

  private readonly bodies = new Map<string, Record<string, unknown>>();
  private readonly fresh: string[] = [];
  private readonly retry: { id: string; due: number }[] = [];
  private readonly inFlight = new Map<number, RequestRecord>();
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private readonly requestTimeoutMs: number;
  private running = true;
  private readonly workers: Promise<void>[];
  private nextRequest = 1;

  constructor(private readonly options: ClientOptions) {
    this.batchSize = options.batchSize ?? 25;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.workers = Array.from({ length: options.concurrency ?? 3 }, () => this.work());
  }

  /** Queues transactions to send (each id once; a queued id is never queued again). */
  submit(...txs: Record<string, unknown>[]): void {
    for (const tx of txs) {
      const id = tx.transactionId as string;
      if (this.bodies.has(id)) throw new Error(`${id} submitted twice`);
      this.bodies.set(id, tx);
      this.fresh.push(id);
    }
  }

  get sent(): string[] {
    return [...this.bodies.keys()];
  }

  /** Ids without a definitive answer yet. */
  open(): string[] {
    return this.sent.filter((id) => !this.final.has(id));
  }

  /** The ids of requests sent and not answered yet (what a kill -9 cuts off). */
  inFlightIds(): string[] {
    return [...this.inFlight.values()].flatMap((r) => r.ids);
  }

  /** Resolves once every submitted id has a definitive answer, or false after `timeoutMs`. */
  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.open().length > 0) {
      if (Date.now() > deadline) return false;
      await sleep(50);
    }
    return true;
  }

  /** Stops sending; resolves when the requests in flight have ended. */
  async close(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private take(): string[] {
    const now = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < this.retry.length && ids.length < this.batchSize; ) {
      const entry = this.retry[i]!;
      if (entry.due <= now) {
        this.retry.splice(i, 1);
        if (!this.final.has(entry.id)) ids.push(entry.id);
      } else i++;
    }
    while (ids.length < this.batchSize && this.fresh.length > 0) ids.push(this.fresh.shift()!);
    return ids;
  }

  private again(ids: string[]): void {
    const due = Date.now() + this.retryDelayMs;
    for (const id of ids) this.retry.push({ id, due });
  }

  private record(id: string, answer: ItemAnswer): void {
    let list = this.answers.get(id);
    if (list === undefined) {
      list = [];
      this.answers.set(id, list);
    }
    list.push(answer);
  }

  private async work(): Promise<void> {
    while (this.running) {
      const ids = this.take();
      if (ids.length === 0) {
        await sleep(20);
        continue;
      }
      await this.send(ids);
    }
  }

  private async send(ids: string[]): Promise<void> {
    const request: RequestRecord = { id: this.nextRequest++, sentAt: Date.now(), ids };
    for (const id of ids) if (!this.firstSent.has(id)) this.firstSent.set(id, request.sentAt);
    this.requests.push(request);
    this.inFlight.set(request.id, request);
    let http = 0;
    let body: unknown;
    try {
      const res = await fetch(`${this.options.url()}/v1/transactions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ transactions: ids.map((id) => this.bodies.get(id)) }),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
      http = res.status;
      const text = await res.text();
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      request.error = cause?.code ?? (error as Error).name;
      http = 0;
    }
    const at = Date.now();
    this.inFlight.delete(request.id);
    request.answeredAt = at;
    request.http = http;
    if (http === 202 && Array.isArray((body as { results?: unknown })?.results)) {
      const results = (body as { results: ItemResult[] }).results;
      request.items = [];
      request.deduplication = [];
      const retry: string[] = [];
      ids.forEach((id, i) => {
        const item = results[i];
        const code = item?.error?.code;
        request.items!.push(code === undefined ? String(item?.status) : `${item?.status}:${code}`);
        request.deduplication!.push(item?.deduplication);
        this.record(id, {
          at,
          request: request.id,
          http,
          ...(item?.status !== undefined && { status: item.status }),
          ...(code !== undefined && { code }),
          ...(item?.deduplication !== undefined && { deduplication: item.deduplication }),
        });
        if (this.final.has(id)) return; // an answer to a retry sent before the first arrived
        if (item?.status === "accepted" || item?.status === "duplicate") {
          if (item.status === "accepted") this.acceptedIds.add(id);
          this.final.set(id, item.status);
        } else if (
          item?.status === "rejected" &&
          (code === "TXW_ERR_CONFLICT" || code === "TXW_ERR_UNAVAILABLE")
        ) {
          retry.push(id);
        } else this.final.set(id, "refused");
      });
      // Late answers for ids already final still count as accepted when they say so.
      ids.forEach((id, i) => {
        if (results[i]?.status === "accepted") this.acceptedIds.add(id);
      });
      if (retry.length > 0) this.again(retry);
      return;
    }
    const code = (body as { error?: { code?: string } } | undefined)?.error?.code;
    for (const id of ids) {
      this.record(id, { at, request: request.id, http, ...(code !== undefined && { code }) });
    }
    const open = ids.filter((id) => !this.final.has(id));
    if (http === 0 || http >= 500 || http === 429 || http === 409) this.again(open);
    else for (const id of open) this.final.set(id, "refused");
  }
}
