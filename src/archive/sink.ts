import type { Readable } from "node:stream";

/**
 * Where archives are written and read back: a directory (restores, tests) or an S3 bucket (the
 * processed-transactions bucket on AWS). Keys are relative, "/"-separated (see layout.ts).
 */
export interface ArchiveSink {
  /** What the sink is, for messages (a path or an s3:// URL). */
  readonly describe: string;
  exists(key: string): Promise<boolean>;
  /** A small object (the manifest), whole. */
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /**
   * An object of any size, read from `body` as it is produced and never held whole: resolves
   * once the object is stored under `key`, complete. When it rejects (or `body` fails), nothing
   * new is left under `key`.
   */
  putStream(key: string, body: Readable, contentType: string): Promise<void>;
  /** The object's bytes, or null when there is none. */
  get(key: string): Promise<Buffer | null>;
  /** Every key under the prefix (for verifying all archived days). */
  list(prefix: string): Promise<string[]>;
}
