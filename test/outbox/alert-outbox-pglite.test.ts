import { PGlite } from "@electric-sql/pglite";
import { pgliteSqlClient, SqlLedger } from "../../src/ledger/index.ts";
import { alertOutboxSuite } from "./alert-outbox.suite.ts";

/**
 * The alert outbox on the embedded ledger (PGlite), the local monitor's (REL-6). One process
 * holds a PGlite, so "another process" is a handle of its own on it that can die (every call
 * then fails) without closing the ledger; a restart loads what the ledger had persisted.
 */
let template: Promise<Blob> | undefined;

async function bareDataDir(): Promise<Blob> {
  const seed = await PGlite.create();
  try {
    return await seed.dumpDataDir("none");
  } finally {
    await seed.close();
  }
}

async function openLedger(data: Blob): Promise<{ ledger: SqlLedger; db: PGlite }> {
  const db = await PGlite.create({ loadDataDir: data });
  return { ledger: new SqlLedger(pgliteSqlClient(db)), db };
}

/** The ledger's calls through a handle that stops answering once closed. */
function handleOn(ledger: SqlLedger): SqlLedger {
  let closed = false;
  return new Proxy(ledger, {
    get(target, key, receiver) {
      if (key === "close") {
        return async () => {
          closed = true;
        };
      }
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (closed) return Promise.reject(new Error("this process is gone"));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

alertOutboxSuite("PGlite (embedded)", async () => {
  template ??= bareDataDir();
  let { ledger, db } = await openLedger(await template);
  await ledger.migrate();
  return {
    get ledger() {
      return ledger;
    },
    async another() {
      return handleOn(ledger);
    },
    async reopen() {
      const persisted = await db.dumpDataDir("none");
      await ledger.close();
      ({ ledger, db } = await openLedger(persisted));
      return ledger;
    },
    async dispose() {
      await ledger.close();
    },
  };
});
