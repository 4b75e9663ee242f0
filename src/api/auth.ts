import { createHash, randomBytes } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { ApiError, dependency } from "../errors.ts";
import type { ApiKeyRecord, Ledger } from "../ledger/types.ts";

/** Keys are 256 random bits, so a plain SHA-256 is a sound hash: nothing to brute-force. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function generateApiKey(): string {
  return `txw_${randomBytes(32).toString("base64url")}`;
}

/** Creates a key for a merchant, stores only its hash, and returns the key (shown once). */
export async function createApiKey(ledger: Ledger, merchantId: string): Promise<string> {
  const key = generateApiKey();
  await ledger.insertApiKey(merchantId, hashApiKey(key));
  return key;
}

/** A backstop: a cached key is looked up again at least this often, whatever else happens. */
const CACHE_TTL_MS = 30_000;

/**
 * How long a request waits for the ledger to answer an authentication question (REL-3): a host
 * that stops answering must not hold every request until TCP gives up.
 */
const LEDGER_WAIT_MS = 1000;

/** The call's outcome, or a rejection once `ms` passed without one (the call goes on). */
function answeredWithin<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

/**
 * How long past its CACHE_TTL_MS a cached key still authenticates while the ledger cannot be
 * asked (REL-3); expiry and a rotation's end are still checked against the cached instants.
 */
const STALE_IF_UNREACHABLE_MS = 60 * 60_000;

/**
 * How often an API process asks the ledger whether any key was revoked or rotated (SEC-7):
 * one `count(*)` over the audit rows of those events, for every key at once, at most once per
 * interval per process. When it moved, every cached key is looked up again. Revocation thus
 * takes effect within this interval (plus one round trip); expiries and the end of a rotation's
 * grace period are checked per request against the cached instant, so they are exact.
 */
export const REVOCATION_CHECK_MS = 2_000;

function instant(iso: string | null): number {
  return iso === null ? Number.POSITIVE_INFINITY : Date.parse(iso);
}

interface CachedKey {
  record: ApiKeyRecord;
  /** The CACHE_TTL_MS backstop. */
  expires: number;
  /** When the key expires, and when a rotation revokes it (ms; Infinity: never). */
  expiresAt: number;
  revokedAt: number;
  /** The revocation generation known when the lookup began. */
  generation: string | undefined;
}

/**
 * Resolves bearer keys to merchants. Hits are cached so ingest does not query the ledger per
 * request; a revoked key stops working within REVOCATION_CHECK_MS, an expired one at once.
 */
export function apiKeyAuthenticator(ledger: Ledger, now: () => number = Date.now) {
  const cache = new Map<string, CachedKey>();
  let generation: string | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let checking: Promise<void> | undefined;
  /** Expired keys whose refusal this process has audited (once per key). */
  const auditedExpired = new Set<string>();

  /** The requests arriving while a check runs wait for that one check. */
  function checkRevocations(): Promise<void> | undefined {
    if (checking !== undefined) return checking;
    if (now() - checkedAt < REVOCATION_CHECK_MS) return undefined;
    checkedAt = now();
    checking = ledger
      .apiKeyGeneration()
      .then(
        (current) => {
          if (current !== generation) {
            generation = current;
            cache.clear();
          }
        },
        // The ledger unreachable: cached keys keep working until their CACHE_TTL_MS, as they
        // did before; nobody can revoke a key in the ledger meanwhile either.
        () => {},
      )
      .finally(() => {
        checking = undefined;
      });
    return checking;
  }

  function auditExpiredUse(keyId: string): void {
    if (auditedExpired.has(keyId)) return;
    if (auditedExpired.size > 10_000) auditedExpired.clear();
    auditedExpired.add(keyId);
    ledger.recordExpiredKeyUse(keyId).catch(() => auditedExpired.delete(keyId));
  }

  function refuse(hash: string, message: string): never {
    cache.delete(hash);
    throw new ApiError("TXW_ERR_UNAUTHENTICATED", message);
  }

  function refuseExpired(entry: CachedKey, hash: string): never {
    auditExpiredUse(entry.record.id);
    refuse(hash, "API key expired");
  }

  /** Expiry and the end of a rotation's grace period, per request: no ledger query needed. */
  function refuseIfPast(entry: CachedKey, hash: string): void {
    const at = now();
    if (entry.revokedAt <= at) refuse(hash, "API key revoked");
    if (entry.expiresAt <= at) refuseExpired(entry, hash);
  }

  return async function authenticate(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) {
      throw new ApiError("TXW_ERR_UNAUTHENTICATED", "missing bearer API key");
    }
    const hash = hashApiKey(match[1]!);
    const check = checkRevocations();
    // A ledger that hangs delays no request past this: the check goes on in the background and
    // the cached keys stand meanwhile, as when the ledger refuses outright.
    if (check !== undefined) await answeredWithin(check, LEDGER_WAIT_MS).catch(() => {});
    const cached = cache.get(hash);
    if (cached !== undefined && cached.generation === generation && cached.expires > now()) {
      refuseIfPast(cached, hash);
      request.merchant = cached.record;
      return;
    }
    const lookedUpAt = generation;
    let resolved: Awaited<ReturnType<Ledger["resolveApiKey"]>>;
    try {
      resolved = await dependency(
        "ledger",
        answeredWithin(ledger.resolveApiKey(hash), LEDGER_WAIT_MS),
      );
    } catch (error) {
      // The ledger unreachable: a key this process knew keeps working for a while, so ingest
      // stays open on the stream alone (REL-3); nobody can revoke it in the ledger meanwhile.
      if (cached !== undefined && now() - cached.expires < STALE_IF_UNREACHABLE_MS) {
        refuseIfPast(cached, hash);
        request.merchant = cached.record;
        return;
      }
      throw error;
    }
    if (resolved === null) throw new ApiError("TXW_ERR_UNAUTHENTICATED", "invalid API key");
    const entry: CachedKey = {
      record: resolved.record,
      expires: now() + CACHE_TTL_MS,
      expiresAt: instant(resolved.expiresAt),
      revokedAt: instant(resolved.revokedAt),
      generation: lookedUpAt,
    };
    if (resolved.state === "revoked") refuse(hash, "API key revoked");
    if (resolved.state === "expired") refuseExpired(entry, hash);
    // Active for the ledger; this process's clock decides the instant, as it does when cached.
    refuseIfPast(entry, hash);
    if (cache.size > 10_000) cache.clear();
    cache.set(hash, entry);
    request.merchant = resolved.record;
  };
}
