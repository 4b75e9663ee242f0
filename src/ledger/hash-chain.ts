import { createHash } from "node:crypto";

/** prev_hash of the first row: there is nothing before it. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * Everything a ledger row's hash covers: the row's columns, the stored transaction and its
 * decision (kept in another table, so changing a decision breaks the chain too), and the
 * previous row's hash (so removing or reordering rows breaks it). Instants are ISO 8601 UTC
 * with milliseconds, exactly as the ledger writes and reads them; amount is its decimal text.
 */
export interface ChainRow {
  seq: string;
  prevHash: string;
  merchantId: string;
  transactionId: string;
  customerId: string;
  occurredAt: string;
  receivedAt: string;
  recordedAt: string;
  amount: string;
  currency: string;
  tx: unknown;
  decision: {
    action: string;
    score: number;
    reasons: unknown;
    rulesetVersion: string;
    decidedAt: string;
  };
}

/**
 * JSON with object keys sorted at every level. jsonb does not keep key order (nor does
 * anything that rebuilds the object), so hashing plain JSON.stringify output would not
 * survive a round trip through the database; sorted keys make the text a function of the
 * values alone. Undefined object members are omitted, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new Error(`cannot hash the non-finite number ${value}`);
      return JSON.stringify(value);
    case "object": {
      // Built by concatenation: this runs for every row of every commit, on the event loop.
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          out += (i === 0 ? "" : ",") + (item === undefined ? "null" : canonicalJson(item));
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      let out = "{";
      for (const key of Object.keys(record).sort()) {
        const member = record[key];
        if (member === undefined) continue;
        out += `${out === "{" ? "" : ","}${JSON.stringify(key)}:${canonicalJson(member)}`;
      }
      return `${out}}`;
    }
    default:
      throw new Error(`cannot hash a value of type ${typeof value}`);
  }
}

/** The row's hash: SHA-256 (hex) of a versioned canonical serialization. */
export function rowHash(row: ChainRow): string {
  return createHash("sha256")
    .update(canonicalJson({ v: 1, ...row }))
    .digest("hex");
}

/** One chain's head as a checkpoint records it. */
export interface CheckpointHead {
  chain: number;
  seq: string;
  hash: string;
}

/**
 * Everything a checkpoint's hash covers: its place (id, consecutive), when it was taken, every
 * chain's head ordered by chain, and the previous checkpoint's hash (genesis for the first).
 */
export interface Checkpoint {
  id: string;
  createdAt: string;
  prevHash: string;
  heads: CheckpointHead[];
}

/** The checkpoint's hash: SHA-256 (hex); `kind` keeps it from ever equalling a row's hash. */
export function checkpointHash(checkpoint: Checkpoint): string {
  return createHash("sha256")
    .update(canonicalJson({ v: 1, kind: "checkpoint", ...checkpoint }))
    .digest("hex");
}
