import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ValidationError } from "../../src/errors.ts";
import { decodeCursor, encodeCursor, nextStatus } from "../../src/ledger/alerts-repo.ts";
import { monthsToPrepare } from "../../src/ledger/commit.ts";
import {
  type ChainRow,
  canonicalJson,
  GENESIS_HASH,
  rowHash,
} from "../../src/ledger/hash-chain.ts";

/** The ledger's pure parts: no database needed. */

const row: ChainRow = {
  seq: "1",
  prevHash: GENESIS_HASH,
  merchantId: "japancart",
  transactionId: "tx-1",
  customerId: "cust-42",
  occurredAt: "2026-11-21T00:30:00.000Z",
  receivedAt: "2026-11-21T00:30:01.000Z",
  recordedAt: "2026-11-21T00:30:01.500Z",
  amount: "12800",
  currency: "JPY",
  tx: { b: 1, a: { d: [1, "x", null], c: true } },
  decision: {
    action: "review",
    score: 0.65,
    reasons: [],
    rulesetVersion: "v1",
    decidedAt: "2026-11-21T00:30:01.250Z",
  },
};

describe("ledger pure functions", () => {
  test("PRC-4 canonical JSON sorts keys at every level, so a jsonb round trip hashes the same", () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1], c: "x" } }), '{"a":{"c":"x","d":[1]},"b":1}');
    assert.equal(canonicalJson({ a: undefined, b: [undefined] }), '{"b":[null]}');
    const reordered = { ...row, tx: { a: { c: true, d: [1, "x", null] }, b: 1 } };
    assert.equal(rowHash(reordered), rowHash(row));
    assert.match(rowHash(row), /^[0-9a-f]{64}$/);
    assert.throws(() => canonicalJson({ n: Number.NaN }), /non-finite/);
  });

  test("PRC-4 the row hash of a given row never changes: stored chains must keep verifying", () => {
    // Hashes of chain format v1 as its first implementation (sorted keys by map/join) computed
    // them. A faster serialization must give the same text, or stored chains stop verifying.
    assert.equal(rowHash(row), "551d445f774c83cbeb09f5a909274bb5d644d4e4af3d2500b88c0be773ce682d");
    const awkward = {
      ...row,
      tx: {
        transactionId: "tx-1",
        é: 'ü\u2028"\\',
        list: [undefined, { z: 1, y: [] }],
        skipped: undefined,
        n: -0.5e-7,
      },
    };
    assert.equal(
      rowHash(awkward),
      "dfde38b4b041edc561a9a42bc866ec6d6008fa413e480e40c172e87623f6bca3",
    );
  });

  test("PRC-4 the row hash covers the row, its decision and the previous hash", () => {
    const base = rowHash(row);
    assert.notEqual(rowHash({ ...row, amount: "12801" }), base);
    assert.notEqual(rowHash({ ...row, prevHash: "1".repeat(64) }), base);
    assert.notEqual(rowHash({ ...row, decision: { ...row.decision, action: "allow" } }), base);
    assert.notEqual(rowHash({ ...row, tx: { ...(row.tx as object), b: 2 } }), base);
  });

  test("PRC-4 partitions are prepared for this month, the next, and yesterday's month", () => {
    assert.deepEqual(monthsToPrepare(Date.parse("2026-11-21T12:00:00Z")), [
      "2026-11-01",
      "2026-12-01",
    ]);
    assert.deepEqual(monthsToPrepare(Date.parse("2027-01-01T00:10:00Z")), [
      "2026-12-01",
      "2027-01-01",
      "2027-02-01",
    ]);
    assert.deepEqual(monthsToPrepare(Date.parse("2026-12-31T23:00:00Z")), [
      "2026-12-01",
      "2027-01-01",
    ]);
  });

  test("PRC-5 the alert lifecycle allows open->acknowledged->closed and open->closed only", () => {
    assert.equal(nextStatus("open", "acknowledge"), "acknowledged");
    assert.equal(nextStatus("open", "close"), "closed");
    assert.equal(nextStatus("acknowledged", "close"), "closed");
    assert.equal(nextStatus("acknowledged", "acknowledge"), null);
    assert.equal(nextStatus("closed", "close"), null);
    assert.equal(nextStatus("closed", "acknowledge"), null);
  });

  test("QRY-1 alert cursors round-trip and anything else is a validation error on cursor", () => {
    const cursor = encodeCursor("2026-11-21T00:30:01.123456Z", "42");
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(cursor), { createdKey: "2026-11-21T00:30:01.123456Z", id: "42" });
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const bad of [
      "",
      "***",
      forged({ t: 1 }),
      forged(["2026-11-21T00:30:01.123Z", "42"]),
      forged(["2026-13-45T00:30:01.123456Z", "42"]),
      forged(["2026-11-21T00:30:01.123456Z", "0"]),
      forged(["2026-11-21T00:30:01.123456Z", "1 OR 1=1"]),
    ]) {
      assert.throws(
        () => decodeCursor(bad),
        (error: unknown) => error instanceof ValidationError && error.field === "cursor",
        bad,
      );
    }
  });
});
