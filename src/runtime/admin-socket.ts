import { chmodSync, existsSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { join } from "node:path";
import { createApiKey } from "../api/auth.ts";
import type { Ledger } from "../ledger/types.ts";
import { type BacktestOptions, backtest } from "../replay/backtest.ts";
import { loadRuleset } from "../rules/index.ts";

/**
 * The embedded ledger has one owner: the running `txwatch start`. So that `txwatch keys create`,
 * `verify-ledger` and `replay` still work beside it, the monitor answers them on a Unix socket
 * in the data directory. The socket is mode 0600 in a 0700 directory: whoever may read the
 * ledger files may ask; nobody else can connect.
 */
export type AdminRequest =
  | { command: "keys-create"; merchant: string }
  | { command: "verify-ledger" }
  | { command: "replay"; ruleset: string; options: BacktestOptions };

export function adminSocketPath(dataDir: string): string {
  return join(dataDir, "admin.sock");
}

async function answer(ledger: Ledger, req: AdminRequest): Promise<unknown> {
  switch (req.command) {
    case "keys-create":
      return { key: await createApiKey(ledger, req.merchant) };
    case "verify-ledger":
      return ledger.verifyChain();
    case "replay":
      return backtest(ledger, loadRuleset(req.ruleset), req.options);
  }
}

export async function serveAdminSocket(
  dataDir: string,
  ledger: Ledger,
): Promise<() => Promise<void>> {
  const path = adminSocketPath(dataDir);
  rmSync(path, { force: true }); // left by a process that died; we hold the data-dir lock
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      Promise.resolve()
        .then(() => answer(ledger, JSON.parse(body) as AdminRequest))
        .then(
          (result) => {
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
          },
          (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            res
              .writeHead(400, { "content-type": "application/json" })
              .end(JSON.stringify({ error: message }));
          },
        );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      rmSync(path, { force: true });
    });
}

/** Asks the running monitor; undefined when none listens on this data directory. */
export function askRunningMonitor<T>(dataDir: string, req: AdminRequest): Promise<T | undefined> {
  const socketPath = adminSocketPath(dataDir);
  if (!existsSync(socketPath)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const call = request({ socketPath, path: "/", method: "POST" }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => {
        const parsed = JSON.parse(body) as T & { error?: string };
        if (res.statusCode !== 200)
          reject(new Error(parsed.error ?? `admin socket answered ${res.statusCode}`));
        else resolve(parsed);
      });
    });
    call.on("error", (error: NodeJS.ErrnoException) => {
      // A socket file without a listener: the monitor is gone.
      if (error.code === "ECONNREFUSED" || error.code === "ENOENT") resolve(undefined);
      else reject(error);
    });
    call.end(JSON.stringify(req));
  });
}
