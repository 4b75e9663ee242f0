import type { SqlClient } from "./sql-client.ts";

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Grants an existing role exactly what the running service needs on the ledger's schema
 * (PRC-4: "the app's role cannot UPDATE/DELETE ledger rows"): SELECT and INSERT everywhere,
 * UPDATE only of an alert's status and a key's revocation, and the ledger's functions.
 * Run by the owner (the migrating role); the service then connects as `role`, which owns
 * nothing, so it can neither change ledger rows nor disable the triggers that forbid it.
 */
export async function grantApplicationRole(db: SqlClient, role: string): Promise<void> {
  if (!ROLE_NAME.test(role))
    throw new Error(`role must match ${ROLE_NAME}, got ${JSON.stringify(role)}`);
  const { rows } = await db.query<{ schema: string }>("SELECT current_schema() AS schema");
  const schema = rows[0]?.schema;
  if (schema === undefined || !ROLE_NAME.test(schema))
    throw new Error(`unexpected schema ${schema}`);
  await db.transaction((tx) =>
    tx.exec(`
      GRANT USAGE ON SCHEMA ${schema} TO ${role};
      GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA ${schema} TO ${role};
      GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role};
      GRANT UPDATE (status, updated_at) ON ${schema}.alerts TO ${role};
      GRANT UPDATE (revoked_at) ON ${schema}.api_keys TO ${role};
      GRANT EXECUTE ON FUNCTION ${schema}.ensure_transactions_partition(date) TO ${role};
      GRANT EXECUTE ON FUNCTION ${schema}.ledger_claim_and_lock(jsonb) TO ${role};
      REVOKE INSERT ON ${schema}.schema_migrations FROM ${role};
    `),
  );
}
