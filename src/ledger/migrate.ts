import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SqlClient } from "./sql-client.ts";

export interface Migration {
  /** The file name without `.sql`, e.g. `20261121090000_init`: sorts in application order. */
  name: string;
  sql: string;
}

/** Beside this module; a bundler must copy the folder next to the bundle. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

const MIGRATION_FILE = /^(\d{14}_[a-z0-9_]+)\.sql$/;

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = MIGRATION_FILE.exec(file);
    if (match === null) continue;
    migrations.push({ name: match[1]!, sql: readFileSync(join(dir, file), "utf8") });
  }
  return migrations;
}

/** Per schema, so test schemas (and tenants sharing a server) do not wait for each other. */
const MIGRATION_LOCK =
  "SELECT pg_advisory_xact_lock(hashtextextended('txwatch.migrate.' || current_schema(), 0))";

async function appliedNames(db: SqlClient): Promise<Set<string>> {
  const { rows: exists } = await db.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  );
  if (exists[0]?.present !== true) return new Set();
  const { rows } = await db.query<{ name: string }>("SELECT name FROM schema_migrations");
  return new Set(rows.map((r) => r.name));
}

/**
 * Applies the pending migrations in order, each in its own transaction with its record in
 * schema_migrations, and returns the names applied (none when up to date).
 *
 * Two processes starting together (two Lambda environments, a deploy and a CLI) must not
 * both apply a migration: each migration's transaction takes an advisory lock first and then
 * re-checks the record, so the second waits and finds the work done. A transaction-scoped lock
 * needs no dedicated connection, so the same code runs on a pg pool and on PGlite.
 */
export async function migrate(
  db: SqlClient,
  migrations: Migration[] = loadMigrations(),
): Promise<string[]> {
  const already = await appliedNames(db);
  const applied: string[] = [];
  for (const migration of migrations) {
    if (already.has(migration.name)) continue;
    const done = await db.transaction(async (tx) => {
      await tx.query(MIGRATION_LOCK);
      await tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
      );
      const { rows } = await tx.query("SELECT 1 FROM schema_migrations WHERE name = $1", [
        migration.name,
      ]);
      if (rows.length > 0) return false;
      await tx.exec(migration.sql);
      await tx.query("INSERT INTO schema_migrations (name) VALUES ($1)", [migration.name]);
      return true;
    });
    if (done) applied.push(migration.name);
  }
  return applied;
}
