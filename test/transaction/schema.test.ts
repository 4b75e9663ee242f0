import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";
import {
  isRfc3339WithOffset,
  parseTransactionInput,
  streamEnvelopeSchema,
  type TransactionInput,
} from "../../src/transaction/schema.ts";
import {
  cardToken,
  containsCardNumber,
  maskCardNumbers,
  migratedCardToken,
  tokenizeTransaction,
} from "../../src/transaction/tokenize.ts";
import { TEST_PAN, wireTransaction } from "../support/fixtures.ts";

const KEY = Buffer.alloc(32, 7);
/** The merchant of wireTransaction(). */
const MERCHANT = "japancart";

function fieldError(body: unknown): { field?: string; message: string } {
  const result = parseTransactionInput(body);
  assert.equal(result.ok, false, "expected a validation error");
  if (result.ok) throw new Error("unreachable");
  return { field: result.error.field, message: result.error.message };
}

describe("transaction schema", () => {
  test("ING-1 the API.md example transaction is valid", () => {
    const result = parseTransactionInput(wireTransaction());
    assert.equal(result.ok, true);
  });

  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    [
      "missing transactionId",
      { transactionId: undefined },
      "transactionId",
      /transactionId is required/,
    ],
    ["bad transactionId characters", { transactionId: "tx 1" }, "transactionId", /1-64 characters/],
    ["transactionId over 64", { transactionId: "a".repeat(65) }, "transactionId", /1-64/],
    ["occurredAt without offset", { occurredAt: "2026-11-21T09:30:00" }, "occurredAt", /RFC 3339/],
    [
      "occurredAt impossible date",
      { occurredAt: "2026-02-30T09:30:00+09:00" },
      "occurredAt",
      /RFC 3339/,
    ],
    ["amount fractional", { amount: 12.5 }, "amount", /amount must be a positive integer/],
    ["amount zero", { amount: 0 }, "amount", /amount must be a positive integer/],
    ["amount as string", { amount: "12800" }, "amount", /amount must be a positive integer/],
    ["amount over 10^12", { amount: 1e12 + 1 }, "amount", /at most/],
    ["currency unknown", { currency: "XYZ" }, "currency", /ISO 4217/],
    ["currency lowercase", { currency: "jpy" }, "currency", /ISO 4217/],
    [
      "payment type unknown",
      { paymentMethod: { type: "cheque" } },
      "paymentMethod.type",
      /one of card/,
    ],
    [
      "card missing for card type",
      { paymentMethod: { type: "card" } },
      "paymentMethod.card",
      /required/,
    ],
    [
      "card on pix",
      { paymentMethod: { type: "pix", card: { token: "t" } } },
      "paymentMethod.card",
      /only allowed/,
    ],
    [
      "card number short",
      { paymentMethod: { type: "card", card: { number: "4111" } } },
      "paymentMethod.card.number",
      /12-19 digits/,
    ],
    [
      "card number fails Luhn",
      { paymentMethod: { type: "card", card: { number: "4111111111111112" } } },
      "paymentMethod.card.number",
      /Luhn/,
    ],
    [
      "card with neither number nor token",
      { paymentMethod: { type: "card", card: { last4: "1111" } } },
      "paymentMethod.card",
      /number or a token/,
    ],
    ["channel unknown", { channel: "fax" }, "channel", /one of web/],
    ["ip invalid", { ipAddress: "300.1.1.1" }, "ipAddress", /IPv4 or IPv6/],
    ["country unknown", { country: "XX" }, "country", /ISO 3166-1/],
    ["shippingCountry lowercase", { shippingCountry: "br" }, "shippingCountry", /ISO 3166-1/],
    ["mcc letters", { mcc: "57a2" }, "mcc", /4 digits/],
    ["deviceId too long", { deviceId: "d".repeat(129) }, "deviceId", /at most 128/],
    ["metadata non-string value", { metadata: { a: 1 } }, "metadata.a", /strings/],
    ["metadata value too long", { metadata: { a: "x".repeat(257) } }, "metadata.a", /256/],
    [
      "metadata too many keys",
      { metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, "v"])) },
      "metadata",
      /at most 20/,
    ],
    ["NUL in customerId", { customerId: "c\u0000" }, "customerId", /NUL/],
    ["NUL in a metadata value", { metadata: { a: "x\u0000" } }, "metadata.a", /NUL/],
    ["a lone surrogate in deviceId", { deviceId: "d\ud800" }, "deviceId", /well-formed Unicode/],
    ["unknown top-level field", { riskScore: 3 }, "riskScore", /not a known field/],
  ];
  for (const [name, overrides, field, message] of cases) {
    test(`ING-1 rejects ${name}, naming the field ${field}`, () => {
      const body = wireTransaction(overrides);
      for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete body[k];
      const error = fieldError(body);
      assert.equal(error.field, field);
      assert.match(error.message, message);
    });
  }

  test("ING-1 PRC-1 occurredAt must be an instant the ledger can store: UTC years 1970..9999", () => {
    for (const occurredAt of [
      "9999-12-31T23:59:59-23:59", // year 10000 in UTC: PostgreSQL refuses it at commit
      "9999-12-31T23:59:59.999-00:01",
      "1970-01-01T00:00:00+00:01",
      "1969-12-31T23:59:59Z",
      "0001-01-01T00:00:00Z",
    ]) {
      const error = fieldError(wireTransaction({ occurredAt }));
      assert.equal(error.field, "occurredAt", occurredAt);
      assert.match(error.message, /RFC 3339/);
    }
    for (const occurredAt of [
      "9999-12-31T00:00:00-23:59",
      "9999-12-31T23:59:59.999Z",
      "1970-01-01T00:00:00Z",
      "1970-01-01T23:59:00+23:59",
    ]) {
      assert.equal(parseTransactionInput(wireTransaction({ occurredAt })).ok, true, occurredAt);
    }
  });

  test("ING-1 RFC 3339 timestamps may use lowercase t and z (RFC 3339 section 5.6)", () => {
    for (const value of ["2026-11-21t09:30:00z", "2026-11-21t09:30:00.5+09:00"]) {
      assert.equal(isRfc3339WithOffset(value), true, value);
      assert.equal(parseTransactionInput(wireTransaction({ occurredAt: value })).ok, true);
    }
    assert.equal(isRfc3339WithOffset("2026-11-21x09:30:00z"), false);
    assert.equal(isRfc3339WithOffset("2026-11-21T09:30:00+24:00"), false);
  });

  const pans: [string, Record<string, unknown>, string][] = [
    [
      "card.token",
      { paymentMethod: { type: "card", card: { token: `tok_${TEST_PAN}` } } },
      "paymentMethod.card.token",
    ],
    ["a metadata value", { metadata: { note: "paid with 4111 1111 1111 1111" } }, "metadata.note"],
    ["a metadata key", { metadata: { "4111-1111-1111-1111": "x" } }, "metadata"],
    ["customerId", { customerId: `c-${TEST_PAN}` }, "customerId"],
    ["deviceId", { deviceId: "5105105105105100" }, "deviceId"],
    ["transactionId", { transactionId: "4111-1111-1111-1111" }, "transactionId"],
  ];
  for (const [name, overrides, field] of pans) {
    test(`PRIV-1 ING-1 rejects a card number in ${name}, naming the field and not the number`, () => {
      const error = fieldError(wireTransaction(overrides));
      assert.equal(error.field?.startsWith(field), true, `${error.field} names ${field}`);
      assert.match(error.message, /must not contain a card number/);
      assert.ok(!/\d{6}/.test(error.message), "the message does not repeat the number");
    });
  }

  test("PRIV-1 ING-1 numbers that are not card numbers stay allowed in free text", () => {
    const ok = parseTransactionInput(
      wireTransaction({
        customerId: "4111111111111112", // fails Luhn
        metadata: { orderId: "2026-11-21-000123", phone: "090 1234 5678", big: "9".repeat(24) },
      }),
    );
    assert.equal(ok.ok, true);
  });

  test("ING-1 a batch prefix is part of the field and the message", () => {
    const result = parseTransactionInput(wireTransaction({ amount: -1 }), "transactions[3]");
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.field, "transactions[3].amount");
    assert.match(result.error.message, /^transactions\[3\]\.amount must be a positive integer/);
  });

  test("ING-1 accepts IPv6 and every payment method type", () => {
    for (const type of ["bank_transfer", "wallet", "pix", "konbini", "cod"]) {
      assert.equal(
        parseTransactionInput(
          wireTransaction({ paymentMethod: { type }, ipAddress: "2001:db8::1" }),
        ).ok,
        true,
      );
    }
  });
});

describe("card tokenization", () => {
  test("PRIV-1 the card number is replaced by a keyed token keeping BIN and last 4", () => {
    const parsed = parseTransactionInput(wireTransaction());
    assert.ok(parsed.ok);
    const tx = tokenizeTransaction(parsed.value, KEY);
    assert.deepEqual(tx.paymentMethod.card, {
      token: cardToken(MERCHANT, TEST_PAN, KEY),
      bin: "411111",
      last4: "1111",
    });
    assert.ok(!JSON.stringify(tx).includes(TEST_PAN));
    assert.notEqual(
      cardToken(MERCHANT, TEST_PAN, KEY),
      cardToken(MERCHANT, TEST_PAN, Buffer.alloc(32, 8)),
      "token depends on the key",
    );
    assert.equal(
      cardToken(MERCHANT, TEST_PAN, KEY),
      cardToken(MERCHANT, TEST_PAN, KEY),
      "token is deterministic",
    );
  });

  test("SEC-5 PRIV-1 the same card gets different tokens under two merchants, the same under one; an old token converts", () => {
    const tokenized = (merchantId: string) => {
      const parsed = parseTransactionInput(wireTransaction({ merchantId }));
      assert.ok(parsed.ok);
      return tokenizeTransaction(parsed.value, KEY).paymentMethod.card!;
    };
    const [japancart, fastshop] = [tokenized("japancart"), tokenized("fastshop")];
    assert.notEqual(japancart.token, fastshop.token, "no token links a card across merchants");
    assert.equal(tokenized("japancart").token, japancart.token, "one merchant, one token");
    assert.equal(tokenized("fastshop").token, fastshop.token, "one merchant, one token");
    for (const card of [japancart, fastshop]) {
      assert.equal(card.bin, "411111");
      assert.equal(card.last4, "1111");
      assert.match(card.token, /^tok_[A-Za-z0-9_-]{43}$/);
      assert.ok(!card.token.includes(TEST_PAN));
    }
    // A token made before SEC-5 (the HMAC of the number alone) converts without the number.
    const legacy = `tok_${createHmac("sha256", KEY).update(TEST_PAN).digest("base64url")}`;
    assert.equal(migratedCardToken("japancart", legacy, KEY), japancart.token);
    assert.equal(migratedCardToken("fastshop", legacy, KEY), fastshop.token);
    assert.equal(migratedCardToken("fastshop", "psp-tok-1", KEY), undefined);
    // Merchant id and number are not simply run together: "shop1" + "4111…" is not "shop14" +
    // "111…".
    assert.notEqual(cardToken("shop1", TEST_PAN, KEY), cardToken("shop14", TEST_PAN.slice(1), KEY));
  });

  test("SEC-5 PRIV-1 a card number in other digits or with separators is read as the plain number", () => {
    const fullwidth = (digits: string) =>
      [...digits].map((d) => String.fromCharCode(0xff10 + Number(d))).join("");
    const arabicIndic = (digits: string) =>
      [...digits].map((d) => String.fromCharCode(0x0660 + Number(d))).join("");
    const groups = ["4111", "1111", "1111", "1111"];
    const plain = tokenizeTransaction(
      (parseTransactionInput(wireTransaction()) as { value: TransactionInput }).value,
      KEY,
    ).paymentMethod.card;
    for (const number of [
      fullwidth(TEST_PAN),
      arabicIndic(TEST_PAN),
      groups.map(fullwidth).join("\u3000"),
      groups.join(" "),
      groups.join("-"),
      groups.join("\u200b"),
      groups.join("\u2013"),
      ` ${groups.join("\t")} `,
    ]) {
      const parsed = parseTransactionInput(
        wireTransaction({ paymentMethod: { type: "card", card: { number } } }),
      );
      assert.ok(parsed.ok, JSON.stringify(number));
      assert.equal(parsed.value.paymentMethod.card?.number, TEST_PAN);
      assert.deepEqual(tokenizeTransaction(parsed.value, KEY).paymentMethod.card, plain);
      // Tokenizing the number as written gives the same card too.
      const asWritten = { ...parsed.value, paymentMethod: { type: "card", card: { number } } };
      assert.deepEqual(
        tokenizeTransaction(asWritten as TransactionInput, KEY).paymentMethod.card,
        plain,
      );
    }
    for (const [number, message] of [
      [fullwidth("4111111111111112"), /fails the Luhn check/],
      [`${groups.join(" ")} x`, /must be 12-19 digits/],
      [arabicIndic("41111111111"), /must be 12-19 digits/],
    ] as const) {
      const error = fieldError(
        wireTransaction({ paymentMethod: { type: "card", card: { number } } }),
      );
      assert.equal(error.field, "paymentMethod.card.number");
      assert.match(error.message, message);
      assert.ok(!/\p{Nd}{5}/u.test(error.message), "the message does not repeat the number");
    }
  });

  test("PRIV-1 the BIN is kept only for numbers of 15 digits or more (PCI DSS: else last 4 only)", () => {
    const cardOf = (number: string) => {
      const parsed = parseTransactionInput(
        wireTransaction({ paymentMethod: { type: "card", card: { number } } }),
      );
      assert.ok(parsed.ok, number);
      return tokenizeTransaction(parsed.value, KEY).paymentMethod.card;
    };
    assert.deepEqual(cardOf("4222222222222"), {
      token: cardToken(MERCHANT, "4222222222222", KEY),
      last4: "2222",
    });
    assert.deepEqual(cardOf("30569309025904"), {
      token: cardToken(MERCHANT, "30569309025904", KEY),
      last4: "5904",
    });
    assert.deepEqual(cardOf("378282246310005"), {
      token: cardToken(MERCHANT, "378282246310005", KEY),
      bin: "378282",
      last4: "0005",
    });
  });

  test("PRIV-1 containsCardNumber finds Luhn-valid 13-19 digit numbers, plain or grouped", () => {
    for (const text of [
      TEST_PAN,
      "card 4111 1111 1111 1111 thanks",
      "4111-1111-1111-1111",
      "tok_4111111111111111",
      "order 12 4111 1111 1111 1111 9",
      "amex 3782 822463 10005",
      "4222222222222",
    ]) {
      assert.equal(containsCardNumber(text), true, text);
    }
    for (const text of [
      "",
      "4111111111111112",
      "411111111111", // 12 digits
      `9${TEST_PAN}`, // 17 digits, not Luhn-valid, no PAN inside a plain run
      "call 090-1234-5678",
      "41111 11111 11111 11112",
    ]) {
      assert.equal(containsCardNumber(text), false, text);
    }
  });

  test("PRIV-1 a client token passes through with its BIN and last 4", () => {
    const parsed = parseTransactionInput(
      wireTransaction({
        paymentMethod: { type: "card", card: { token: "psp-tok-1", bin: "510510", last4: "5100" } },
      }),
    );
    assert.ok(parsed.ok);
    assert.deepEqual(tokenizeTransaction(parsed.value, KEY).paymentMethod.card, {
      token: "psp-tok-1",
      bin: "510510",
      last4: "5100",
    });
  });

  test("PRIV-1 a stream envelope carrying a card number is invalid", () => {
    const result = streamEnvelopeSchema.safeParse({
      v: 1,
      receivedAt: new Date().toISOString(),
      tx: wireTransaction(),
    });
    assert.equal(result.success, false);
  });

  test("PRIV-1 card-like digit runs are masked in free text", () => {
    const masked = maskCardNumbers(`bad record {"number":"${TEST_PAN}"} and 4111 1111 1111 1111`);
    assert.ok(!masked.includes(TEST_PAN));
    assert.ok(!masked.includes("4111 1111 1111 1111"));
    assert.match(masked, /411111\*{6}1111/);
    assert.equal(maskCardNumbers("tok_4111111111111111"), "tok_411111******1111");
    assert.equal(
      maskCardNumbers("4222222222222"),
      "*********2222",
      "short numbers keep last 4 only",
    );
    assert.equal(maskCardNumbers("12345 4111111111111111"), `${"*".repeat(17)}1111`);
    assert.equal(maskCardNumbers("2026-11-21 id 42"), "2026-11-21 id 42");
  });
});
