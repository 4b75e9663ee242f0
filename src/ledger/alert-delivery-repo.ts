import { isoSql } from "./rows.ts";
import type { SqlClient } from "./sql-client.ts";
import type {
  AlertChannelName,
  AlertChannelState,
  AlertDeadLetter,
  AlertDeadLetterDraft,
} from "./types.ts";

/**
 * The alert outbox's state in the ledger (REL-6): a delivery cursor per channel with the lease
 * that lets one process at a time deliver it, and the dead letters
 * (migrations/20261207090000_alert_delivery.sql).
 */

const CHANNELS: readonly AlertChannelName[] = ["webhook", "sns"];
const CURSOR = /^(0|[1-9]\d{0,18})$/;
const MAX_LEASE_MS = 3_600_000;
const MAX_PAGE = 1000;

function checkChannel(channel: AlertChannelName): void {
  if (!CHANNELS.includes(channel)) throw new Error(`not an alert channel: ${String(channel)}`);
}

function checkLease(owner: string, leaseMs: number): void {
  if (owner.length === 0 || owner.length > 200) throw new Error("lease owner must be 1-200 chars");
  if (!Number.isInteger(leaseMs) || leaseMs < 1 || leaseMs > MAX_LEASE_MS) {
    throw new Error(`leaseMs must be an integer from 1 to ${MAX_LEASE_MS}, got ${leaseMs}`);
  }
}

/**
 * Gives the channel its cursor if it has none, at the alerts' tail: only alerts committed later
 * are delivered on it. The tail is read in the INSERT's own snapshot; alerts committing at that
 * moment get larger ids and become visible later (see alertsAfter), so none falls in between.
 */
export async function openAlertChannel(db: SqlClient, channel: AlertChannelName): Promise<void> {
  checkChannel(channel);
  await db.query(
    `INSERT INTO alert_delivery (channel, cursor_id)
     SELECT $1, coalesce(max(id), 0) FROM alerts
     ON CONFLICT (channel) DO NOTHING`,
    [channel],
  );
}

/**
 * Takes the channel's lease for `owner`, or renews it when `owner` holds it, for `leaseMs` of
 * database time: granted when nobody holds it, `owner` does, or the holder's lease ran out.
 * The row lock of the UPDATE makes two takers decide one after the other. Answers the cursor
 * when granted, null when another process holds the lease (or the channel was never opened).
 */
export async function leaseAlertChannel(
  db: SqlClient,
  channel: AlertChannelName,
  owner: string,
  leaseMs: number,
): Promise<string | null> {
  checkChannel(channel);
  checkLease(owner, leaseMs);
  const { rows } = await db.query<{ cursor: string }>(
    `UPDATE alert_delivery
     SET lease_owner = $2, lease_expires_at = now() + $3::integer * interval '1 millisecond'
     WHERE channel = $1
       AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at <= now())
     RETURNING cursor_id::text AS cursor`,
    [channel, owner, leaseMs],
    { name: "txwatch_alert_channel_lease" },
  );
  return rows[0]?.cursor ?? null;
}

/**
 * As the lease's holder, in one transaction: moves the cursor forward to `cursor`, records the
 * dead letters (alerts at or below it the channel gave up on) and renews the lease. False, with
 * nothing written, when `owner` no longer holds the lease: another process took the channel
 * over after this one's lease ran out, and its cursor is the one that counts.
 */
export async function advanceAlertChannel(
  db: SqlClient,
  channel: AlertChannelName,
  owner: string,
  leaseMs: number,
  cursor: string,
  deadLetters: AlertDeadLetterDraft[],
): Promise<boolean> {
  checkChannel(channel);
  checkLease(owner, leaseMs);
  if (!CURSOR.test(cursor)) throw new Error(`not an alert cursor: ${JSON.stringify(cursor)}`);
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `UPDATE alert_delivery
       SET cursor_id = $4::bigint, updated_at = now(),
           lease_expires_at = now() + $3::integer * interval '1 millisecond'
       WHERE channel = $1 AND lease_owner = $2 AND cursor_id <= $4::bigint
       RETURNING 1`,
      [channel, owner, leaseMs, cursor],
      { name: "txwatch_alert_channel_advance" },
    );
    if (rows.length === 0) return false;
    if (deadLetters.length > 0) {
      await tx.query(
        `INSERT INTO alert_dead_letters (channel, alert_id, reason, attempts)
         SELECT $1, d."alertId", d.reason, d.attempts
         FROM jsonb_to_recordset($2::text::jsonb) AS d("alertId" bigint, reason text, attempts integer)
         ORDER BY d."alertId"`,
        [channel, JSON.stringify(deadLetters)],
      );
    }
    return true;
  });
}

/** Gives the lease up (a clean stop), so another process takes the channel over at once. */
export async function releaseAlertChannel(
  db: SqlClient,
  channel: AlertChannelName,
  owner: string,
): Promise<void> {
  checkChannel(channel);
  await db.query(
    `UPDATE alert_delivery SET lease_owner = NULL, lease_expires_at = NULL
     WHERE channel = $1 AND lease_owner = $2`,
    [channel, owner],
  );
}

/** The channel's cursor, lease, backlog and dead letters; null for a channel never opened. */
export async function alertChannelState(
  db: SqlClient,
  channel: AlertChannelName,
): Promise<AlertChannelState | null> {
  checkChannel(channel);
  const { rows } = await db.query<{
    cursor: string;
    undelivered: number;
    lease_owner: string | null;
    lease_expires_at: string | null;
    dead_letters: number;
  }>(
    `SELECT d.cursor_id::text AS cursor,
       (SELECT count(*) FROM alerts a WHERE a.id > d.cursor_id)::integer AS undelivered,
       d.lease_owner, ${isoSql("d.lease_expires_at")} AS lease_expires_at,
       (SELECT count(*) FROM alert_dead_letters l WHERE l.channel = d.channel)::integer
         AS dead_letters
     FROM alert_delivery d WHERE d.channel = $1`,
    [channel],
  );
  const row = rows[0];
  if (row === undefined) return null;
  return {
    channel,
    cursor: row.cursor,
    undelivered: row.undelivered,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    deadLetters: row.dead_letters,
  };
}

/** The newest dead letters first, of one channel or all. */
export async function listAlertDeadLetters(
  db: SqlClient,
  channel: AlertChannelName | undefined,
  limit: number,
): Promise<AlertDeadLetter[]> {
  if (channel !== undefined) checkChannel(channel);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new Error(`limit must be an integer from 1 to ${MAX_PAGE}, got ${limit}`);
  }
  const { rows } = await db.query<{
    id: string;
    channel: AlertChannelName;
    alert_id: string;
    reason: string;
    attempts: number;
    dead_lettered_at: string;
  }>(
    `SELECT id::text AS id, channel, alert_id::text AS alert_id, reason, attempts,
       ${isoSql("dead_lettered_at")} AS dead_lettered_at
     FROM alert_dead_letters WHERE $1::text IS NULL OR channel = $1
     ORDER BY dead_lettered_at DESC, id DESC LIMIT $2`,
    [channel ?? null, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    channel: r.channel,
    alertId: r.alert_id,
    reason: r.reason,
    attempts: r.attempts,
    deadLetteredAt: r.dead_lettered_at,
  }));
}
