import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import { pgliteSqlClient, SqlLedger } from "../../src/ledger/index.ts";
import {
  ADMIN_SOCKET_COMMANDS,
  adminSocketPath,
  askRunningMonitor,
  serveAdminSocket,
} from "../../src/runtime/admin-socket.ts";

/**
 * SEC-8 / SEC-7: the admin socket a running monitor serves to the CLI validates what it stores
 * as the API does, and runs the key life cycle, audited as "admin-socket".
 */
function post(dir: string, body: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const call = request({ socketPath: adminSocketPath(dir), path: "/", method: "POST" }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    call.on("error", reject);
    call.end(body);
  });
}

describe("the admin socket", () => {
  const dir = mkdtempSync(join(tmpdir(), "txwatch-admin-socket-"));
  let ledger: SqlLedger;
  let stop: () => Promise<void>;
  before(async () => {
    ledger = new SqlLedger(pgliteSqlClient(await PGlite.create()));
    await ledger.migrate();
    stop = await serveAdminSocket(dir, ledger);
  });
  after(async () => {
    await stop();
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const keyRows = async () => {
    const { rows } = await ledger.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM api_keys",
    );
    return rows[0]!.n;
  };

  test("SEC-8 the admin socket refuses merchant ids the API refuses (empty, 100,000 characters, a card number, not a string) and stores nothing", async () => {
    const before = await keyRows();
    for (const merchant of [
      "",
      "x".repeat(100_000).slice(0, 60_000),
      "4111111111111111",
      "m 4111-1111-1111-1111",
      42,
      null,
    ]) {
      for (const command of ["keys-create", "keys-rotate", "keys-list"]) {
        const res = await post(dir, JSON.stringify({ command, merchant }));
        assert.equal(res.status, 400, `${command} ${String(merchant).slice(0, 20)}`);
        const body = JSON.parse(res.body) as { error: string; field?: string };
        assert.equal(body.field, "merchant");
        assert.match(body.error, /^merchant /);
        assert.doesNotMatch(res.body, /4111/, "the card number is not echoed");
      }
    }
    const missing = await post(dir, JSON.stringify({ command: "keys-create" }));
    assert.equal(missing.status, 400);
    assert.match(missing.body, /merchant is required/);
    assert.equal(await keyRows(), before, "nothing stored");
  });

  test("SEC-8 the admin socket caps the request body at 64 KiB", async () => {
    const before = await keyRows();
    const big = JSON.stringify({ command: "keys-create", merchant: "x".repeat(100_000) });
    const res = await post(dir, big);
    assert.equal(res.status, 413);
    assert.match(res.body, /65536 bytes/);
    const notJson = await post(dir, "{not json");
    assert.equal(notJson.status, 400);
    assert.equal(await keyRows(), before);
  });

  test("SEC-8 the admin socket refuses unknown commands and fields, naming the allowed ones", async () => {
    for (const body of [
      { command: "drop-ledger" },
      {},
      { command: 7 },
      { command: "4111111111111111" },
    ]) {
      const res = await post(dir, JSON.stringify(body));
      assert.equal(res.status, 400);
      const error = (JSON.parse(res.body) as { error: string }).error;
      for (const command of ADMIN_SOCKET_COMMANDS) assert.ok(error.includes(command), error);
      assert.doesNotMatch(error, /4111/);
    }
    const extra = await post(
      dir,
      JSON.stringify({ command: "keys-list", merchant: "m", sql: "x" }),
    );
    assert.equal(extra.status, 400);
    assert.match(extra.body, /takes: merchant/);
    const badId = await post(dir, JSON.stringify({ command: "keys-revoke", id: "1; DROP" }));
    assert.equal(badId.status, 400);
    assert.match(badId.body, /"field":"id"/);
  });

  test("SEC-7 through the admin socket: create with an expiry, list, rotate and revoke, each audited as admin-socket", async () => {
    type Created = { id: string; key: string; expiresAt: string | null };
    const created = await askRunningMonitor<Created>(dir, {
      command: "keys-create",
      merchant: "japancart",
      expiresIn: "30d",
    });
    assert.ok(created);
    assert.ok(Math.abs(Date.parse(created.expiresAt!) - Date.now() - 30 * 86_400_000) < 60_000);
    const rotated = await askRunningMonitor<
      Created & { rotated: { id: string; revokedAt: string }[] }
    >(dir, { command: "keys-rotate", merchant: "japancart", grace: "1h" });
    assert.ok(rotated);
    assert.deepEqual(
      rotated.rotated.map((k) => k.id),
      [created.id],
    );
    const revoked = await askRunningMonitor<{ revoked: boolean }>(dir, {
      command: "keys-revoke",
      id: created.id,
    });
    assert.equal(revoked?.revoked, true);
    const listed = await askRunningMonitor<{ keys: { id: string; active: boolean }[] }>(dir, {
      command: "keys-list",
      merchant: "japancart",
    });
    assert.deepEqual(
      listed?.keys.map((k) => [k.id, k.active]),
      [
        [created.id, false],
        [rotated.id, true],
      ],
    );
    assert.ok(!JSON.stringify(listed).includes(created.key), "a listing never holds a key");
    const events = await ledger.listApiKeyEvents("japancart");
    assert.deepEqual(
      events.map((e) => [e.keyId, e.event, e.actor]),
      [
        [created.id, "created", "admin-socket"],
        [rotated.id, "created", "admin-socket"],
        [created.id, "rotated", "admin-socket"],
        [created.id, "revoked", "admin-socket"],
      ],
    );
    await assert.rejects(
      askRunningMonitor(dir, { command: "keys-revoke", id: "999999" }),
      (error: Error & { field?: string }) => error.field === "id",
    );
  });
});
