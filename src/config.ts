import { z } from "zod";
import { ValidationError } from "./errors.ts";

/**
 * Every setting the monitor reads, from the environment (README "Configuration").
 * Parsed once at start-up; a bad value stops the process with a message naming the variable.
 */
const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  TXWATCH_DATA_DIR: z.string().min(1).default("./.txwatch"),
  REDIS_URL: z.string().url().optional(),
  DATABASE_URL: z.string().url().optional(),
  /** Schema (search_path) for the ledger tables on PostgreSQL. */
  TXWATCH_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .optional(),
  TXWATCH_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,32}$/)
    .default("txw"),
  TXWATCH_RULESET: z.string().min(1).optional(),
  /** HMAC key for card tokens, hex (64+ chars) or base64 (44+ chars); generated locally if unset. */
  TXWATCH_TOKEN_KEY: z
    .string()
    .refine((v) => tokenKeyProblem(v) === undefined, {
      // The message says what is wrong with the key, never the key.
      error: (issue) => tokenKeyProblem(String(issue.input)) ?? "invalid",
    })
    .optional(),
  TXWATCH_STREAM: z.enum(["local", "kinesis"]).default("local"),
  TXWATCH_PARTITIONS: z.coerce.number().int().min(1).max(64).default(4),
  /**
   * Hash chains of the ledger (SCL-3): each stream partition or Kinesis shard commits on its own
   * (its number modulo this), so up to this many commit side by side. Changing it is safe.
   */
  TXWATCH_LEDGER_CHAINS: z.coerce.number().int().min(1).max(256).default(16),
  /**
   * Records the local stream holds unprocessed at most (REL-3): while the ledger or Redis is down
   * ingest goes on filling the stream; past this, new records are refused with a 503.
   */
  TXWATCH_MAX_BACKLOG: z.coerce.number().int().min(1000).default(2_000_000),
  KINESIS_STREAM_NAME: z.string().min(1).optional(),
  KINESIS_ENDPOINT: z.string().url().optional(),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  TXWATCH_BATCH_SIZE: z.coerce.number().int().min(1).max(10000).default(500),
  /**
   * A stream partition whose oldest unprocessed record is this old, with nothing processed for
   * as long, is stuck: /readyz answers 503 naming it (REL-5).
   */
  TXWATCH_STUCK_AFTER_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
  /** Requests per minute per merchant key. */
  TXWATCH_RATE_LIMIT: z.coerce.number().int().min(1).default(1200),
  TXWATCH_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  ALERT_WEBHOOK_URL: z.string().url().optional(),
  ALERT_TOPIC_ARN: z.string().min(1).optional(),
  /**
   * The alert outbox (REL-6): an alert a channel (webhook, SNS) has not delivered this many
   * seconds after it was raised is dead-lettered rather than retried further.
   */
  ALERT_DELIVERY_MAX_AGE_SECONDS: z.coerce.number().int().min(60).default(86_400),
  /** Failed attempts after which an alert is dead-lettered; 0: no limit but the max age. */
  ALERT_DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(0).default(0),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

  // On AWS the platform (infra/) sets these instead of DATABASE_URL / REDIS_URL /
  // TXWATCH_TOKEN_KEY: addresses and secret ARNs only, the secrets are read at run time (SEC-4).
  DB_HOST: z.string().min(1).optional(),
  DB_PORT: z.coerce.number().int().min(1).max(65535).default(5432),
  DB_NAME: z.string().min(1).default("txwatch"),
  /** The role the service connects as: the application role, never the owner (AWS-3). */
  DB_USER: z.string().min(1).default("txwatch_app"),
  /**
   * How DB_USER authenticates: `iam` with an RDS IAM authentication token (nothing to rotate),
   * `secret` with the password in the DB_SECRET_ARN secret (the owner's, for migrations).
   */
  DB_AUTH: z.enum(["iam", "secret"]).default("iam"),
  DB_SECRET_ARN: z.string().min(1).optional(),
  /** PEM bundle of the RDS certificate authorities, so TLS to the ledger is verified. */
  DB_CA_BUNDLE: z.string().min(1).optional(),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(4),
  REDIS_HOST: z.string().min(1).optional(),
  REDIS_PORT: z.coerce.number().int().min(1).max(65535).default(6379),
  REDIS_AUTH_SECRET_ARN: z.string().min(1).optional(),
  /**
   * SCL-2: REDIS_HOST is the configuration endpoint of a Redis Cluster (ElastiCache cluster
   * mode enabled), reached with ioredis's Cluster client; the history and claims keep every
   * script call within one hash slot.
   */
  REDIS_CLUSTER: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  TXWATCH_TOKEN_KEY_SECRET_ARN: z.string().min(1).optional(),
  /** The processed-transactions bucket the daily ledger archive is written to (AWS-6). */
  ARCHIVE_BUCKET: z.string().min(1).optional(),
});

export type Config = z.infer<typeof configSchema>;

/**
 * The name of every variable the monitor reads. infra/ types the environment it gives the
 * Lambda and the container with it, so a variable the program sets and the code does not read
 * (or a misspelt one) fails the type check.
 */
export type ConfigVariable = keyof z.input<typeof configSchema>;

/** Every variable the monitor reads, by name. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = Object.freeze(
  Object.keys(configSchema.shape) as ConfigVariable[],
);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (result.success) {
    const config = result.data;
    if (config.TXWATCH_STREAM === "kinesis" && config.KINESIS_STREAM_NAME === undefined) {
      throw new ValidationError(
        "KINESIS_STREAM_NAME",
        "KINESIS_STREAM_NAME is required when TXWATCH_STREAM=kinesis",
      );
    }
    return config;
  }
  const issue = result.error.issues[0]!;
  const field = String(issue.path[0]);
  throw new ValidationError(field, `${field}: ${issue.message}`);
}

const HEX = /^[0-9a-fA-F]+$/;
/** Standard or URL-safe alphabet, padded or not: Buffer.from would skip any other character. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+={0,2}$/;
const MIN_TOKEN_KEY_BYTES = 32;

function decodeKeyText(trimmed: string): Buffer | undefined {
  if (HEX.test(trimmed) && trimmed.length % 2 === 0) return Buffer.from(trimmed, "hex");
  if (BASE64.test(trimmed)) return Buffer.from(trimmed, "base64");
  return undefined;
}

/** What is wrong with a token key text, or undefined; never quotes the key. */
function tokenKeyProblem(text: string): string | undefined {
  const key = decodeKeyText(text.trim());
  if (key === undefined) return "must be hex or base64 (e.g. the output of: openssl rand -hex 32)";
  if (key.length < MIN_TOKEN_KEY_BYTES) {
    return `must decode to at least ${MIN_TOKEN_KEY_BYTES} bytes (e.g. openssl rand -hex 32); it decodes to ${key.length}`;
  }
  return undefined;
}

/**
 * Decodes a token key given as hex or base64; at least 32 bytes, so HMAC tokens stay
 * unguessable. Also used for the key read from Secrets Manager, which loadConfig never sees.
 */
export function decodeTokenKey(text: string): Buffer {
  const problem = tokenKeyProblem(text);
  if (problem !== undefined) {
    throw new ValidationError("TXWATCH_TOKEN_KEY", `TXWATCH_TOKEN_KEY ${problem}`);
  }
  return decodeKeyText(text.trim())!;
}
