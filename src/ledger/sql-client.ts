import type { PGlite, Transaction as PGliteTransaction } from "@electric-sql/pglite";
import type pg from "pg";

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

export function pgSqlClient(pool: pg.Pool): SqlClient {
  return {
    ...pgQueries(pool),
    async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
      const conn = await pool.connect();
      let broken: Error | undefined;
      try {
        await conn.query("BEGIN");
        const result = await fn(joinedTransaction(pgQueries(conn)));
        await conn.query("COMMIT");
        return result;
      } catch (error) {
        try {
          await conn.query("ROLLBACK");
        } catch (rollbackError) {
          // A connection that cannot even roll back must not go back into the pool.
          broken =
            rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw error;
      } finally {
        conn.release(broken);
      }
    },
    close: () => pool.end(),
  };
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
