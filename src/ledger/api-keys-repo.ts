import { isoSql } from "./rows.ts";
import type { SqlClient } from "./sql-client.ts";
import type {
  ApiKeyActor,
  ApiKeyEvent,
  ApiKeyInfo,
  ApiKeyRecord,
  ApiKeyResolution,
  NewApiKeyOptions,
  RotationResult,
} from "./types.ts";

/**
 * API keys and their life cycle (ING-1, SEC-7). Keys are stored as SHA-256 hashes only; they
 * are revoked (now, or at the end of a rotation's grace period), never deleted, and every
 * event is appended to api_key_events in the same statement or transaction as the change.
 */

const KEY_ID = /^[1-9]\d{0,17}$/;

/** Whether a revocation or expiry instant has not come yet. */
const ACTIVE_SQL =
  "((k.revoked_at IS NULL OR k.revoked_at > now()) AND (k.expires_at IS NULL OR k.expires_at > now()))";

const INFO_COLUMNS = `k.id::text AS id, k.merchant_id AS "merchantId",
  ${isoSql("k.created_at")} AS "createdAt", ${isoSql("k.expires_at")} AS "expiresAt",
  ${isoSql("k.revoked_at")} AS "revokedAt", ${ACTIVE_SQL} AS active`;

export async function insertApiKey(
  db: SqlClient,
  merchantId: string,
  keyHash: string,
  options: NewApiKeyOptions & { rotatedFrom?: string[] } = {},
): Promise<ApiKeyRecord> {
  const detail = {
    ...(options.expiresAt !== undefined && { expiresAt: options.expiresAt }),
    ...(options.rotatedFrom !== undefined && { rotatedFrom: options.rotatedFrom }),
  };
  // One statement: the key and its audit row are written together or not at all.
  const { rows } = await db.query<ApiKeyRecord>(
    `WITH k AS (
       INSERT INTO api_keys (merchant_id, key_hash, expires_at) VALUES ($1, $2, $3::timestamptz)
       RETURNING id, merchant_id
     ), e AS (
       INSERT INTO api_key_events (key_id, merchant_id, event, actor, detail)
       SELECT id, merchant_id, 'created', $4, $5::text::jsonb FROM k
     )
     SELECT id::text AS id, merchant_id AS "merchantId" FROM k`,
    [
      merchantId,
      keyHash,
      options.expiresAt ?? null,
      options.actor ?? "monitor",
      JSON.stringify(detail),
    ],
  );
  return rows[0]!;
}

/** The API's lookup, per key and cache refresh: one index probe on key_hash. */
export async function resolveApiKey(
  db: SqlClient,
  keyHash: string,
): Promise<ApiKeyResolution | null> {
  const { rows } = await db.query<ApiKeyRecord & Omit<ApiKeyResolution, "record">>(
    `SELECT k.id::text AS id, k.merchant_id AS "merchantId",
       CASE WHEN k.revoked_at IS NOT NULL AND k.revoked_at <= now() THEN 'revoked'
            WHEN k.expires_at IS NOT NULL AND k.expires_at <= now() THEN 'expired'
            ELSE 'active' END AS state,
       ${isoSql("k.expires_at")} AS "expiresAt", ${isoSql("k.revoked_at")} AS "revokedAt"
     FROM api_keys k WHERE k.key_hash = $1`,
    [keyHash],
    { name: "txw_resolve_api_key" },
  );
  const row = rows[0];
  if (row === undefined) return null;
  const { id, merchantId, ...rest } = row;
  return { record: { id, merchantId }, ...rest };
}

/** Revoked and expired keys do not authenticate. */
export async function findApiKey(db: SqlClient, keyHash: string): Promise<ApiKeyRecord | null> {
  const { rows } = await db.query<ApiKeyRecord>(
    `SELECT k.id::text AS id, k.merchant_id AS "merchantId" FROM api_keys k
     WHERE k.key_hash = $1 AND ${ACTIVE_SQL}`,
    [keyHash],
  );
  return rows[0] ?? null;
}

/** Keys that authenticate now: start-up creates the demo key when there is none it could use. */
export async function countApiKeys(db: SqlClient, merchantId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM api_keys k WHERE k.merchant_id = $1 AND ${ACTIVE_SQL}`,
    [merchantId],
  );
  return rows[0]?.n ?? 0;
}

export async function listApiKeys(db: SqlClient, merchantId: string): Promise<ApiKeyInfo[]> {
  const { rows } = await db.query<ApiKeyInfo>(
    `SELECT ${INFO_COLUMNS} FROM api_keys k WHERE k.merchant_id = $1 ORDER BY k.id`,
    [merchantId],
  );
  return rows;
}

export async function getApiKey(db: SqlClient, id: string): Promise<ApiKeyInfo | null> {
  if (!KEY_ID.test(id)) return null;
  const { rows } = await db.query<ApiKeyInfo>(
    `SELECT ${INFO_COLUMNS} FROM api_keys k WHERE k.id = $1::bigint`,
    [id],
  );
  return rows[0] ?? null;
}

/** Keys are revoked, never deleted, to keep the audit; a scheduled revocation is brought forward. */
export async function revokeApiKey(
  db: SqlClient,
  id: string,
  actor: ApiKeyActor = "cli",
): Promise<boolean> {
  if (!KEY_ID.test(id)) return false;
  const { rows } = await db.query(
    `WITH r AS (
       UPDATE api_keys SET revoked_at = now()
       WHERE id = $1::bigint AND (revoked_at IS NULL OR revoked_at > now())
       RETURNING id, merchant_id
     ), e AS (
       INSERT INTO api_key_events (key_id, merchant_id, event, actor)
       SELECT id, merchant_id, 'revoked', $2 FROM r
     )
     SELECT id FROM r`,
    [id, actor],
  );
  return rows.length > 0;
}

export async function rotateApiKeys(
  db: SqlClient,
  merchantId: string,
  newKeyHash: string,
  options: NewApiKeyOptions & { graceMs: number },
): Promise<RotationResult> {
  const graceMs = Math.max(0, Math.trunc(options.graceMs));
  return db.transaction(async (tx) => {
    // The merchant's usable keys stop at the end of the grace period (or sooner, if they were
    // to expire or be revoked sooner: LEAST ignores NULL).
    const { rows: rotated } = await tx.query<{ id: string }>(
      `UPDATE api_keys k
       SET revoked_at = LEAST(k.revoked_at, k.expires_at, now() + $2::bigint * interval '1 millisecond')
       WHERE k.merchant_id = $1 AND ${ACTIVE_SQL}
       RETURNING k.id::text AS id`,
      [merchantId, graceMs],
    );
    const ids = rotated.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
    const key = await insertApiKey(tx, merchantId, newKeyHash, {
      ...options,
      rotatedFrom: ids,
    });
    await tx.query(
      `INSERT INTO api_key_events (key_id, merchant_id, event, actor, detail)
       SELECT k.id, k.merchant_id, 'rotated', $3,
         jsonb_build_object('replacedBy', $2::text, 'revokesAt', ${isoSql("k.revoked_at")})
       FROM api_keys k WHERE k.id = ANY (string_to_array($1, ',')::bigint[]) ORDER BY k.id`,
      [ids.join(","), key.id, options.actor ?? "monitor"],
    );
    const { rows: infos } = await tx.query<ApiKeyInfo>(
      `SELECT ${INFO_COLUMNS} FROM api_keys k
       WHERE k.id = ANY (string_to_array($1, ',')::bigint[]) ORDER BY k.id`,
      [ids.join(",")],
    );
    return { key: { ...key, expiresAt: options.expiresAt ?? null }, rotated: infos };
  });
}

/** Once per key: the partial unique index turns later attempts into nothing. */
export async function recordExpiredKeyUse(db: SqlClient, keyId: string): Promise<void> {
  if (!KEY_ID.test(keyId)) return;
  await db.query(
    `INSERT INTO api_key_events (key_id, merchant_id, event, actor)
     SELECT id, merchant_id, 'expired_refused', 'api' FROM api_keys WHERE id = $1::bigint
     ON CONFLICT DO NOTHING`,
    [keyId],
  );
}

/**
 * The count of revocations and rotations. Append-only rows make it grow with each one whatever
 * the commit order of concurrent writers (a max(id) could miss an earlier id committed later).
 */
export async function apiKeyGeneration(db: SqlClient): Promise<string> {
  const { rows } = await db.query<{ g: string }>(
    "SELECT count(*)::text AS g FROM api_key_events WHERE event IN ('rotated', 'revoked')",
    [],
    { name: "txw_api_key_generation" },
  );
  return rows[0]?.g ?? "0";
}

export async function listApiKeyEvents(db: SqlClient, merchantId: string): Promise<ApiKeyEvent[]> {
  const { rows } = await db.query<Omit<ApiKeyEvent, "detail"> & { detail: string }>(
    `SELECT id::text AS id, key_id::text AS "keyId", merchant_id AS "merchantId", event, actor,
       ${isoSql("at")} AS at, detail::text AS detail
     FROM api_key_events WHERE merchant_id = $1 ORDER BY id`,
    [merchantId],
  );
  return rows.map((row) => ({ ...row, detail: JSON.parse(row.detail) as Record<string, unknown> }));
}
