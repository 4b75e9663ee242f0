import type { PGlite, Transaction as PGliteTransaction } from "@electric-sql/pglite";
import type pg from "pg";
import { type ConnectionObserver, observeCall } from "../observability/dependency-state.ts";

/**
 * The one seam between the ledger's SQL and a driver. Both drivers speak the same PostgreSQL,
 * so every repository function is written once against this and runs on pg and on PGlite.
 *
 * Parameters are only strings, numbers or null: pg and PGlite serialise richer JS values
 * (objects, arrays, Dates) differently, so callers pass JSON text and cast in SQL
 * (`$1::text::jsonb`). For the same reason results are read through SQL casts (`::text`, ISO
 * strings from to_char) rather than relying on each driver's type parsers.
 */
export type SqlParam = string | number | null;

export interface QueryOptions {
  /**
   * Names the statement so that pg prepares it once per connection and then only binds and
   * executes it: for the statements of every batch and request, whose parsing and planning
   * (on the partitioned ledger above all) would otherwise be paid each time. One name, one
   * text. PGlite, in process, ignores it.
   */
  name?: string;
}

export interface SqlClient {
  query<T>(text: string, params?: SqlParam[], options?: QueryOptions): Promise<{ rows: T[] }>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Runs fn in one database transaction: committed when it resolves, rolled back when it
   * throws. Inside a transaction, a nested call simply joins it (no savepoints needed yet).
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

type PgQueryable = Pick<pg.PoolClient, "query">;

/** Nothing to tell: a client opened without a tracker (tools, the AWS entries). */
const UNOBSERVED: ConnectionObserver = { ok() {}, failed() {} };

/** Node's errno codes of a connection that could not be made or was lost. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * Whether a pg error says the server is unreachable (rather than that the statement was wrong):
 * a network errno, a connection-exception or operator-intervention SQLSTATE (08xxx, 57P0x: shut
 * down, starting up), too many connections, or pg's own texts for a lost connection.
 */
export function isPgConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) {
      return code.startsWith("08") || code.startsWith("57P") || code === "53300";
    }
  }
  return /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection ended|connect ECONN/i.test(
    error.message,
  );
}

/** Tells the observer how an operation on the server went: reachable, or not. */
function observed<T>(observer: ConnectionObserver, call: () => Promise<T>): Promise<T> {
  return observeCall(observer, call, isPgConnectionError);
}

function pgQueries(conn: PgQueryable): Pick<SqlClient, "query" | "exec"> {
  return {
    async query<T>(text: string, params: SqlParam[] = [], options: QueryOptions = {}) {
      const result =
        options.name === undefined
          ? await conn.query(text, params)
          : await conn.query({ name: options.name, text, values: params });
      return { rows: result.rows as T[] };
    },
    async exec(script: string) {
      // Without parameters pg uses the simple protocol, which accepts several statements.
      await conn.query(script);
    },
  };
}

function joinedTransaction(tx: Pick<SqlClient, "query" | "exec">): SqlClient {
  const client: SqlClient = {
    ...tx,
    transaction: (fn) => fn(client),
    close: async () => {
      throw new Error("close() called on a transaction");
    },
  };
  return client;
}

/**
 * The ledger's client on a pg pool. `observer` hears whether each query and transaction reached
 * the server (REL-2); the pool's own "error" event (idle clients) is the caller's to listen to.
 */
export function pgSqlClient(pool: pg.Pool, observer: ConnectionObserver = UNOBSERVED): SqlClient {
  const queries = pgQueries(pool);
  return {
    // pool.query listens for its client's "error" event itself while the query runs.
    query: (text, params, options) =>
      observed(observer, () => queries.query(text, params, options)),
    exec: (script) => observed(observer, () => queries.exec(script)),
    transaction: <T>(fn: (tx: SqlClient) => Promise<T>) =>
      observed(observer, () => pgTransaction(pool, observer, fn)),
    close: () => pool.end(),
  };
}

async function pgTransaction<T>(
  pool: pg.Pool,
  observer: ConnectionObserver,
  fn: (tx: SqlClient) => Promise<T>,
): Promise<T> {
  const startedAt = Date.now();
  const conn = await pool.connect();
  // A checked-out client has no listener of the pool's: the server going away (a restart, a
  // failover, an immediate shutdown) while it is held would be an unhandled "error" event and
  // end the process. Heard here, the connection is lost: the statement in flight (or the next)
  // fails, the transaction fails like any other, and the client is discarded, not pooled.
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
    observer.failed(error, startedAt);
  };
  conn.on("error", onError);
  let broken: Error | undefined;
  try {
    await conn.query("BEGIN");
    const result = await fn(joinedTransaction(pgQueries(conn)));
    await conn.query("COMMIT");
    return result;
  } catch (error) {
    if (lost === undefined) {
      try {
        await conn.query("ROLLBACK");
      } catch (rollbackError) {
        // A connection that cannot even roll back must not go back into the pool.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
    }
    throw error;
  } finally {
    // Synchronously with release, which puts the pool's own idle listener back on the client.
    conn.off("error", onError);
    conn.release(broken ?? lost);
  }
}

function pgliteQueries(db: PGlite | PGliteTransaction): Pick<SqlClient, "query" | "exec"> {
  return {
    async query<T>(text: string, params: SqlParam[] = []) {
      const result = await db.query<T>(text, params);
      return { rows: result.rows };
    },
    async exec(script: string) {
      // PGlite's query() uses the extended protocol (one statement); exec() takes scripts.
      await db.exec(script);
    },
  };
}

export function pgliteSqlClient(db: PGlite): SqlClient {
  return {
    ...pgliteQueries(db),
    // PGlite is one connection: its transaction() holds it exclusively until fn settles.
    transaction: (fn) => db.transaction((tx) => fn(joinedTransaction(pgliteQueries(tx)))),
    close: () => db.close(),
  };
}
