import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { type SuiteContext, uniqueMerchant } from "../ledger.suite.ts";

const hash = (key: string) => createHash("sha256").update(key).digest("hex");
const newHash = () => hash(randomBytes(16).toString("hex"));

/** SEC-7: the key life cycle in the ledger, on every implementation. */
export function registerApiKeyTests(ctx: SuiteContext): void {
  test("SEC-7 listApiKeys shows each key's id, creation, expiry and revocation, never the key or its hash", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const h1 = newHash();
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const first = await ledger.insertApiKey(merchantId, h1, { actor: "cli" });
    const second = await ledger.insertApiKey(merchantId, newHash(), { actor: "cli", expiresAt });
    assert.equal(await ledger.revokeApiKey(first.id, "cli"), true);
    const listed = await ledger.listApiKeys(merchantId);
    assert.deepEqual(
      listed.map((k) => [k.id, k.merchantId, k.expiresAt, k.revokedAt !== null, k.active]),
      [
        [first.id, merchantId, null, true, false],
        [second.id, merchantId, expiresAt, false, true],
      ],
    );
    for (const key of listed) assert.match(key.createdAt, /^\d{4}-\d\d-\d\dT.*Z$/);
    assert.ok(!JSON.stringify(listed).includes(h1), "no hash in the listing");
    assert.deepEqual(await ledger.listApiKeys(uniqueMerchant()), []);
  });

  test("SEC-7 an expired key does not authenticate; a rotated key works until its grace period ends, then not", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const expired = newHash();
    await ledger.insertApiKey(merchantId, expired, {
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    assert.equal(await ledger.findApiKey(expired), null);
    assert.equal((await ledger.resolveApiKey(expired))?.state, "expired");
    assert.equal(await ledger.countApiKeys(merchantId), 0, "an expired key is not usable");

    const old = newHash();
    const oldKey = await ledger.insertApiKey(merchantId, old);
    const fresh = newHash();
    const rotation = await ledger.rotateApiKeys(merchantId, fresh, {
      actor: "cli",
      graceMs: 60_000,
    });
    assert.deepEqual(
      rotation.rotated.map((k) => k.id),
      [oldKey.id],
      "only the usable key is rotated",
    );
    const until = Date.parse(rotation.rotated[0]!.revokedAt!);
    assert.ok(Math.abs(until - (Date.now() + 60_000)) < 5_000, "revoked at the end of the grace");
    const during = await ledger.resolveApiKey(old);
    assert.equal(during?.state, "active", "the old key still works during the grace period");
    assert.equal(Date.parse(during!.revokedAt!), until);
    assert.equal((await ledger.findApiKey(fresh))?.id, rotation.key.id);

    // A second rotation with no grace revokes both at once.
    const third = newHash();
    const again = await ledger.rotateApiKeys(merchantId, third, { actor: "cli", graceMs: 0 });
    assert.deepEqual(again.rotated.map((k) => k.id).sort(), [oldKey.id, rotation.key.id].sort());
    assert.equal((await ledger.resolveApiKey(old))?.state, "revoked");
    assert.equal((await ledger.resolveApiKey(fresh))?.state, "revoked");
    assert.equal((await ledger.resolveApiKey(third))?.state, "active");
    assert.equal(await ledger.countApiKeys(merchantId), 1);
  });

  test("SEC-7 every key event is an audit row with its actor and time, appended only", async () => {
    const ledger = ctx.ledger();
    const merchantId = uniqueMerchant();
    const generation = Number(await ledger.apiKeyGeneration());
    const a = await ledger.insertApiKey(merchantId, newHash(), { actor: "admin-socket" });
    const rotation = await ledger.rotateApiKeys(merchantId, newHash(), {
      actor: "aws-admin",
      graceMs: 3_600_000,
    });
    assert.equal(await ledger.revokeApiKey(a.id, "cli"), true);
    assert.equal(await ledger.revokeApiKey(a.id, "cli"), false, "already revoked: not again");
    const expired = await ledger.insertApiKey(merchantId, newHash(), {
      actor: "cli",
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    await ledger.recordExpiredKeyUse(expired.id);
    await ledger.recordExpiredKeyUse(expired.id);
    const events = await ledger.listApiKeyEvents(merchantId);
    assert.deepEqual(
      events.map((e) => [e.keyId, e.event, e.actor]),
      [
        [a.id, "created", "admin-socket"],
        [rotation.key.id, "created", "aws-admin"],
        [a.id, "rotated", "aws-admin"],
        [a.id, "revoked", "cli"],
        [expired.id, "created", "cli"],
        [expired.id, "expired_refused", "api"],
      ],
    );
    assert.deepEqual(events[1]!.detail, { rotatedFrom: [a.id] });
    assert.equal(events[2]!.detail.replacedBy, rotation.key.id);
    for (const e of events) assert.ok(Math.abs(Date.parse(e.at) - Date.now()) < 60_000);
    assert.ok(
      Number(await ledger.apiKeyGeneration()) >= generation + 2,
      "the rotation and the revocation moved the generation",
    );
    for (const sql of [
      `UPDATE api_key_events SET actor = 'cli' WHERE merchant_id = '${merchantId}'`,
      `DELETE FROM api_key_events WHERE merchant_id = '${merchantId}'`,
      "TRUNCATE api_key_events",
    ]) {
      await assert.rejects(ledger.db.query(sql), /append-only/, sql);
    }
    assert.equal((await ledger.listApiKeyEvents(merchantId)).length, events.length);
  });
}
