/**
 * Stable partition for a key: FNV-1a over the UTF-8 bytes, then a murmur3 finalizer so the low
 * bits used by `% partitions` are well mixed. Stable across processes and Node versions, which a
 * restart needs: a customer's pending records and its new ones must land in the same partition.
 */
export function partitionOf(partitionKey: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(partitionKey, "utf8")) {
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % partitions;
}

const SEQUENCE_DIGITS = 20;

/** Zero-padded so that string order is numeric order (file names, logs, ledger rows). */
export function formatSequence(seq: number): string {
  return String(seq).padStart(SEQUENCE_DIGITS, "0");
}

export function parseSequence(text: string): number {
  if (!/^\d{1,20}$/.test(text)) throw new Error(`not a local stream sequence number: ${text}`);
  return Number(text);
}
