import type { SqlClient } from "./sql-client.ts";

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Grants an existing role exactly what the running service needs on the ledger's schema
 * (PRC-4: "the app's role cannot UPDATE/DELETE ledger rows"): SELECT and INSERT everywhere,
 * UPDATE only of an alert's status, a key's revocation and the alert outbox's delivery cursors
 * (REL-6), and the ledger's functions.
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
  // Exactly these: whatever the role held before (granted by hand, or by an older version of
  // this function) is revoked first, in the same transaction, so no moment lacks the grants
  // and no extra privilege (an UPDATE or DELETE on a ledger table) survives a deploy.
  // Revoking a table's privileges revokes its column privileges too.
  await db.transaction((tx) =>
    tx.exec(`
      REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${role};
      REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${role};
      REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ${schema} FROM ${role};
      REVOKE ALL ON SCHEMA ${schema} FROM ${role};
      GRANT USAGE ON SCHEMA ${schema} TO ${role};
      GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA ${schema} TO ${role};
      GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role};
      GRANT UPDATE (status, updated_at) ON ${schema}.alerts TO ${role};
      GRANT UPDATE (revoked_at) ON ${schema}.api_keys TO ${role};
      GRANT UPDATE (cursor_id, lease_owner, lease_expires_at, updated_at)
        ON ${schema}.alert_delivery TO ${role};
      GRANT EXECUTE ON FUNCTION ${schema}.ensure_transactions_partition(date) TO ${role};
      GRANT EXECUTE ON FUNCTION
        ${schema}.ledger_claim_and_lock(jsonb, integer, bigint, bigint) TO ${role};
      REVOKE INSERT ON ${schema}.schema_migrations FROM ${role};
    `),
  );
}

/** The role the services (API container, processor and archive Lambdas) connect as (AWS-3). */
export const APPLICATION_ROLE = "txwatch_app";

export interface ApplicationRoleOptions {
  role: string;
  /**
   * Whether the role signs in with RDS IAM authentication tokens: it is then granted `rds_iam`
   * where that role exists (RDS and Aurora only; a plain PostgreSQL has none and is skipped).
   */
  iamAuth: boolean;
}

/**
 * Makes the application role exist with exactly grantApplicationRole's privileges: created
 * (LOGIN, no password, owning nothing) when missing, `rds_iam` granted for IAM authentication,
 * then the grants. Run by the owner after the migrations; running it again changes nothing.
 */
export async function ensureApplicationRole(
  db: SqlClient,
  options: ApplicationRoleOptions,
): Promise<void> {
  const { role } = options;
  if (!ROLE_NAME.test(role))
    throw new Error(`role must match ${ROLE_NAME}, got ${JSON.stringify(role)}`);
  await db.transaction(async (tx) => {
    // Roles are cluster-wide: two schemas' owners (or two deploys) may create it together.
    await tx.query("SELECT pg_advisory_xact_lock(hashtextextended('txwatch.role.' || $1, 0))", [
      role,
    ]);
    const { rows } = await tx.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
    if (rows.length === 0) await tx.exec(`CREATE ROLE ${role} LOGIN`);
    if (options.iamAuth) {
      const { rows: iam } = await tx.query("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'");
      if (iam.length > 0) await tx.exec(`GRANT rds_iam TO ${role}`);
    }
  });
  await grantApplicationRole(db, role);
}
