import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { loadConfig } from "../../src/config.ts";
import type { CredentialProvider } from "../../src/ledger/credentials.ts";
import {
  ensureApplicationRole,
  openPostgresLedger,
  type SqlLedger,
} from "../../src/ledger/index.ts";
import {
  databaseCredentials,
  databasePoolConfig,
  type SecretReader,
} from "../../src/runtime/aws-stores.ts";
import { ledgerRecords, uniqueMerchant } from "../ledger/ledger.suite.ts";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.ts";
import { uniqueName } from "../support/services.ts";

/**
 * AWS-3 against a real PostgreSQL that checks passwords (a private scram-sha-256 cluster: the
 * shared server trusts 127.0.0.1): the service's ledger, configured exactly as on AWS with
 * DB_AUTH=secret, keeps committing while the role's password is rotated under it.
 */

/**
 * Secrets Manager as Powertools' getSecret sees it: the stored value, cached for maxAge
 * seconds, re-fetched before that only with forceFetch. Counts fetches.
 */
class FakeSecretsManager {
  stored: { username: string; password: string };
  fetches = 0;
  forcedFetches = 0;
  private cached: { value: { username: string; password: string }; at: number } | undefined;
  constructor(username: string, password: string) {
    this.stored = { username, password };
  }
  readonly read: SecretReader = async (_arn, options) => {
    const fresh = this.cached !== undefined && Date.now() - this.cached.at < options.maxAge * 1000;
    if (fresh && !options.forceFetch) return { ...this.cached!.value };
    this.fetches++;
    if (options.forceFetch) this.forcedFetches++;
    this.cached = { value: { ...this.stored }, at: Date.now() };
    return { ...this.cached.value };
  };
}

/** Counts the provider's invalidations: one per connection refused for its credential. */
function counted(provider: CredentialProvider): CredentialProvider & { invalidations: number } {
  const wrapped = {
    invalidations: 0,
    current: () => provider.current(),
    invalidate() {
      wrapped.invalidations++;
      provider.invalidate();
    },
  };
  return wrapped;
}

describe("PostgreSQL with password authentication: rotation of the service's credential", () => {
  let server: PrivatePostgres;
  let superuser: pg.Client;
  const schema = "txwatch";
  const opened: SqlLedger[] = [];

  before(async () => {
    server = await startPrivatePostgres();
    superuser = new pg.Client({ connectionString: server.url });
    await superuser.connect();
    const owner = await openPostgresLedger({ connectionString: server.url, schema });
    opened.push(owner);
    await owner.migrate();
  });

  after(async () => {
    for (const ledger of opened.reverse()) await ledger.close().catch(() => {});
    await superuser?.end().catch(() => {});
    await server?.stop();
  });

  /** The application role with a password, made as the owner step makes it. */
  async function applicationRole(password: string): Promise<string> {
    const role = uniqueName("txwatch_app");
    await superuser.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await ensureApplicationRole(opened[0]!.db, { role, iamAuth: false });
    return role;
  }

  /** The service's settings on AWS (DB_AUTH=secret), pointed at the private cluster. */
  function serviceConfig(role: string) {
    return loadConfig({
      DB_HOST: server.host,
      DB_PORT: String(server.port),
      DB_NAME: "postgres",
      DB_USER: role,
      DB_AUTH: "secret",
      DB_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:txwatch-app-AbCdEf",
      DB_POOL_MAX: "3",
      // Required on the AWS path; ssl is then turned off below (the cluster has no certificate).
      DB_CA_BUNDLE: "/etc/ssl/certs/ca-certificates.crt",
      TXWATCH_DB_SCHEMA: schema,
    });
  }

  async function openService(
    role: string,
    secrets: FakeSecretsManager,
    extra: pg.PoolConfig = {},
  ): Promise<{ ledger: SqlLedger; credentials: ReturnType<typeof counted> }> {
    const config = serviceConfig(role);
    const credentials = counted(databaseCredentials(config, secrets.read));
    const ledger = await openPostgresLedger({
      // The AWS path's pool settings; the private cluster has no TLS certificate.
      pool: {
        ...databasePoolConfig(config),
        ssl: false,
        connectionTimeoutMillis: 10_000,
        ...extra,
      },
      credentials,
      schema,
    });
    opened.push(ledger);
    return { ledger, credentials };
  }

  test("AWS-3 a password rotated mid-run: every batch commits, each refused connection is retried once with the re-read secret", {
    timeout: 180_000,
  }, async () => {
    const role = await applicationRole("password-A");
    const secrets = new FakeSecretsManager(role, "password-A");
    // maxUses: connections are replaced all the time, so new ones are opened mid-run.
    const { ledger, credentials } = await openService(role, secrets, { maxUses: 4 });
    assert.equal(secrets.fetches, 1);

    const failures: unknown[] = [];
    const committed = new Map<string, number>();
    let batches = 0;
    let inFlight = 0;
    let gate: Promise<void> = Promise.resolve();
    // Opens the gate however the run ends, so a stage that fails cannot leave workers waiting.
    let open: () => void = () => {};
    let stopping = false;

    async function worker(): Promise<void> {
      const merchantId = uniqueMerchant();
      committed.set(merchantId, 0);
      while (!stopping) {
        await gate;
        inFlight++;
        try {
          const records = ledgerRecords(merchantId, 3);
          const { inserted } = await ledger.commitBatch(records, [], []);
          assert.equal(inserted.length, 3);
          committed.set(merchantId, committed.get(merchantId)! + inserted.length);
          batches++;
          // A read through pool.query, which connects implicitly.
          assert.ok(await ledger.getTransaction(merchantId, records[2]!.tx.transactionId));
        } catch (error) {
          failures.push(error);
        } finally {
          inFlight--;
        }
      }
    }
    async function until(condition: () => boolean): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error("timed out waiting for the workers");
        await sleep(10);
      }
    }

    const workers = [worker(), worker(), worker()];
    try {
      await until(() => batches >= 15);
      assert.equal(credentials.invalidations, 0, "nothing refused before the rotation");

      // Rotation 1, mid-run: the password changes and the secret store with it; Powertools'
      // cache (and the provider's) still hold the old one for minutes.
      await superuser.query(`ALTER ROLE ${role} PASSWORD 'password-B'`);
      secrets.stored.password = "password-B";
      const atRotation = batches;
      await until(() => batches >= atRotation + 30);
      assert.ok(credentials.invalidations >= 1, "a new connection was refused the old password");
      assert.ok(secrets.forcedFetches >= 1, "the secret was re-read past the cache");

      // Rotation 2 with the role's sessions killed, so every connection is a new one.
      gate = new Promise((resolve) => {
        open = resolve;
      });
      await until(() => inFlight === 0);
      await superuser.query(`ALTER ROLE ${role} PASSWORD 'password-C'`);
      secrets.stored.password = "password-C";
      // Whatever sessions the pool still holds go (maxUses may have retired them all already):
      // either way every connection from here on is a new one, offered the refused password.
      await superuser.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
        [role],
      );
      // The pool drops its killed idle connections when their sockets close.
      await sleep(200);
      const beforeSecond = {
        invalidations: credentials.invalidations,
        forced: secrets.forcedFetches,
      };
      open();
      const atKill = batches;
      await until(() => batches >= atKill + 15);
      assert.ok(credentials.invalidations > beforeSecond.invalidations);
      assert.ok(secrets.forcedFetches > beforeSecond.forced);
    } finally {
      stopping = true;
      open();
      await Promise.all(workers);
    }

    assert.deepEqual(failures, [], "no batch or query failed");
    // Reads from the store: the first one and at most one per refused connection.
    assert.ok(secrets.fetches <= 1 + credentials.invalidations);
    // Every committed batch is in the ledger, once.
    for (const [merchantId, expected] of committed) {
      const { rows } = await superuser.query(
        `SELECT count(*)::int AS n FROM ${schema}.transactions WHERE merchant_id = $1`,
        [merchantId],
      );
      assert.equal(rows[0].n, expected, merchantId);
    }
    const verified = await ledger.verifyChain();
    assert.equal(verified.ok, true);
    assert.equal(verified.checked, batches * 3);
  });

  test("AWS-3 a refused credential is retried once, not forever: a wrong secret fails with 28P01 after one forced re-read", async () => {
    const role = await applicationRole("the-real-one");
    const secrets = new FakeSecretsManager(role, "a-wrong-one");
    await assert.rejects(openService(role, secrets), (error: { code?: string }) => {
      assert.equal(error.code, "28P01");
      return true;
    });
    assert.equal(secrets.fetches, 2);
    assert.equal(secrets.forcedFetches, 1);
  });

  test("AWS-3 ensureApplicationRole grants rds_iam where it exists (RDS), and only then", async () => {
    const withoutIam = uniqueName("txwatch_app");
    await ensureApplicationRole(opened[0]!.db, { role: withoutIam, iamAuth: true });
    await superuser.query("CREATE ROLE rds_iam NOLOGIN");
    const withIam = uniqueName("txwatch_app");
    await ensureApplicationRole(opened[0]!.db, { role: withIam, iamAuth: true });
    const notIam = uniqueName("txwatch_app");
    await ensureApplicationRole(opened[0]!.db, { role: notIam, iamAuth: false });
    const { rows } = await superuser.query<{ member: string }>(
      "SELECT m.rolname AS member FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = 'rds_iam'",
    );
    assert.deepEqual(
      rows.map((r) => r.member),
      [withIam],
    );
  });
});
