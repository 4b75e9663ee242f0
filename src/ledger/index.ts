export { type ChainRow, canonicalJson, GENESIS_HASH, rowHash } from "./hash-chain.ts";
export { loadMigrations, MIGRATIONS_DIR, type Migration, migrate } from "./migrate.ts";
export {
  type EmbeddedLedgerOptions,
  openEmbeddedLedger,
  openPostgresLedger,
  type PostgresLedgerOptions,
} from "./open.ts";
export {
  APPLICATION_ROLE,
  type ApplicationRoleOptions,
  ensureApplicationRole,
  grantApplicationRole,
} from "./roles.ts";
export { pgliteSqlClient, pgSqlClient, type SqlClient, type SqlParam } from "./sql-client.ts";
export { SqlLedger } from "./sql-ledger.ts";
export type * from "./types.ts";
export { verifyChain } from "./verify.ts";
