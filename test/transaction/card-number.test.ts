import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { containsCardNumber, redactCardNumbers } from "../../src/transaction/card-number.ts";
import { parseTransactionInput } from "../../src/transaction/schema.ts";
import { TEST_PAN, wireTransaction } from "../support/fixtures.ts";

function rejected(body: unknown, prefix = ""): { field?: string; message: string } {
  const result = parseTransactionInput(body, prefix);
  assert.equal(result.ok, false, "expected a validation error");
  if (result.ok) throw new Error("unreachable");
  return { field: result.error.field, message: result.error.message };
}

describe("card numbers in the client's text (PRIV-1)", () => {
  const separated = ["_", ".", ":", "/"].map((sep) => ["4111", "1111", "1111", "1111"].join(sep));

  test("PRIV-1 a card number written with . _ : or / between its groups is found", () => {
    for (const text of [...separated, "ref 5105.1051.0510.5100 ok", "amex 3782_822463_10005"]) {
      assert.equal(containsCardNumber(text), true, text);
    }
  });

  test("PRIV-1 ING-1 ids and free text holding a card number written so are refused", () => {
    for (const transactionId of separated.filter((id) => !id.includes("/"))) {
      const error = rejected(wireTransaction({ transactionId }));
      assert.equal(error.field, "transactionId", transactionId);
    }
    for (const value of separated) {
      assert.equal(rejected(wireTransaction({ metadata: { a: value } })).field, "metadata.a");
      assert.equal(rejected(wireTransaction({ customerId: value })).field, "customerId");
    }
  });

  test("PRIV-1 ING-1 ordinary ids, timestamps, IPs and order numbers still pass", () => {
    const texts = [
      "tx-1700000000000-12",
      "tx_1795253400123_7",
      "order:2026:000123",
      "2026-0001234567890",
      "2026-11-21T09:30:00.123+09:00",
      "21/11/2026 10:30:00",
      "203.0.113.7",
      "192.168.100.200:54321",
      "2001:db8::1",
      "ORD/2026/11/000123",
      "v1.2.3",
      "090-1234-5678",
    ];
    for (const text of texts) assert.equal(containsCardNumber(text), false, text);
    for (const transactionId of texts.filter((t) => /^[A-Za-z0-9_.:-]{1,64}$/.test(t))) {
      assert.equal(parseTransactionInput(wireTransaction({ transactionId })).ok, true);
    }
    const metadata = Object.fromEntries(texts.map((t, i) => [`k${i}`, t]));
    assert.equal(parseTransactionInput(wireTransaction({ metadata })).ok, true);
  });

  test("PRIV-1 redactCardNumbers replaces only the digit runs holding a card number", () => {
    assert.equal(
      redactCardNumbers(`/v1/transactions/${TEST_PAN}`),
      "/v1/transactions/[card number]",
    );
    assert.equal(redactCardNumbers("tok_4111.1111.1111.1111 x"), "tok_[card number] x");
    assert.equal(redactCardNumbers("tx-1700000000000-12"), "tx-1700000000000-12");
    assert.equal(
      redactCardNumbers("amount must be at most 1000000000000"),
      "amount must be at most 1000000000000",
    );
  });

  const keys: [string, Record<string, unknown>, string, string][] = [
    ["an unknown field", { [TEST_PAN]: 1 }, "", "[card number]"],
    ["a metadata key", { metadata: { [TEST_PAN]: 5 } }, "", "metadata.[card number]"],
    [
      "a card field",
      { paymentMethod: { type: "card", card: { number: TEST_PAN, "5555555555554444": 1 } } },
      "",
      "paymentMethod.card.[card number]",
    ],
    [
      "a batch item's unknown field",
      { "4111_1111_1111_1111": 1 },
      "transactions[2]",
      "transactions[2].[card number]",
    ],
  ];
  for (const [name, overrides, prefix, field] of keys) {
    test(`PRIV-1 a card number as ${name} is not repeated in the error's field or message`, () => {
      const error = rejected(wireTransaction(overrides), prefix);
      assert.equal(error.field, field);
      assert.ok(error.message.startsWith(field), error.message);
      for (const text of [error.field!, error.message]) {
        assert.ok(!/\d{6}/.test(text), `${text} repeats no number`);
      }
    });
  }
});
