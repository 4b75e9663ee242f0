import { ValidationError } from "../errors.ts";
import { type AlertRow as AlertColumns, alertOfRow, isoMicrosSql, isoSql } from "./rows.ts";
import type { SqlClient, SqlParam } from "./sql-client.ts";
import type {
  Alert,
  AlertFilter,
  AlertStatus,
  AlertTransition,
  Page,
  TransitionOutcome,
} from "./types.ts";

const ALERT_COLUMNS = `
  a.id::text AS id, a.merchant_id, a.transaction_id, a.customer_id, a.rule, a.action, a.score,
  a.detail, a.status, ${isoSql("a.created_at")} AS created_at, ${isoSql("a.updated_at")} AS updated_at,
  ${isoMicrosSql("a.created_at")} AS created_key,
  COALESCE((
    SELECT jsonb_agg(jsonb_build_object('at', ${isoSql("e.at")}, 'status', e.status, 'note', e.note)
      ORDER BY e.id)
    FROM alert_events e WHERE e.alert_id = a.id AND e.note IS NOT NULL
  ), '[]'::jsonb) AS notes`;

type AlertRow = AlertColumns & { created_key: string; notes: Alert["notes"] };

/** Alert ids are bigint text; anything else cannot name an alert (and must not reach SQL). */
const ALERT_ID = /^[1-9]\d{0,17}$/;

const MAX_PAGE = 1000;

/**
 * The cursor is the last row's position in the listing order, (created_at, id), as
 * base64url JSON. Opaque to clients; validated strictly because it comes back from them.
 */
export function encodeCursor(createdKey: string, id: string): string {
  return Buffer.from(JSON.stringify([createdKey, id]), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): { createdKey: string; id: string } {
  const invalid = () => new ValidationError("cursor", "cursor is not a cursor this API returned");
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(value) || value.length !== 2) throw invalid();
  const [createdKey, id] = value as unknown[];
  if (typeof createdKey !== "string" || typeof id !== "string") throw invalid();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(createdKey)) throw invalid();
  if (Number.isNaN(Date.parse(createdKey)) || !ALERT_ID.test(id)) throw invalid();
  return { createdKey, id };
}

function alertOf(row: AlertRow): Alert {
  return alertOfRow(row, row.notes);
}

/** Newest first, keyset-paginated so pages neither repeat nor skip rows as alerts arrive. */
export async function listAlerts(
  db: SqlClient,
  merchantId: string,
  filter: AlertFilter,
  page: { limit: number; cursor?: string },
): Promise<Page<Alert>> {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE) {
    throw new ValidationError("limit", `limit must be an integer from 1 to ${MAX_PAGE}`);
  }
  const params: SqlParam[] = [merchantId];
  const where = ["a.merchant_id = $1"];
  const add = (sql: (n: string) => string, value: SqlParam) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.status !== undefined) add((p) => `a.status = ${p}`, filter.status);
  if (filter.customerId !== undefined) add((p) => `a.customer_id = ${p}`, filter.customerId);
  if (filter.rule !== undefined) add((p) => `a.rule = ${p}`, filter.rule);
  for (const field of ["from", "to"] as const) {
    const value = filter[field];
    if (value === undefined) continue;
    if (Number.isNaN(Date.parse(value)))
      throw new ValidationError(field, `${field} must be an ISO 8601 instant`);
    add(
      (p) =>
        field === "from" ? `a.created_at >= ${p}::timestamptz` : `a.created_at < ${p}::timestamptz`,
      value,
    );
  }
  if (page.cursor !== undefined) {
    const { createdKey, id } = decodeCursor(page.cursor);
    params.push(createdKey, id);
    where.push(
      `(a.created_at, a.id) < ($${params.length - 1}::timestamptz, $${params.length}::bigint)`,
    );
  }
  params.push(page.limit + 1);
  const { rows } = await db.query<AlertRow>(
    `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE ${where.join(" AND ")}
     ORDER BY a.created_at DESC, a.id DESC LIMIT $${params.length}`,
    params,
  );
  // One row more than asked tells whether another page exists without a count query.
  const items = rows.slice(0, page.limit);
  const last = items[items.length - 1];
  const more = rows.length > page.limit && last !== undefined;
  return {
    items: items.map(alertOf),
    ...(more && { nextCursor: encodeCursor(last.created_key, last.id) }),
  };
}

export async function getAlert(
  db: SqlClient,
  merchantId: string,
  alertId: string,
): Promise<Alert | null> {
  if (!ALERT_ID.test(alertId)) return null;
  const { rows } = await db.query<AlertRow>(
    `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.merchant_id = $1 AND a.id = $2::bigint`,
    [merchantId, alertId],
  );
  return rows[0] === undefined ? null : alertOf(rows[0]);
}

/** The lifecycle: open -> acknowledged -> closed, or open -> closed. Nothing reopens. */
export function nextStatus(current: AlertStatus, transition: AlertTransition): AlertStatus | null {
  if (transition === "acknowledge") return current === "open" ? "acknowledged" : null;
  return current === "closed" ? null : "closed";
}

/**
 * Changes the alert's status and appends the event (with the analyst's note) in one
 * transaction; the row lock makes two analysts' concurrent moves apply one after the other,
 * so the second sees the first's status and gets a conflict rather than a lost update.
 */
export async function transitionAlert(
  db: SqlClient,
  merchantId: string,
  alertId: string,
  transition: AlertTransition,
  note?: string,
): Promise<TransitionOutcome> {
  if (!ALERT_ID.test(alertId)) return { kind: "not_found" };
  return db.transaction(async (tx): Promise<TransitionOutcome> => {
    const { rows } = await tx.query<{ status: AlertStatus }>(
      "SELECT status FROM alerts WHERE merchant_id = $1 AND id = $2::bigint FOR UPDATE",
      [merchantId, alertId],
    );
    const current = rows[0]?.status;
    if (current === undefined) return { kind: "not_found" };
    const next = nextStatus(current, transition);
    if (next === null) return { kind: "conflict", status: current };
    await tx.query(
      `WITH moved AS (
         UPDATE alerts SET status = $3, updated_at = now()
         WHERE merchant_id = $1 AND id = $2::bigint RETURNING id, updated_at
       )
       INSERT INTO alert_events (alert_id, status, note, at) SELECT id, $3, $4, updated_at FROM moved`,
      [merchantId, alertId, next, note === undefined || note === "" ? null : note],
    );
    const alert = await getAlert(tx, merchantId, alertId);
    if (alert === null) throw new Error(`alert ${alertId} vanished inside its own transaction`);
    return { kind: "ok", alert };
  });
}

/** Alert ids as a feed cursor: "0" (before the first alert) or an id. */
const FEED_CURSOR = /^(0|[1-9]\d{0,18})$/;
/**
 * The feed's cursor for an instant, for a reader that could not read the tail when it started:
 * the last alert created (alerts.created_at: when its committing transaction began) before
 * `instant`, "0" if none. Ids are in commit order, so every alert whose transaction began at or
 * after `instant` lies after it, whenever it is read; a reader passes an instant early enough to
 * also cover the transactions that were running when it started.
 */
export async function alertsCursorAt(db: SqlClient, instant: Date): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    "SELECT coalesce(max(id), 0)::text AS id FROM alerts WHERE created_at < $1::timestamptz",
    [instant.toISOString()],
  );
  return rows[0]?.id ?? "0";
}

/**
 * The feed's cursor for "now": the newest alert's id, "0" on a ledger without alerts. Alerts
 * committed after this answer all have larger ids (see alertsAfter).
 */
export async function alertsTail(db: SqlClient): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    "SELECT coalesce(max(id), 0)::text AS id FROM alerts",
  );
  return rows[0]?.id ?? "0";
}

/**
 * Every merchant's alerts with an id above `cursor`, oldest first, at most `limit` (the primary
 * key serves it), or one merchant's (alerts_by_merchant_id serves it). Ids are in commit order,
 * so a reader that keeps the last id it saw misses nothing: alerts are only inserted by
 * commitBatch while it holds the chain lock, which is released only once its transaction is
 * committed, so a batch that allocates larger ids always becomes visible after every batch with
 * smaller ones. Ids of a rolled-back batch or of a conflicting (already raised) alert are gaps,
 * never late arrivals.
 */
export async function alertsAfter(
  db: SqlClient,
  cursor: string,
  limit: number,
  merchantId?: string,
): Promise<Alert[]> {
  if (!FEED_CURSOR.test(cursor)) throw new Error(`not an alert cursor: ${JSON.stringify(cursor)}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new Error(`limit must be an integer from 1 to ${MAX_PAGE}, got ${limit}`);
  }
  const { rows } =
    merchantId === undefined
      ? await db.query<AlertRow>(
          `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.id > $1::bigint ORDER BY a.id LIMIT $2`,
          [cursor, limit],
          { name: "txwatch_alerts_after" },
        )
      : await db.query<AlertRow>(
          `SELECT ${ALERT_COLUMNS} FROM alerts a
            WHERE a.id > $1::bigint AND a.merchant_id = $3 ORDER BY a.id LIMIT $2`,
          [cursor, limit, merchantId],
          { name: "txwatch_merchant_alerts_after" },
        );
  return rows.map(alertOf);
}
