import { transactionKey } from "../transaction/key.ts";
import { claimOwnerOf } from "./claim-value.ts";
import { type ClaimStore, newOwnerId, validateClaimTtl } from "./types.ts";

/** How often (wall time) expired claims are swept: a lookup ignores them, but they hold memory. */
const SWEEP_EVERY_MS = 60_000;

export interface MemoryClaimStoreOptions {
  /** Wall clock: claims expire in wall time, as Redis keys do. @default Date.now */
  clock?: () => number;
}

/**
 * The ingest claims in process memory, with the Redis store's semantics: the embedded local run
 * (LOC-1) uses it. No await inside a call, so each runs in one turn of the event loop: each id's
 * claim is as atomic as the Redis store's, and a takeover is atomic with its liveness check.
 */
export class MemoryClaimStore implements ClaimStore {
  /**
   * Random per store, so per start: the store lives and dies with its process, so the only
   * live owner is this one, and a claim naming another is a dead predecessor's (REL-4).
   */
  readonly ownerId = newOwnerId();
  /** transactionKey -> the claim's value and when it expires (wall clock). */
  private readonly claims = new Map<string, { value: string; expiresAt: number }>();
  private readonly clock: () => number;
  private lastSweep = -Infinity;
  private closed = false;

  constructor(options: MemoryClaimStoreOptions = {}) {
    this.clock = options.clock ?? Date.now;
  }

  async claimIds(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
  ): Promise<Map<string, string | null>> {
    this.assertOpen();
    const ttl = validateClaimTtl(ttlSeconds);
    const at = this.clock();
    if (at - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(at);
    const out = new Map<string, string | null>();
    for (const id of ids) {
      const key = transactionKey({ merchantId, transactionId: id });
      let held = this.liveClaim(key, at);
      // A claim of a dead owner is taken over, as the Redis store does.
      if (held !== null && !this.ownerLives(claimOwnerOf(held))) held = null;
      if (held === null) this.claims.set(key, { value, expiresAt: at + ttl * 1000 });
      if (!out.has(id)) out.set(id, held);
    }
    return out;
  }

  async setClaims(
    merchantId: string,
    ids: string[],
    value: string,
    ttlSeconds: number,
    ifHeld?: string,
  ): Promise<void> {
    this.assertOpen();
    const ttl = validateClaimTtl(ttlSeconds);
    const at = this.clock();
    if (at - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(at);
    for (const id of ids) {
      const key = transactionKey({ merchantId, transactionId: id });
      if (ifHeld !== undefined) {
        const held = this.liveClaim(key, at);
        if (held !== null && held !== ifHeld) continue;
      }
      this.claims.set(key, { value, expiresAt: at + ttl * 1000 });
    }
  }

  async releaseClaims(merchantId: string, ids: string[], value: string): Promise<void> {
    this.assertOpen();
    const at = this.clock();
    for (const id of ids) {
      const key = transactionKey({ merchantId, transactionId: id });
      if (this.liveClaim(key, at) === value) this.claims.delete(key);
    }
  }

  async claimOf(merchantId: string, id: string): Promise<string | null> {
    this.assertOpen();
    return this.liveClaim(transactionKey({ merchantId, transactionId: id }), this.clock());
  }

  /** A claim without an owner is held until it expires; one with an owner while it lives. */
  private ownerLives(owner: string | undefined): boolean {
    return owner === undefined || owner === this.ownerId;
  }

  private liveClaim(key: string, at: number): string | null {
    const claim = this.claims.get(key);
    return claim !== undefined && claim.expiresAt > at ? claim.value : null;
  }

  private sweep(at: number): void {
    for (const [key, { expiresAt }] of this.claims) if (expiresAt <= at) this.claims.delete(key);
    this.lastSweep = at;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.claims.clear();
  }

  /** As a closed Redis connection does, so code that uses a closed store fails the same way. */
  private assertOpen(): void {
    if (this.closed) throw new Error("claim store is closed");
  }
}
