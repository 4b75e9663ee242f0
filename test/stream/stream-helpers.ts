import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { ConsumedRecord, StreamRecord } from "../../src/stream/types.ts";

/** A record of customer `customerId`; `n` is its position in that customer's own order. */
export function txRecord(customerId: string, n: number, padBytes = 0): StreamRecord {
  const body = { customerId, n, pad: "x".repeat(padBytes) };
  return { partitionKey: customerId, data: Buffer.from(JSON.stringify(body)) };
}

export interface Decoded {
  customerId: string;
  n: number;
  sequenceNumber: string;
  partitionKey: string;
}

export function decode(record: ConsumedRecord): Decoded {
  const body = JSON.parse(record.data.toString("utf8")) as { customerId: string; n: number };
  return {
    customerId: body.customerId,
    n: body.n,
    sequenceNumber: record.sequenceNumber,
    partitionKey: record.partitionKey,
  };
}

/** `n`s in delivery order per customer. */
export function orderByCustomer(records: readonly Decoded[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of records) out.set(r.customerId, [...(out.get(r.customerId) ?? []), r.n]);
  return out;
}

export function range(length: number, from = 0): number[] {
  return Array.from({ length }, (_, i) => from + i);
}

export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A fresh directory, removed after the test. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-stream-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A promise the test resolves by hand: holds a handler "in flight". */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

export const OK = { batchItemFailures: [] };
