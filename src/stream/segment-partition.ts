import { mkdirSync, readdirSync, readFileSync, truncateSync, unlinkSync } from "node:fs";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { decodeFrames, encodeFrames, type FrameInput } from "./log-frame.ts";
import type { LogEntry, PartitionLog, Position } from "./log-partition.ts";
import { formatSequence, parseSequence } from "./partition.ts";

const SEGMENT_FILE = /^(\d{20})\.seg$/;
const CHECKPOINT_FILE = "checkpoint.json";
/** Bytes read per consumer batch; a larger single frame is read whole. */
const READ_CHUNK_BYTES = 1024 * 1024;

interface Segment {
  /** Sequence number of its first record; also its file name. */
  base: number;
  /** Bytes known durable; readers never look past them. */
  size: number;
}

interface Checkpoint {
  seq: string;
  segment: string;
  offset: number;
}

/**
 * A durable partition: append-only segment files (fdatasync before append resolves) plus a
 * checkpoint file of the consumer's committed position, replaced atomically (write, sync, rename).
 * Segments wholly before the checkpoint are deleted, so disk use follows the consumer's lag.
 * Opening recovers synchronously: it truncates a torn tail (a put that never resolved, so was
 * never acknowledged) and counts what is left to consume.
 */
export class SegmentPartition implements PartitionLog {
  private segments: Segment[] = [];
  private writer: { base: number; handle: FileHandle } | undefined;
  private reader: { base: number; handle: FileHandle } | undefined;
  private committedAt: Position;
  private appended = 0;
  private committedCount = 0;
  private broken: Error | undefined;
  /** Lowest sequence number this partition can still safely hand out. */
  readonly seqFloor: number;

  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
  ) {
    mkdirSync(dir, { recursive: true });
    const checkpoint = readCheckpoint(join(dir, CHECKPOINT_FILE));
    this.committedAt = checkpoint
      ? { segment: parseSequence(checkpoint.segment), offset: checkpoint.offset }
      : { segment: 0, offset: 0 };
    let lastSeq = checkpoint ? parseSequence(checkpoint.seq) : -1;
    const bases = readdirSync(dir)
      .map((name) => SEGMENT_FILE.exec(name)?.[1])
      .filter((base): base is string => base !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const [i, base] of bases.entries()) {
      const path = this.segmentPath(base);
      // Left over from a crash between writing the checkpoint and deleting consumed segments.
      if (base < this.committedAt.segment) {
        unlinkSync(path);
        continue;
      }
      const bytes = readFileSync(path);
      const start = base === this.committedAt.segment ? this.committedAt.offset : 0;
      if (start > bytes.length) throw new Error(`${path} is shorter than its checkpoint`);
      const scan = decodeFrames(bytes.subarray(start), start, Number.POSITIVE_INFINITY);
      let size = bytes.length;
      if (scan.stop !== "end") {
        if (i !== bases.length - 1) {
          throw new Error(`${path} is corrupt at byte ${start + scan.consumed}`);
        }
        size = start + scan.consumed;
        truncateSync(path, size);
      }
      this.appended += scan.frames.length;
      lastSeq = Math.max(lastSeq, scan.frames.at(-1)?.seq ?? -1);
      this.segments.push({ base, size });
    }
    this.seqFloor = Math.max(lastSeq + 1, this.segments.at(-1)?.base ?? 0);
  }

  async append(entries: readonly FrameInput[]): Promise<void> {
    if (this.broken) throw this.broken;
    const first = entries[0];
    if (first === undefined) return;
    const frames = encodeFrames(entries);
    const { handle, segment } = await this.writerFor(first.seq);
    const before = segment.size;
    try {
      for (let written = 0; written < frames.length; ) {
        written += (await handle.write(frames, written, frames.length - written)).bytesWritten;
      }
      await handle.datasync();
    } catch (error) {
      // Cut the partial write off so later appends do not follow garbage.
      await handle.truncate(before).catch((cause: unknown) => {
        this.broken = new Error(`${this.dir}: cannot undo a failed append`, { cause });
      });
      throw error;
    }
    segment.size = before + frames.length;
    this.appended += entries.length;
  }

  async read(from: Position, max: number): Promise<LogEntry[]> {
    let index = this.segments.findIndex((s) => s.base >= from.segment);
    let segment = this.segments[index];
    if (segment === undefined) return [];
    let offset = segment.base === from.segment ? from.offset : 0;
    while (offset >= segment.size) {
      const following = this.segments[++index];
      if (following === undefined) return [];
      segment = following;
      offset = 0;
    }
    const handle = await this.readerFor(segment.base);
    const available = segment.size - offset;
    let decoded = decodeFrames(
      await readAt(handle, offset, Math.min(available, READ_CHUNK_BYTES)),
      offset,
      max,
    );
    if (decoded.frames.length === 0 && decoded.stop === "partial") {
      const frameBytes = 8 + (await readAt(handle, offset, 8)).readUInt32BE(0);
      decoded = decodeFrames(
        await readAt(handle, offset, Math.min(available, frameBytes)),
        offset,
        max,
      );
    }
    if (decoded.frames.length === 0) {
      throw new Error(`${this.segmentPath(segment.base)} is corrupt at byte ${offset}`);
    }
    const base = segment.base;
    return decoded.frames.map(({ seq, partitionKey, data, start, end }) => ({
      seq,
      partitionKey,
      data,
      at: { segment: base, offset: start },
      next: { segment: base, offset: end },
    }));
  }

  async commit(upTo: Position, seq: number, count: number): Promise<void> {
    let at = upTo;
    const index = this.segments.findIndex((s) => s.base === upTo.segment);
    const following = this.segments[index + 1];
    // The end of a finished segment is the start of the next: lets the finished one go now.
    if (index >= 0 && following && upTo.offset >= this.segments[index]!.size) {
      at = { segment: following.base, offset: 0 };
    }
    this.committedAt = at;
    this.committedCount += count;
    const checkpoint: Checkpoint = {
      seq: formatSequence(seq),
      segment: formatSequence(at.segment),
      offset: at.offset,
    };
    await writeAtomically(join(this.dir, CHECKPOINT_FILE), JSON.stringify(checkpoint));
    const consumed = this.segments.filter((s) => s.base < at.segment);
    this.segments = this.segments.filter((s) => s.base >= at.segment);
    for (const segment of consumed) {
      // Taken before the await: checkpoints are written while the consumer reads on.
      const reader = this.reader;
      if (reader?.base === segment.base) {
        this.reader = undefined;
        await reader.handle.close();
      }
      await unlink(this.segmentPath(segment.base));
    }
  }

  committed(): Position {
    return this.committedAt;
  }

  pending(): number {
    return this.appended - this.committedCount;
  }

  async close(): Promise<void> {
    await this.writer?.handle.close();
    await this.reader?.handle.close();
    this.writer = undefined;
    this.reader = undefined;
  }

  /** The open last segment, rolling to a new one named `firstSeq` when it is full. */
  private async writerFor(firstSeq: number): Promise<{ handle: FileHandle; segment: Segment }> {
    const last = this.segments.at(-1);
    if (last && last.size < this.segmentBytes) {
      if (this.writer?.base !== last.base) {
        await this.writer?.handle.close();
        this.writer = { base: last.base, handle: await open(this.segmentPath(last.base), "a") };
      }
      return { handle: this.writer.handle, segment: last };
    }
    await this.writer?.handle.close();
    this.writer = undefined;
    const handle = await open(this.segmentPath(firstSeq), "a");
    // The new file's directory entry must survive a crash too, or its records vanish with it.
    await syncDirectory(this.dir);
    const segment = { base: firstSeq, size: 0 };
    this.segments.push(segment);
    this.writer = { base: firstSeq, handle };
    return { handle, segment };
  }

  private async readerFor(base: number): Promise<FileHandle> {
    const current = this.reader;
    if (current?.base === base) return current.handle;
    // Let go of the old handle before any await, so a concurrent commit cannot close it twice.
    this.reader = undefined;
    await current?.handle.close();
    const handle = await open(this.segmentPath(base), "r");
    this.reader = { base, handle };
    return handle;
  }

  private segmentPath(base: number): string {
    return join(this.dir, `${formatSequence(base)}.seg`);
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

function readCheckpoint(path: string): Checkpoint | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<Checkpoint>;
  if (
    typeof parsed.seq !== "string" ||
    typeof parsed.segment !== "string" ||
    typeof parsed.offset !== "number"
  ) {
    throw new Error(`${path} is not a stream checkpoint`);
  }
  return { seq: parsed.seq, segment: parsed.segment, offset: parsed.offset };
}

/** Readers see the old file or the new one, never a half-written one (rename is atomic). */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
