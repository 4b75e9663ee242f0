import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ArchiveSink } from "./sink.ts";

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === "ENOENT";
}

/** An archive in a local directory; keys become relative paths under it. */
export function directorySink(root: string): ArchiveSink {
  const base = resolve(root);
  const pathOf = (key: string): string => {
    const path = resolve(base, ...key.split("/"));
    if (path !== base && !path.startsWith(base + sep))
      throw new Error(`key escapes the archive: ${key}`);
    return path;
  };
  return {
    describe: base,
    async exists(key) {
      try {
        await stat(pathOf(key));
        return true;
      } catch (error) {
        if (isMissing(error)) return false;
        throw error;
      }
    },
    async put(key, body) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      // Written aside and renamed: a crash never leaves a half-written file under the key.
      const temp = `${path}.${process.pid}.tmp`;
      await writeFile(temp, body);
      await rename(temp, path);
    },
    async putStream(key, body) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      // Streamed to a file aside, renamed once complete; removed when the stream fails.
      const temp = `${path}.${process.pid}.tmp`;
      try {
        await pipeline(body, createWriteStream(temp));
        await rename(temp, path);
      } catch (error) {
        body.destroy();
        await rm(temp, { force: true });
        throw error;
      }
    },
    async get(key) {
      try {
        return await readFile(pathOf(key));
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async list(prefix) {
      const start = pathOf(prefix.replace(/\/+$/, ""));
      try {
        const entries = await readdir(start, { recursive: true, withFileTypes: true });
        return entries
          .filter((e) => e.isFile())
          .map((e) => relative(base, join(e.parentPath, e.name)).split(sep).join("/"))
          .sort();
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
    },
  };
}
