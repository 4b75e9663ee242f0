import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import type { FastifyRequest } from "fastify";
import {
  apiKeyAuthenticator,
  createApiKey,
  hashApiKey,
  REVOCATION_CHECK_MS,
} from "../../src/api/auth.ts";
import type { ApiError } from "../../src/errors.ts";
import { pgliteSqlClient, SqlLedger } from "../../src/ledger/index.ts";
import { createKey, rotateKeys } from "../../src/runtime/key-admin.ts";

/**
 * SEC-7 in the API's authentication: keys cached by a running monitor stop working within
 * seconds of their revocation, at their expiry, and at the end of a rotation's grace period.
 * The clock is the authenticator's (injected), so "2 seconds later" costs no waiting.
 */
function request(key: string): FastifyRequest & { merchant?: { merchantId: string } } {
  return { headers: { authorization: `Bearer ${key}` } } as unknown as FastifyRequest;
}

async function refused(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: ApiError) => {
    assert.equal(error.status, 401);
    assert.equal(error.code, "TXW_ERR_UNAUTHENTICATED");
    assert.match(error.message, message);
    return true;
  });
}

describe("API keys in a running monitor (PGlite)", () => {
  let ledger: SqlLedger;
  let clock = Date.now();
  const now = () => clock;
  before(async () => {
    ledger = new SqlLedger(pgliteSqlClient(await PGlite.create()));
    await ledger.migrate();
  });
  after(() => ledger.close());

  test("SEC-7 a revoked key that the API has cached is refused within 2 seconds", async () => {
    const authenticate = apiKeyAuthenticator(ledger, now);
    const key = await createApiKey(ledger, "japancart");
    const req = request(key);
    await authenticate(req);
    assert.equal(req.merchant?.merchantId, "japancart");
    const record = await ledger.findApiKey(hashApiKey(key));
    assert.equal(await ledger.revokeApiKey(record!.id, "cli"), true);
    clock += 500;
    await authenticate(request(key)); // still cached: the check runs every REVOCATION_CHECK_MS
    assert.ok(REVOCATION_CHECK_MS <= 2_000);
    clock += 2_000;
    await refused(authenticate(request(key)), /revoked/);
  });

  test("SEC-7 an expired key answers 401, from the cache too, and its refusal is audited once", async () => {
    const authenticate = apiKeyAuthenticator(ledger, now);
    const created = await createKey(
      ledger,
      { merchantId: "fastshop", actor: "cli", expiresInMs: 60_000 },
      Date.now(),
    );
    await authenticate(request(created.key)); // cached with its expiry
    clock = Date.parse(created.expiresAt!) + 1;
    await refused(authenticate(request(created.key)), /expired/);

    // Really past its expiry in the ledger too (not only on the injected clock).
    const past = await ledger.insertApiKey("fastshop", hashApiKey("txw_expired"), {
      actor: "cli",
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const fresh = apiKeyAuthenticator(ledger, now);
    await refused(fresh(request("txw_expired")), /expired/);
    await refused(fresh(request("txw_expired")), /expired/);
    await new Promise((r) => setTimeout(r, 100)); // the audit is written beside the answer
    const events = await ledger.listApiKeyEvents("fastshop");
    assert.deepEqual(
      events.filter((e) => e.keyId === past.id).map((e) => [e.event, e.actor]),
      [
        ["created", "cli"],
        ["expired_refused", "api"],
      ],
    );
    await refused(fresh(request("txw_unknown")), /invalid API key/);
  });

  test("SEC-7 after a rotation the cached old key works through the grace period, then is refused", async () => {
    clock = Date.now();
    const authenticate = apiKeyAuthenticator(ledger, now);
    const old = await createKey(ledger, { merchantId: "brshop", actor: "cli" });
    await authenticate(request(old.key));
    const rotated = await rotateKeys(ledger, {
      merchantId: "brshop",
      actor: "cli",
      graceMs: 3_600_000,
    });
    clock += 2_500; // the rotation is noticed: the old key is looked up again, still active
    await authenticate(request(old.key));
    await authenticate(request(rotated.key));
    clock = Date.parse(rotated.rotated[0]!.revokedAt!) + 1;
    await refused(authenticate(request(old.key)), /revoked|expired/);
    const req = request(rotated.key);
    await authenticate(req);
    assert.equal(req.merchant?.merchantId, "brshop");
  });
});
