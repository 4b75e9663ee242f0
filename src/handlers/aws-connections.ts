import { readFileSync } from "node:fs";
import { getSecret } from "@aws-lambda-powertools/parameters/secrets";
import { Redis } from "ioredis";
import type { PoolConfig } from "pg";
import type { Config } from "../config.ts";
import { ValidationError } from "../errors.ts";
import { RedisHistoryStore } from "../history/index.ts";
import { openPostgresLedger, type SqlLedger } from "../ledger/index.ts";

/**
 * Connection settings on AWS come from the environment the platform sets plus Secrets Manager,
 * read at run time (SEC-4): never a password in an environment variable or in code. Local runs
 * and tests set DATABASE_URL / REDIS_URL instead.
 */
const SECRET_MAX_AGE_SECONDS = 300;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

async function secretJson(arn: string): Promise<Record<string, unknown>> {
  const value = await getSecret(arn, { maxAge: SECRET_MAX_AGE_SECONDS, transform: "json" });
  return (value ?? {}) as Record<string, unknown>;
}

/** TLS to RDS: verified against DB_CA_BUNDLE when the image carries one. */
function databaseTls(): PoolConfig["ssl"] {
  const bundle = process.env.DB_CA_BUNDLE;
  return bundle === undefined
    ? { rejectUnauthorized: false }
    : { ca: readFileSync(bundle, "utf8") };
}

export function databasePoolConfig(): PoolConfig {
  if (process.env.DATABASE_URL !== undefined) return { connectionString: process.env.DATABASE_URL };
  const secretArn = required("DB_SECRET_ARN");
  return {
    host: required("DB_HOST"),
    port: Number(process.env.DB_PORT ?? 5432),
    database: process.env.DB_NAME ?? "txwatch",
    ssl: databaseTls(),
    max: Number(process.env.DB_POOL_MAX ?? 4),
    // The RDS-managed secret rotates: every new connection reads the (cached) current value.
    user: process.env.DB_USER ?? "txwatch",
    password: async () => String((await secretJson(secretArn)).password ?? ""),
  };
}

/**
 * ioredis reconnects by itself; its error events only need to be seen, not thrown (an
 * unhandled "error" event would crash the process). Commands that fail still reject.
 */
function quietErrors(redis: Redis): Redis {
  let last = 0;
  redis.on("error", (error: Error) => {
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    const line = { level: "warn", msg: "redis connection error", err: error.message };
    process.stderr.write(`${JSON.stringify(line)}\n`);
  });
  return redis;
}

export async function connectRedis(): Promise<Redis> {
  if (process.env.REDIS_URL !== undefined) {
    return quietErrors(new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 2 }));
  }
  const tokenArn = process.env.REDIS_AUTH_SECRET_ARN;
  const password =
    tokenArn === undefined
      ? undefined
      : await getSecret(tokenArn, { maxAge: SECRET_MAX_AGE_SECONDS });
  return quietErrors(
    new Redis({
      host: required("REDIS_HOST"),
      port: Number(process.env.REDIS_PORT ?? 6379),
      ...(typeof password === "string" && { password }),
      tls: {},
      maxRetriesPerRequest: 2,
    }),
  );
}

/** The card-token HMAC key, from Secrets Manager on AWS (TXWATCH_TOKEN_KEY locally). */
export async function tokenKeyText(): Promise<string> {
  if (process.env.TXWATCH_TOKEN_KEY !== undefined) return process.env.TXWATCH_TOKEN_KEY;
  const value = await getSecret(required("TXWATCH_TOKEN_KEY_SECRET_ARN"), {
    maxAge: SECRET_MAX_AGE_SECONDS,
  });
  if (typeof value !== "string") throw new Error("the token key secret is not a string");
  return value;
}

/**
 * The ledger and the history store as both AWS entries (Lambda processor, API container) open
 * them: the same schema and key prefix from the configuration, or the API would read other
 * tables and keys than the processor writes.
 */
export async function openAwsStores(
  config: Pick<Config, "TXWATCH_DB_SCHEMA" | "TXWATCH_REDIS_PREFIX">,
): Promise<{ ledger: SqlLedger; history: RedisHistoryStore }> {
  const ledger = await openPostgresLedger({
    pool: databasePoolConfig(),
    ...(config.TXWATCH_DB_SCHEMA && { schema: config.TXWATCH_DB_SCHEMA }),
  });
  try {
    return {
      ledger,
      history: new RedisHistoryStore(await connectRedis(), config.TXWATCH_REDIS_PREFIX),
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
