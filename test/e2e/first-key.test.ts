import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { cleanEnv, runCli, startCli } from "../support/cli.ts";

function occupyPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("no port"));
      else resolve({ server, port: address.port });
    });
  });
}

test("LOC-1 a first start that cannot listen creates no demo key; the next start prints one that works", {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-first-key-"));
  const taken = await occupyPort();
  try {
    const failed = await runCli(
      ["start"],
      cleanEnv({ TXWATCH_DATA_DIR: dir, PORT: String(taken.port) }),
    );
    assert.notEqual(failed.code, 0, "the port is taken, so the start fails");
    assert.match(failed.stderr, /EADDRINUSE/);
    assert.doesNotMatch(failed.stdout, /API key:/);

    const monitor = await startCli(cleanEnv({ TXWATCH_DATA_DIR: dir, PORT: "0" }));
    try {
      const key = monitor.apiKey;
      assert.ok(key, `the first start that listens prints the demo key: ${monitor.output()}`);
      const res = await fetch(`${monitor.url}/v1/alerts`, {
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(res.status, 200, "the printed key authenticates");
    } finally {
      assert.equal(await monitor.stop("SIGTERM"), 0);
    }
  } finally {
    taken.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
