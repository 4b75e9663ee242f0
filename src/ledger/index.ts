export {
  type CheckpointPolicy,
  chainOf,
  DEFAULT_CHECKPOINTS,
  DEFAULT_LEDGER_CHAINS,
  MAX_LEDGER_CHAINS,
} from "./chains.ts";
export {
  type ChainRow,
  type Checkpoint,
  type CheckpointHead,
  canonicalJson,
  checkpointHash,
  GENESIS_HASH,
  rowHash,
} from "./hash-chain.ts";
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
export { type ChainOptions, SqlLedger } from "./sql-ledger.ts";
export type * from "./types.ts";
export { verifyChain } from "./verify.ts";
