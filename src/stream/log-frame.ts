/**
 * On-disk record framing of the local log's segment files:
 *   u32 body length | u32 CRC-32 of body | body = u64 seq | u16 key bytes | key | data
 * The CRC lets recovery tell a torn tail (a put that never resolved) from good data.
 */

const HEADER_BYTES = 8;
const BODY_FIXED_BYTES = 10;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface FrameInput {
  seq: number;
  partitionKey: string;
  data: Buffer;
}

export interface Frame extends FrameInput {
  /** Byte offsets of the frame in its segment file. */
  start: number;
  end: number;
}

export function encodeFrames(entries: readonly FrameInput[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const key = Buffer.from(entry.partitionKey, "utf8");
    const body = Buffer.allocUnsafe(BODY_FIXED_BYTES + key.length + entry.data.length);
    body.writeBigUInt64BE(BigInt(entry.seq), 0);
    body.writeUInt16BE(key.length, 8);
    key.copy(body, BODY_FIXED_BYTES);
    entry.data.copy(body, BODY_FIXED_BYTES + key.length);
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32BE(body.length, 0);
    header.writeUInt32BE(crc32(body), 4);
    parts.push(header, body);
  }
  return Buffer.concat(parts);
}

export interface DecodeResult {
  frames: Frame[];
  /** Bytes of `buf` covered by the complete frames returned. */
  consumed: number;
  /**
   * Why decoding stopped: `end` (buffer used up or `max` reached), `partial` (the next frame is
   * cut off; `needed` is its full size when the header was readable) or `corrupt`.
   */
  stop: "end" | "partial" | "corrupt";
  needed?: number;
}

/** Decodes up to `max` frames from `buf`, which starts at byte `baseOffset` of its segment. */
export function decodeFrames(buf: Buffer, baseOffset: number, max: number): DecodeResult {
  const frames: Frame[] = [];
  let at = 0;
  while (frames.length < max && at < buf.length) {
    if (buf.length - at < HEADER_BYTES) return { frames, consumed: at, stop: "partial" };
    const bodyLength = buf.readUInt32BE(at);
    if (bodyLength < BODY_FIXED_BYTES) return { frames, consumed: at, stop: "corrupt" };
    const end = at + HEADER_BYTES + bodyLength;
    if (end > buf.length) {
      return { frames, consumed: at, stop: "partial", needed: HEADER_BYTES + bodyLength };
    }
    const body = buf.subarray(at + HEADER_BYTES, end);
    if (crc32(body) !== buf.readUInt32BE(at + 4)) return { frames, consumed: at, stop: "corrupt" };
    const keyLength = body.readUInt16BE(8);
    if (BODY_FIXED_BYTES + keyLength > body.length) {
      return { frames, consumed: at, stop: "corrupt" };
    }
    frames.push({
      seq: Number(body.readBigUInt64BE(0)),
      partitionKey: body.toString("utf8", BODY_FIXED_BYTES, BODY_FIXED_BYTES + keyLength),
      data: body.subarray(BODY_FIXED_BYTES + keyLength),
      start: baseOffset + at,
      end: baseOffset + end,
    });
    at = end;
  }
  return { frames, consumed: at, stop: "end" };
}
