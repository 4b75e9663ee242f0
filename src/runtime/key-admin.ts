import { generateApiKey, hashApiKey } from "../api/auth.ts";
import { ValidationError } from "../errors.ts";
import type { ApiKeyActor, ApiKeyInfo, Ledger, RotationResult } from "../ledger/types.ts";
import { containsCardNumber } from "../transaction/card-number.ts";
import { transactionInputSchema } from "../transaction/schema.ts";

/**
 * The key life cycle (SEC-7) and the validation of what administrators store (SEC-8), shared
 * by the CLI, the admin socket of a running monitor and the AWS admin function, so the three
 * accept the same input and audit the same events. Each names fields its own way (`--merchant`,
 * `merchant`, `merchantId`): callers pass the name their user typed.
 */

/**
 * A merchant id as the API's transaction schema accepts it (1-64 storable characters, no card
 * number). The message names `field` and never repeats the value.
 */
export function validMerchantId(value: unknown, field: string): string {
  const parsed = transactionInputSchema.shape.merchantId.safeParse(value);
  if (parsed.success) return parsed.data;
  if (value === undefined) throw new ValidationError(field, `${field} is required`);
  if (typeof value === "string" && containsCardNumber(value))
    throw new ValidationError(field, `${field} must not contain a card number`);
  const message = parsed.error.issues[0]?.message ?? "merchantId is invalid";
  throw new ValidationError(field, message.replace(/^merchantId\b/, field));
}

/** A key id as `keys list` shows it. */
export function validKeyId(value: unknown, field: string): string {
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value === "string" && /^[1-9]\d{0,17}$/.test(value)) return value;
  if (value === undefined) throw new ValidationError(field, `${field} is required`);
  throw new ValidationError(field, `${field} must be a key id (a positive integer)`);
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d{1,6})([smhd])$/;

/** A duration written `<n>s|m|h|d` ("30d", "12h"), within [minMs, maxMs]; in milliseconds. */
export function validDuration(
  value: unknown,
  field: string,
  bounds: { minMs: number; maxMs: number; describe: string },
): number {
  const match = typeof value === "string" ? DURATION.exec(value) : null;
  const ms =
    match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (!(ms >= bounds.minMs && ms <= bounds.maxMs))
    throw new ValidationError(
      field,
      `${field} must be a duration such as 30d, 12h or 90m, ${bounds.describe}`,
    );
  return ms;
}

/** `--expires-in`: at least a minute, at most ten years. */
export const EXPIRES_IN = { minMs: 60_000, maxMs: 3650 * 86_400_000, describe: "1m to 3650d" };
/** `--grace`: how long rotated keys keep working; 0s revokes them at once. */
export const GRACE = { minMs: 0, maxMs: 30 * 86_400_000, describe: "0s to 30d" };
/**
 * How long the keys a rotation replaces keep working by default: a day, for every client of
 * the merchant to be given the new key; stated in the CLI's help and output.
 */
export const DEFAULT_ROTATION_GRACE_MS = 86_400_000;

export interface CreatedKey {
  id: string;
  merchantId: string;
  /** Shown once; only its hash is stored. */
  key: string;
  expiresAt: string | null;
}

function expiryOf(expiresInMs: number | undefined, now: number): string | undefined {
  return expiresInMs === undefined ? undefined : new Date(now + expiresInMs).toISOString();
}

export async function createKey(
  ledger: Ledger,
  options: { merchantId: string; expiresInMs?: number; actor: ApiKeyActor },
  now: number = Date.now(),
): Promise<CreatedKey> {
  const key = generateApiKey();
  const expiresAt = expiryOf(options.expiresInMs, now);
  const record = await ledger.insertApiKey(options.merchantId, hashApiKey(key), {
    actor: options.actor,
    ...(expiresAt !== undefined && { expiresAt }),
  });
  return { id: record.id, merchantId: record.merchantId, key, expiresAt: expiresAt ?? null };
}

export interface RotatedKeys extends CreatedKey {
  /** The keys replaced, each with the instant it stops working (revokedAt). */
  rotated: ApiKeyInfo[];
}

export async function rotateKeys(
  ledger: Ledger,
  options: { merchantId: string; expiresInMs?: number; graceMs?: number; actor: ApiKeyActor },
  now: number = Date.now(),
): Promise<RotatedKeys> {
  const key = generateApiKey();
  const expiresAt = expiryOf(options.expiresInMs, now);
  const result: RotationResult = await ledger.rotateApiKeys(options.merchantId, hashApiKey(key), {
    actor: options.actor,
    graceMs: options.graceMs ?? DEFAULT_ROTATION_GRACE_MS,
    ...(expiresAt !== undefined && { expiresAt }),
  });
  return {
    id: result.key.id,
    merchantId: result.key.merchantId,
    key,
    expiresAt: result.key.expiresAt,
    rotated: result.rotated,
  };
}

export interface RevokedKey {
  /** False when it was already revoked (nothing changed, nothing audited). */
  revoked: boolean;
  key: ApiKeyInfo;
}

/** Revokes a key now; a ValidationError naming `field` when there is no such key. */
export async function revokeKey(
  ledger: Ledger,
  id: string,
  actor: ApiKeyActor,
  field: string,
): Promise<RevokedKey> {
  const revoked = await ledger.revokeApiKey(id, actor);
  const key = await ledger.getApiKey(id);
  if (key === null) throw new ValidationError(field, `no API key with ${field} ${id}`);
  return { revoked, key };
}
