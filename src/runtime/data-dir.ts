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

/** Takes the data directory for this process; returns the release function. */
export function lockDataDir(dir: string): () => void {
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
          `${dir} is in use by txwatch (pid ${holder}); stop it first, or point DATABASE_URL at PostgreSQL to share the ledger`,
        );
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not lock ${dir}`);
}

/** Reads the local token key, creating a random 256-bit one on first use. */
export function localTokenKey(dir: string): Buffer {
  ensureDataDir(dir);
  const path = join(dir, "token.key");
  try {
    return Buffer.from(readFileSync(path, "utf8").trim(), "hex");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const key = randomBytes(32);
    writeFileSync(path, key.toString("hex"), { mode: 0o600, flag: "wx" });
    return key;
  }
}
