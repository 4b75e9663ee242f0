import { readFileSync } from "node:fs";
import { getSecret } from "@aws-lambda-powertools/parameters/secrets";
import { Signer } from "@aws-sdk/rds-signer";
import { Cluster, Redis } from "ioredis";
import type { PoolConfig } from "pg";
import { RedisClaimStore } from "../claims/index.ts";
import type { Config } from "../config.ts";
import { ValidationError } from "../errors.ts";
import { RedisHistoryStore } from "../history/index.ts";
import type { RedisHistoryOptions } from "../history/redis-history.ts";
import {
  type CredentialProvider,
  type CredentialSource,
  credentialProvider,
} from "../ledger/credentials.ts";
import { openPostgresLedger, type SqlLedger } from "../ledger/index.ts";
import { type ConnectionObserver, DependencyTracker } from "../observability/dependency-state.ts";
import type { Logger } from "../observability/logger.ts";
import type { RedisClient } from "../redis-client.ts";
import { watchRedis } from "./dependency-watch.ts";

/**
 * Connection settings on AWS come from the parsed configuration (the addresses and secret ARNs
 * the platform sets) plus Secrets Manager or RDS IAM tokens, read at run time (SEC-4): never a
 * password in an environment variable or in code. Local runs and tests set DATABASE_URL /
 * REDIS_URL instead.
 */
const SECRET_MAX_AGE_SECONDS = 300;
/** An RDS IAM authentication token is valid for 15 minutes: one is reused for 10. */
export const IAM_TOKEN_MAX_AGE_MS = 10 * 60_000;

export type DatabaseSettings = Pick<
  Config,
  | "DATABASE_URL"
  | "DB_HOST"
  | "DB_PORT"
  | "DB_NAME"
  | "DB_USER"
  | "DB_AUTH"
  | "DB_SECRET_ARN"
  | "DB_CA_BUNDLE"
  | "DB_POOL_MAX"
  | "AWS_REGION"
>;

function requiredSetting<K extends keyof Config>(config: Pick<Config, K>, name: K): string {
  const value = config[name];
  if (value === undefined || value === "") {
    throw new ValidationError(String(name), `${String(name)} is not set`);
  }
  return String(value);
}

/** How a secret is read: Powertools' getSecret (cached for maxAge, unless forceFetch). */
export type SecretReader = (
  secretArn: string,
  options: { maxAge: number; transform: "json"; forceFetch: boolean },
) => Promise<unknown>;

const powertoolsSecret: SecretReader = (secretArn, options) => getSecret(secretArn, options);

/**
 * The password of DB_USER, read from the RDS-managed secret (JSON {username, password}) through
 * Powertools' cache; `force` reads past the cache (the cached one was just refused).
 */
export function secretPasswordSource(
  secretArn: string,
  readSecret: SecretReader = powertoolsSecret,
): CredentialSource {
  return async (force) => {
    const value = await readSecret(secretArn, {
      maxAge: SECRET_MAX_AGE_SECONDS,
      transform: "json",
      forceFetch: force,
    });
    const password = (value as { password?: unknown } | undefined)?.password;
    if (typeof password !== "string" || password === "") {
      throw new Error("the database secret has no password");
    }
    return password;
  };
}

/**
 * An RDS IAM authentication token for DB_USER: signed locally with the function's or the
 * task's role credentials (rds-db:connect), nothing stored, nothing to rotate.
 */
export function iamTokenSource(
  settings: Pick<Config, "DB_HOST" | "DB_PORT" | "DB_USER" | "AWS_REGION">,
): CredentialSource {
  const signer = new Signer({
    hostname: requiredSetting(settings, "DB_HOST"),
    port: settings.DB_PORT,
    username: settings.DB_USER,
    region: settings.AWS_REGION,
  });
  // Every call signs anew; the provider's cache decides how long one token is reused.
  return () => signer.getAuthToken();
}

/** The credential provider of DB_USER by DB_AUTH (AWS-3). */
export function databaseCredentials(
  settings: DatabaseSettings,
  readSecret: SecretReader = powertoolsSecret,
): CredentialProvider {
  if (settings.DB_AUTH === "iam") {
    return credentialProvider(iamTokenSource(settings), { maxAgeMs: IAM_TOKEN_MAX_AGE_MS });
  }
  const secretArn = requiredSetting(settings, "DB_SECRET_ARN");
  return credentialProvider(secretPasswordSource(secretArn, readSecret), {
    maxAgeMs: SECRET_MAX_AGE_SECONDS * 1000,
  });
}

/**
 * TLS to RDS, verified: the server's certificate must chain to a certificate authority of
 * DB_CA_BUNDLE (`rejectUnauthorized`) and name DB_HOST (pg passes the host as the TLS
 * servername and Node checks the name; nothing here overrides `checkServerIdentity`). Fails
 * closed: what crosses this connection is an IAM token (a 15-minute bearer credential) or the
 * secret's password, and the ledger, so without the bundle it is a configuration error, never
 * unverified TLS. The platform sets it: /var/runtime/ca-cert.pem in the Lambda Node.js runtime
 * (which includes the Amazon RDS authorities), /etc/ssl/rds/global-bundle.pem in the image.
 */
function databaseTls(settings: Pick<Config, "DB_CA_BUNDLE">): PoolConfig["ssl"] {
  const path = settings.DB_CA_BUNDLE;
  if (path === undefined || path === "") {
    throw new ValidationError(
      "DB_CA_BUNDLE",
      "DB_CA_BUNDLE is not set: the database's TLS certificate cannot be verified without the RDS certificate authorities",
    );
  }
  let ca: string;
  try {
    ca = readFileSync(path, "utf8");
  } catch (error) {
    throw new ValidationError(
      "DB_CA_BUNDLE",
      `DB_CA_BUNDLE ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (!ca.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ValidationError("DB_CA_BUNDLE", `DB_CA_BUNDLE ${path} holds no PEM certificate`);
  }
  return { ca, rejectUnauthorized: true };
}

/** The pg settings of the AWS path, without the password (the credential provider's). */
export function databasePoolConfig(settings: DatabaseSettings): PoolConfig {
  return {
    host: requiredSetting(settings, "DB_HOST"),
    port: settings.DB_PORT,
    database: settings.DB_NAME,
    user: settings.DB_USER,
    ssl: databaseTls(settings),
    max: settings.DB_POOL_MAX,
  };
}

/**
 * The ledger as the configuration says: DATABASE_URL when set (local runs, tests), else RDS
 * as DB_USER with its IAM token or secret, re-read and retried when a connection is refused.
 */
export function openConfiguredLedger(
  config: DatabaseSettings &
    Pick<Config, "TXWATCH_DB_SCHEMA"> &
    Partial<Pick<Config, "TXWATCH_LEDGER_CHAINS">>,
  observer?: ConnectionObserver,
): Promise<SqlLedger> {
  const schema = config.TXWATCH_DB_SCHEMA === undefined ? {} : { schema: config.TXWATCH_DB_SCHEMA };
  const observed = observer === undefined ? {} : { observer };
  const chains =
    config.TXWATCH_LEDGER_CHAINS === undefined ? {} : { chains: config.TXWATCH_LEDGER_CHAINS };
  if (config.DATABASE_URL !== undefined) {
    return openPostgresLedger({
      connectionString: config.DATABASE_URL,
      ...schema,
      ...chains,
      ...observed,
    });
  }
  return openPostgresLedger({
    pool: databasePoolConfig(config),
    credentials: databaseCredentials(config),
    ...schema,
    ...chains,
    ...observed,
  });
}

/**
 * The Redis client, its connection events told to `observer` (watchRedis): ioredis reconnects
 * by itself, so its errors are heard (an unheard one would crash the process or print ioredis's
 * own raw stack) and become the tracker's one line per change of state in the JSON log, as in
 * the local runtime. Commands that fail meanwhile still reject.
 */
export async function connectRedis(
  config: Pick<
    Config,
    "REDIS_URL" | "REDIS_HOST" | "REDIS_PORT" | "REDIS_AUTH_SECRET_ARN" | "REDIS_CLUSTER"
  >,
  observer: ConnectionObserver,
): Promise<RedisClient> {
  if (config.REDIS_URL !== undefined && !config.REDIS_CLUSTER) {
    return watchRedis(new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 }), observer);
  }
  const tokenArn = config.REDIS_AUTH_SECRET_ARN;
  const password =
    tokenArn === undefined
      ? undefined
      : await getSecret(tokenArn, { maxAge: SECRET_MAX_AGE_SECONDS });
  const auth = typeof password === "string" ? { password } : {};
  if (config.REDIS_CLUSTER) {
    const seed =
      config.REDIS_URL !== undefined
        ? new URL(config.REDIS_URL)
        : { hostname: requiredSetting(config, "REDIS_HOST"), port: String(config.REDIS_PORT) };
    const tls = config.REDIS_URL === undefined || config.REDIS_URL.startsWith("rediss:");
    return watchRedis(
      new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
        // ElastiCache with TLS: the node names the cluster announces must be connected to as
        // they are (not resolved to IPs), or the certificate check fails (ioredis's README).
        ...(tls && { dnsLookup: (address, callback) => callback(null, address) }),
        redisOptions: { ...auth, ...(tls && { tls: {} }), maxRetriesPerRequest: 2 },
        enableAutoPipelining: true,
      }),
      observer,
    );
  }
  return watchRedis(
    new Redis({
      host: requiredSetting(config, "REDIS_HOST"),
      port: config.REDIS_PORT,
      ...auth,
      tls: {},
      maxRetriesPerRequest: 2,
    }),
    observer,
  );
}

/** The card-token HMAC key, from Secrets Manager on AWS (TXWATCH_TOKEN_KEY locally). */
export async function tokenKeyText(
  config: Pick<Config, "TXWATCH_TOKEN_KEY" | "TXWATCH_TOKEN_KEY_SECRET_ARN">,
): Promise<string> {
  if (config.TXWATCH_TOKEN_KEY !== undefined) return config.TXWATCH_TOKEN_KEY;
  const value = await getSecret(requiredSetting(config, "TXWATCH_TOKEN_KEY_SECRET_ARN"), {
    maxAge: SECRET_MAX_AGE_SECONDS,
  });
  if (typeof value !== "string") throw new Error("the token key secret is not a string");
  return value;
}

/**
 * The ledger, the history store and the ingest claims as both AWS entries (Lambda processor,
 * API container) open them: the same schema and key prefix from the configuration, or the API
 * would read other tables and keys than the processor writes. Neither migrates: the owner step
 * does (AWS-3). `historyOptions` gives the processor's history store what it needs from the
 * ledger (its rebuild, REL-6); the API only reads the history, and claims ids. The claims share
 * the history's client, so closing them (first) and then the history closes Redis. Each store
 * going down or coming back is one line of `log` (REL-2, OPS-4), as in the local runtime.
 */
export async function openAwsStores(
  config: Config,
  log: Logger,
  historyOptions?: (ledger: SqlLedger) => RedisHistoryOptions,
): Promise<{ ledger: SqlLedger; history: RedisHistoryStore; claims: RedisClaimStore }> {
  const ledger = await openConfiguredLedger(config, new DependencyTracker("ledger", log));
  try {
    const redis = await connectRedis(config, new DependencyTracker("history", log));
    const prefix = config.TXWATCH_REDIS_PREFIX;
    return {
      ledger,
      history: new RedisHistoryStore(redis, prefix, undefined, historyOptions?.(ledger)),
      claims: new RedisClaimStore(redis, prefix),
    };
  } catch (error) {
    await ledger.close();
    throw error;
  }
}

/**
 * The Kinesis stream the API puts transactions on. No default: a guessed name would accept
 * nothing (or feed the wrong stream), so the container refuses to start without it.
 */
export function requiredStreamName(config: Pick<Config, "KINESIS_STREAM_NAME">): string {
  if (config.KINESIS_STREAM_NAME === undefined) {
    throw new ValidationError(
      "KINESIS_STREAM_NAME",
      "KINESIS_STREAM_NAME is not set: the API needs the Kinesis stream to put transactions on",
    );
  }
  return config.KINESIS_STREAM_NAME;
}
