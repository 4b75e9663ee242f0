import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { ConnectionObserver } from "../observability/dependency-state.ts";
import { type CredentialProvider, reauthenticatingPool } from "./credentials.ts";
import { pgliteSqlClient, pgSqlClient } from "./sql-client.ts";
import { type ChainOptions, SqlLedger } from "./sql-ledger.ts";

export interface PostgresLedgerOptions extends ChainOptions {
  /** A postgres:// URL. Either this or `pool` (or both: the URL wins over pool's). */
  connectionString?: string;
  /** Full pg settings, for what a URL cannot carry (TLS CA bundle, a rotating password). */
  pool?: pg.PoolConfig;
  /**
   * Schema the ledger lives in, created when missing and put first on the search_path of
   * every connection. Lets tests (and several ledgers on one server) stay apart.
   * @default the server's search_path (normally `public`)
   */
  schema?: string;
  /**
   * The password of every new connection (a rotated secret, an RDS IAM token): a connection
   * refused for it re-reads it and is retried once (AWS-3). Overrides `pool.password`.
   */
  credentials?: CredentialProvider;
  /**
   * Hears whether the server is reachable: each query's and transaction's outcome and the
   * pool's lost idle connections (REL-2). Unset, they are only survived, not reported.
   */
  observer?: ConnectionObserver;
}

/** Unquoted identifiers fold to lower case on the search_path, so only those are accepted. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** How long a new connection to PostgreSQL may take before the attempt fails. */
export const CONNECT_TIMEOUT_MS = 5000;

/** Opens (and checks it can reach) a ledger on PostgreSQL. Call migrate() before use. */
export async function openPostgresLedger(options: PostgresLedgerOptions): Promise<SqlLedger> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(
      `schema must match ${SCHEMA_NAME} (lower-case letters, digits, _), got ${JSON.stringify(schema)}`,
    );
  }
  if (options.connectionString === undefined && options.pool === undefined) {
    throw new Error("openPostgresLedger needs a connectionString or pool settings");
  }
  const config: pg.PoolConfig = {
    // A host that stops answering (rather than refusing) must not hold a request forever: a
    // new connection gives up after this, and TCP keepalive finds a dead one in use (REL-3).
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    ...options.pool,
    ...(options.connectionString !== undefined && { connectionString: options.connectionString }),
  };
  if (schema !== undefined) {
    // A startup option applies to every pooled connection before its first query, so no
    // query can ever run against another schema.
    config.options = [options.pool?.options, `-c search_path=${schema}`].filter(Boolean).join(" ");
  }
  const { credentials } = options;
  if (credentials !== undefined) config.password = () => credentials.current();
  const pool = new pg.Pool(config);
  if (credentials !== undefined) reauthenticatingPool(pool, credentials);
  // An idle connection dropped by the server (failover, restart) emits here; without a
  // listener that would crash the process. The pool discards it and the next query reconnects.
  // (A checked-out client's own "error" event is pgSqlClient's to hear.)
  const { observer } = options;
  pool.on("error", (error) => observer?.failed(error));
  const ledger = new SqlLedger(pgSqlClient(pool, observer), Date.now, options);
  try {
    if (schema !== undefined) {
      await ledger.db.transaction(async (tx) => {
        // Concurrent CREATE SCHEMA IF NOT EXISTS can still collide in the catalog.
        await tx.query("SELECT pg_advisory_xact_lock(hashtextextended('txwatch.schema', 0))");
        // Checked first: even IF NOT EXISTS needs CREATE on the database, which the
        // application's role (using a schema the owner made) does not have.
        const { rows } = await tx.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
        if (rows.length === 0) await tx.exec(`CREATE SCHEMA ${schema}`);
      });
    }
    await ledger.ping();
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return ledger;
}

export interface EmbeddedLedgerOptions extends ChainOptions {
  /** Directory for the database files. @default in memory (gone at close) */
  dataDir?: string;
}

/** The same ledger on PGlite (PostgreSQL in WebAssembly, in process): no server to run. */
export async function openEmbeddedLedger(options: EmbeddedLedgerOptions = {}): Promise<SqlLedger> {
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  return new SqlLedger(pgliteSqlClient(db), Date.now, options);
}
