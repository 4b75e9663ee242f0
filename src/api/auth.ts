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

const CACHE_TTL_MS = 30_000;

/**
 * Resolves bearer keys to merchants, caching hits briefly so ingest does not query the ledger
 * per request; a revoked key stops working within the cache TTL.
 */
export function apiKeyAuthenticator(ledger: Ledger, now: () => number = Date.now) {
  const cache = new Map<string, { record: ApiKeyRecord; expires: number }>();
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) {
      throw new ApiError("TXW_ERR_UNAUTHENTICATED", "missing bearer API key");
    }
    const hash = hashApiKey(match[1]!);
    const cached = cache.get(hash);
    if (cached !== undefined && cached.expires > now()) {
      request.merchant = cached.record;
      return;
    }
    const record = await dependency("ledger", ledger.findApiKey(hash));
    if (record === null) throw new ApiError("TXW_ERR_UNAUTHENTICATED", "invalid API key");
    if (cache.size > 10_000) cache.clear();
    cache.set(hash, { record, expires: now() + CACHE_TTL_MS });
    request.merchant = record;
  };
}
