import { randomBytes } from "node:crypto";

/** How long an owner's liveness mark lives unrefreshed: its claims are taken over after it. */
export const OWNER_LIVENESS_MS = 3000;
/** How often a live owner refreshes its mark: OWNER_LIVENESS_MS lets two refreshes fail. */
export const OWNER_REFRESH_MS = 1000;

/** A fresh ClaimStore.ownerId: 72 random bits, URL-safe, no spaces. */
export function newOwnerId(): string {
  return randomBytes(9).toString("base64url");
}

/**
 * The ingest claims port (ING-1, REL-4): which request may put a transaction id on the stream,
 * and whether a put of it succeeded. A claim is a short string per merchant and transaction id
 * (claim-value.ts encodes it) with a time to live; the stores compare values, never read them,
 * except for the owner of an "accepting" claim (claimOwnerOf). Implementations: Redis (one
 * key per claim, one command per id, a request's ids in one round trip; one Redis or a Redis
 * Cluster, SCL-2) and in-memory (same semantics, for the embedded run).
 */
export interface ClaimStore {
  /**
   * This process's owner id (REL-4): random per start, no spaces. The store keeps it alive (a
   * short-lived liveness mark in the store, refreshed every second, dropped by close()) from
   * the first claimIds call on; a process that dies (kill -9) stops refreshing it, and its
   * claims can be taken over within seconds (OWNER_LIVENESS_MS).
   */
  readonly ownerId: string;
  /**
   * Claims each id for the merchant unless a claim exists, atomically per id (SET NX GET EX,
   * all ids in one round trip). Maps each id to null when this call claimed it, or to the value
   * of the claim already there: of concurrent calls for one id, exactly one claims it.
   *
   * Takeover (REL-4): a claim whose value is `accepting <receivedAt> <nonce> <owner>` (four
   * words) is held only while its owner is alive. If `owner` is not this store's ownerId and
   * that owner's liveness mark is gone, this call takes the claim over and maps the id to null.
   * The mark and the claim may sit in different hash slots (SCL-2), so the check and the
   * takeover are two steps: the mark is read, then the claim is taken by a compare-and-set that
   * succeeds only while it still holds exactly the value read (or none), so of several callers
   * one takes it, and an owner that marked it meanwhile keeps it; the others get what it holds
   * then. Claims of any other shape are held until they expire. The call also refreshes this
   * store's own liveness mark, in Redis before its claims, so a claim it makes is never taken
   * over while its maker lives.
   */
  claimIds(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
  ): Promise<Map<string, string | null>>;
  /**
   * Sets the value and ttl of the ids' claims (SET EX), which is how a put is marked accepted:
   * of all of them, claimed or not, or, with `ifHeld`, only of those whose claim still holds
   * `ifHeld` or has none (compare-and-set, atomic per id), so that a request whose claim was
   * taken over (REL-4) cannot overwrite the claim of the request that took it.
   */
  setClaims(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
    ifHeld?: string,
  ): Promise<void>;
  /**
   * Drops each id's claim whose value is still `value` (compare-and-delete, atomic per id), so
   * that the id can be claimed again. A claim with another value is left alone: it was made by
   * another request after this one's expired, and is that request's to release.
   */
  releaseClaims(merchantId: string, ids: string[], value: string): Promise<void>;
  /** The value of the id's claim, or null when it has none (never claimed, released, expired). */
  claimOf(merchantId: string, id: string): Promise<string | null>;
  /** Stops keeping this owner alive and drops its liveness mark: its claims are free at once. */
  close(): Promise<void>;
}

/** Whole seconds, as SET EX takes them; a ttl that is not positive is a caller's bug. */
export function validateClaimTtl(ttlSeconds: number): number {
  if (!(Number.isFinite(ttlSeconds) && ttlSeconds > 0)) {
    throw new TypeError(`ttlSeconds must be a positive number, got ${ttlSeconds}`);
  }
  return Math.ceil(ttlSeconds);
}
