import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PartitionLog } from "./log-partition.ts";
import { SegmentPartition } from "./segment-partition.ts";

const LAYOUT_FILE = "stream.json";

interface Layout {
  partitions: number;
  /** Sequence numbers below this were handed out before a re-layout; never reuse them. */
  seqFloor: number;
  /**
   * Random, made when the directory is first opened. Every directory counts sequence numbers
   * from 0, so two of them feeding one ledger (two data dirs, one DATABASE_URL) would name
   * different records alike; the id tells them apart.
   */
  instanceId: string;
}

export interface OpenedPartitions {
  logs: PartitionLog[];
  /** First sequence number to hand out: past everything ever written here. */
  nextSeq: number;
  instanceId: string;
}

function partitionDir(dir: string, partition: number): string {
  return join(dir, `p-${String(partition).padStart(3, "0")}`);
}

/** A layout written before instance ids existed has none: it gets one on this open. */
function readLayout(
  dir: string,
): (Omit<Layout, "instanceId"> & { instanceId?: string }) | undefined {
  const path = join(dir, LAYOUT_FILE);
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<Layout>;
  if (
    typeof parsed.partitions !== "number" ||
    typeof parsed.seqFloor !== "number" ||
    (parsed.instanceId !== undefined && typeof parsed.instanceId !== "string")
  ) {
    throw new Error(`${path} is not a stream layout`);
  }
  return {
    partitions: parsed.partitions,
    seqFloor: parsed.seqFloor,
    ...(parsed.instanceId !== undefined && { instanceId: parsed.instanceId }),
  };
}

export function newInstanceId(): string {
  return randomBytes(8).toString("hex");
}

function writeLayout(dir: string, layout: Layout): void {
  const path = join(dir, LAYOUT_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(layout));
  renameSync(`${path}.tmp`, path);
}

/**
 * Opens (recovering) the durable partitions under `dir`. The partition count is part of the
 * data: a key's pending records sit in hash % count, so a different count would reorder a
 * customer's records. A new count is therefore taken only once everything is consumed.
 */
export function openDurablePartitions(
  dir: string,
  partitions: number,
  segmentBytes: number,
): OpenedPartitions {
  mkdirSync(dir, { recursive: true });
  const layout = readLayout(dir);
  let seqFloor = layout?.seqFloor ?? 0;
  if (layout !== undefined && layout.partitions !== partitions) {
    const old = Array.from(
      { length: layout.partitions },
      (_, p) => new SegmentPartition(partitionDir(dir, p), segmentBytes),
    );
    const pending = old.reduce((sum, log) => sum + log.pending(), 0);
    if (pending > 0) {
      throw new Error(
        `${dir} holds ${pending} unconsumed records in ${layout.partitions} partitions; ` +
          `open it with ${layout.partitions} partitions until they are processed, then change`,
      );
    }
    seqFloor = Math.max(seqFloor, ...old.map((log) => log.seqFloor));
    for (let p = 0; p < layout.partitions; p++) {
      rmSync(partitionDir(dir, p), { recursive: true, force: true });
    }
  }
  const instanceId = layout?.instanceId ?? newInstanceId();
  if (layout?.partitions !== partitions || layout.instanceId === undefined) {
    writeLayout(dir, { partitions, seqFloor, instanceId });
  }
  const logs = Array.from(
    { length: partitions },
    (_, p) => new SegmentPartition(partitionDir(dir, p), segmentBytes),
  );
  return {
    logs,
    nextSeq: Math.max(seqFloor, ...logs.map((log) => log.seqFloor)),
    instanceId,
  };
}
