import type pg from "pg";

/**
 * Reads the current database credential (a password from Secrets Manager, an RDS IAM token).
 * `force` asks for a fresh read past any cache of the source's own: after an authentication
 * failure the cached value is the one that was refused.
 */
export type CredentialSource = (force: boolean) => Promise<string>;

export interface CredentialProvider {
  /** The credential for the next new connection: cached for maxAgeMs, else read. */
  current(): Promise<string>;
  /** Forgets the cached credential; the next current() reads it again with force. */
  invalidate(): void;
}

export interface CredentialProviderOptions {
  /** How long a credential is reused before it is read again (an IAM token lives 15 min). */
  maxAgeMs: number;
  now?: () => number;
}

/**
 * Caches what `read` returns, one read at a time (a pool opening several connections at once
 * reads once). A rotated secret or an expired token is noticed when a new connection is
 * refused: the pool seam (`reauthenticatingPool`) then invalidates and retries once.
 */
export function credentialProvider(
  read: CredentialSource,
  options: CredentialProviderOptions,
): CredentialProvider {
  const now = options.now ?? (() => Date.now());
  let cached: { value: string; at: number } | undefined;
  let pending: Promise<string> | undefined;
  let forceNext = false;
  let generation = 0;
  async function readAndCache(force: boolean): Promise<string> {
    const readGeneration = generation;
    try {
      const value = await read(force);
      // Invalidated while reading: the value may be the refused one, so it is not kept.
      if (readGeneration === generation) cached = { value, at: now() };
      return value;
    } catch (error) {
      if (force) forceNext = true;
      throw error;
    }
  }
  return {
    current() {
      if (cached !== undefined && now() - cached.at < options.maxAgeMs) {
        return Promise.resolve(cached.value);
      }
      if (pending !== undefined) return pending;
      const force = forceNext;
      forceNext = false;
      const reading = readAndCache(force);
      pending = reading;
      const settled = () => {
        if (pending === reading) pending = undefined;
      };
      reading.then(settled, settled);
      return reading;
    },
    invalidate() {
      cached = undefined;
      pending = undefined;
      forceNext = true;
      generation += 1;
    },
  };
}

/**
 * SQLSTATE 28P01 (invalid_password: a rotated password) or 28000
 * (invalid_authorization_specification: what RDS answers to an expired or bad IAM token).
 */
export function isAuthenticationFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "28P01" || code === "28000";
}

type ConnectCallback = (
  error: Error | undefined,
  client: pg.PoolClient | undefined,
  release: pg.PoolClient["release"] | undefined,
) => void;

/**
 * The pool's seam for every new connection: pg calls `password` for each one, and both
 * pool.connect() and pool.query() (which connects implicitly) go through pool.connect. A
 * connection refused for its credential invalidates the provider and is retried once with a
 * freshly read one; any other error, or a second refusal, is the caller's.
 */
export function reauthenticatingPool(pool: pg.Pool, credentials: CredentialProvider): pg.Pool {
  const connectOnce = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
  const connectWithRetry = async (): Promise<pg.PoolClient> => {
    try {
      return await connectOnce();
    } catch (error) {
      if (!isAuthenticationFailure(error)) throw error;
      credentials.invalidate();
      return connectOnce();
    }
  };
  const connect = (callback?: ConnectCallback): Promise<pg.PoolClient> | undefined => {
    const connecting = connectWithRetry();
    if (callback === undefined) return connecting;
    // The callback runs on its own tick, outside the promise chain, exactly once: one that
    // throws (pool.query passes its caller's callback on) surfaces as pg.Pool's own callbacks'
    // errors do, an uncaught exception with its own stack, instead of an unhandled rejection
    // from this seam, and is not called a second time with its own error.
    connecting.then(
      (client) => process.nextTick(callback, undefined, client, client.release.bind(client)),
      (error: Error) => process.nextTick(callback, error, undefined, undefined),
    );
    return undefined;
  };
  (pool as unknown as { connect: typeof connect }).connect = connect;
  return pool;
}
