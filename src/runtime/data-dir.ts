import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "../errors.ts";

/**
 * The embedded run keeps everything under one directory (TXWATCH_DATA_DIR):
 *   ledger/      PGlite database files
 *   stream/      the local stream's segments and checkpoints
 *   token.key    the card-token HMAC key (mode 0600), generated on first start
 *   txwatch.pid  held while a process uses the directory: PGlite must have one owner
 */
export function ensureDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * What the directory is locked for, which decides the remedy a refusal names: a monitor on the
 * embedded ledger, a one-off command on it (migrate, replay, archive), or only the local stream
 * of a monitor whose ledger is PostgreSQL.
 */
export type DataDirUse = "embedded-ledger" | "command" | "local-stream";

const REMEDIES: Record<DataDirUse, string> = {
  "embedded-ledger":
    "stop it first; to run a second monitor on the same ledger, point both at PostgreSQL (DATABASE_URL) with their own TXWATCH_DATA_DIR",
  command:
    "stop it first: the embedded ledger has one owner (the keys and verify-ledger commands reach it through the running monitor; others need it stopped)",
  "local-stream":
    "stop it first, or give this monitor its own TXWATCH_DATA_DIR: the local stream has one owner (monitors share the PostgreSQL ledger, not a stream directory)",
};

/** Takes the data directory for this process; returns the release function. */
export function lockDataDir(dir: string, use: DataDirUse = "embedded-ledger"): () => void {
  const path = join(dir, "txwatch.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx", mode: 0o600 });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(path, "utf8"));
      if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) {
        throw new ValidationError(
          "TXWATCH_DATA_DIR",
          `${dir} is in use by txwatch (pid ${holder}); ${REMEDIES[use]}`,
        );
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not lock ${dir}`);
}

/** The key file holds 32 random bytes as 64 hex characters (a trailing newline is fine). */
const KEY_FILE_FORMAT = /^[0-9a-fA-F]{64}$/;

/**
 * Reads the local token key, creating a random 256-bit one on first use. An empty or damaged
 * file stops the start: decoding it leniently would yield a short or empty HMAC key, and card
 * tokens anyone could recompute (PRIV-1). The error names the file, never its content.
 */
export function localTokenKey(dir: string): Buffer {
  ensureDataDir(dir);
  const path = join(dir, "token.key");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const key = randomBytes(32);
    writeFileSync(path, key.toString("hex"), { mode: 0o600, flag: "wx" });
    return key;
  }
  if (!KEY_FILE_FORMAT.test(text.trim())) {
    throw new ValidationError(
      "TXWATCH_DATA_DIR",
      `${path} is not a valid card-token key (it must hold 64 hex characters, a 256-bit key). ` +
        "Restore it from a backup: tokens made with another key no longer match earlier ones. " +
        "To start over with a new key, delete the file; or set TXWATCH_TOKEN_KEY.",
    );
  }
  return Buffer.from(text.trim(), "hex");
}
