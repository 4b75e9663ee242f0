import assert from "node:assert/strict";
import { test } from "node:test";
import type { Alert } from "../../src/ledger/types.ts";
import { type Fate, settle } from "../../src/outbox/settle.ts";

const alerts = ["11", "12", "13", "14"].map((id) => ({ id }) as Alert);
const ok: Fate = { kind: "delivered" };
const down: Fate = { kind: "failed", reason: "webhook answered HTTP 503" };
const refused: Fate = { kind: "refused", reason: "webhook answered HTTP 400" };

test("REL-6 the cursor moves over delivered and dead-lettered alerts only up to the first to retry, keeping commit order", () => {
  const attempts = new Map([
    ["11", 1],
    ["12", 2],
    ["13", 1],
    ["14", 1],
  ]);
  const settled = settle(alerts, [ok, refused, down, ok], attempts, 0);
  assert.deepEqual(settled, {
    through: "12",
    delivered: 1,
    deadLetters: [{ alertId: "12", reason: "webhook answered HTTP 400", attempts: 2 }],
    pending: "webhook answered HTTP 503",
  });
  // The settled are forgotten; what waits keeps its count (14 was sent too).
  assert.deepEqual([...attempts.keys()], ["13", "14"]);
});

test("REL-6 a failing alert that reached the max attempts is dead-lettered, an expired one too, and the channel moves on", () => {
  const attempts = new Map([
    ["11", 3],
    ["12", 3],
    ["13", 2],
  ]);
  const expired: Fate = { kind: "expired", reason: "undelivered after 90000 s (max age 86400 s)" };
  const settled = settle(alerts, [down, expired, down, { kind: "skipped" }], attempts, 3);
  assert.equal(settled.through, "12");
  assert.deepEqual(settled.deadLetters, [
    { alertId: "11", reason: "gave up after 3 attempts: webhook answered HTTP 503", attempts: 3 },
    { alertId: "12", reason: "undelivered after 90000 s (max age 86400 s)", attempts: 3 },
  ]);
  assert.equal(settled.pending, "webhook answered HTTP 503");
});

test("REL-6 nothing settles when the first alert was not sent", () => {
  const settled = settle(alerts, [{ kind: "skipped" }, ok], new Map(), 0);
  assert.equal(settled.through, null);
  assert.equal(settled.pending, "not sent yet");
});
