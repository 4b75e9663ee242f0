import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  containsCardNumber,
  maskCardNumbers,
  redactCardNumbers,
} from "../../src/transaction/card-number.ts";
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

describe("card numbers in any spelling (SEC-5)", () => {
  /** The number in the digits of the script whose zero is `zero`. */
  const inScript = (digits: string, zero: number) =>
    [...digits].map((d) => String.fromCodePoint(zero + Number(d))).join("");
  const groups = (digits: string, sizes: number[]) => {
    const out: string[] = [];
    let at = 0;
    for (const size of sizes) {
      out.push(digits.slice(at, at + size));
      at += size;
    }
    return out;
  };
  const visa = groups(TEST_PAN, [4, 4, 4, 4]);
  const amex = groups("378282246310005", [4, 6, 5]);
  const fullwidth = (digits: string) => inScript(digits, 0xff10);
  const arabicIndic = (digits: string) => inScript(digits, 0x0660);

  test("SEC-5 PRIV-1 a card number in the decimal digits of any script is found", () => {
    const texts = [
      fullwidth(TEST_PAN),
      arabicIndic(TEST_PAN),
      inScript(TEST_PAN, 0x06f0), // Extended Arabic-Indic
      inScript(TEST_PAN, 0x0966), // Devanagari
      inScript(TEST_PAN, 0x0e50), // Thai
      inScript(TEST_PAN, 0x1d7d8), // mathematical double-struck, outside the BMP
      `paid with ${fullwidth("4111")}1111${arabicIndic("1111")}1111 thanks`,
      amex.map(fullwidth).join("\u3000"),
    ];
    for (const text of texts) assert.equal(containsCardNumber(text), true, text);
    // Every \p{Nd} digit counts by its value: each script's zero starts a run of ten.
    let scripts = 0;
    let runStart = 0;
    for (let code = 0x80; code <= 0x1ffff; code++) {
      if (!/^\p{Nd}$/u.test(String.fromCodePoint(code))) continue;
      if (!/^\p{Nd}$/u.test(String.fromCodePoint(code - 1))) runStart = code;
      if ((code - runStart) % 10 !== 0) continue;
      scripts++;
      assert.equal(containsCardNumber(inScript(TEST_PAN, code)), true, code.toString(16));
      assert.equal(containsCardNumber(inScript("4111111111111112", code)), false);
    }
    assert.ok(scripts > 50, `${scripts} scripts`);
  });

  test("SEC-5 PRIV-1 a card number with any separators or invisible characters in it is found", () => {
    const separators = [
      "\t",
      ",",
      ", ",
      "\n",
      "\u00a0", // no-break space
      "\u3000", // ideographic space
      "\u2013", // en dash
      " \u2014 ", // em dash
      "\u2012",
      "\uff0d", // fullwidth hyphen-minus
      "\uff0f", // fullwidth slash
      "\u00b7",
      "|",
      "+",
      "*",
      "\u200b",
      "\u200c",
      "\u200d",
      "\u2060",
      "\ufeff",
      "\u00ad", // soft hyphen
    ];
    for (const separator of separators) {
      for (const text of [visa.join(separator), `ref ${amex.join(separator)} ok`]) {
        assert.equal(containsCardNumber(text), true, JSON.stringify(text));
      }
    }
    for (const text of [
      [...TEST_PAN].join(" "), // one by one
      groups(TEST_PAN, [2, 2, 2, 2, 2, 2, 2, 2]).join("."), // two by two
      groups(TEST_PAN, [3, 3, 3, 3, 3, 1]).join("-"), // threes, the last one short
      visa.join(" , "), // mixed separators between card-sized groups
      [...TEST_PAN].join("\u200b"), // zero-width between every digit
      [...TEST_PAN].map((d) => `${d}\ufe0f\u20e3`).join(""), // keycap digits
      visa.map(fullwidth).join("\t"),
      groups(arabicIndic(TEST_PAN), [4, 4, 4, 4]).join("\u066c"), // Arabic thousands separator
    ]) {
      assert.equal(containsCardNumber(text), true, JSON.stringify(text));
    }
  });

  test("SEC-5 PRIV-1 ING-1 ids, metadata and card tokens so written are refused, naming the field, not the number", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ customerId: `c-${arabicIndic(TEST_PAN)}` }, "customerId"],
      [{ deviceId: visa.join("\t") }, "deviceId"],
      [{ metadata: { note: `card ${visa.map(fullwidth).join("\u3000")}` } }, "metadata.note"],
      [{ metadata: { ref: visa.join("\u200b") } }, "metadata.ref"],
      [{ metadata: { [visa.join("\u2013")]: "x" } }, "metadata"],
      [
        { paymentMethod: { type: "card", card: { token: amex.join(" \u2014 ") } } },
        "paymentMethod.card.token",
      ],
      [{ merchantId: `m ${[...TEST_PAN].join(" ")}` }, "merchantId"],
    ];
    for (const [overrides, field] of cases) {
      const error = rejected(wireTransaction(overrides));
      assert.equal(error.field, field, JSON.stringify(overrides));
      assert.match(error.message, /must not contain a card number/);
      assert.ok(!/\p{Nd}{4}/u.test(error.message), `${error.message} repeats no number`);
    }
  });

  test("SEC-5 PRIV-1 such spellings are replaced in errors, URLs and masked payloads", () => {
    assert.equal(
      redactCardNumbers(`/v1/transactions/${fullwidth(TEST_PAN)}`),
      "/v1/transactions/[card number]",
    );
    assert.equal(
      redactCardNumbers(`note: ${visa.join("\t")}, thanks (order 2026-12-07-000123)`),
      "note: [card number], thanks (order 2026-12-07-000123)",
    );
    assert.equal(
      maskCardNumbers(`{"n":"${arabicIndic(TEST_PAN)}","m":"${visa.join("\u200b")}"}`),
      '{"n":"411111******1111","m":"411111******1111"}',
    );
    assert.equal(maskCardNumbers(`x ${[...TEST_PAN].join(" ")} y`), "x 411111******1111 y");
    for (const [body, field] of [
      [{ [fullwidth(TEST_PAN)]: 1 }, "[card number]"],
      [{ metadata: { [visa.join("\u200b")]: 5 } }, "metadata.[card number]"],
    ] as const) {
      const error = rejected(wireTransaction(body));
      assert.equal(error.field, field);
      for (const text of [error.field!, error.message]) {
        assert.ok(!/\p{Nd}{4}/u.test(text), `${text} repeats no number`);
      }
    }
  });

  test("SEC-5 ING-1 ids, dates and company numbers whose digits would join into a card number still pass", () => {
    // Each of these is 14-16 digits with a card network's prefix that pass Luhn once every
    // separator is dropped; their groups are not a card number's, so they are not joined.
    const texts = [
      "30/11/2026 10:30:09", // a date and time
      "31/12/2026 23:59:57",
      "34.567.890/0001-26", // a Brazilian company number (CNPJ)
      "35-1700000000000-0", // shard, epoch milliseconds, sequence
      "3-1795253400129",
      "2026-12-07-000123", // an order id
      "\uff12\uff10\uff12\uff16-\uff11\uff12-\uff10\uff17-\uff10\uff10\uff10\uff11\uff12\uff13",
      "\u914d\u9054\u306f2026\u5e7412\u67087\u65e5 10:30", // 配達は2026年12月7日
      "+81 90-1234-5678",
      "192.168.100.200:54321",
      "dev-3f2c9a7b-1e4d-4c8a-9b6e-5d3c2a1f0e9d",
    ];
    for (const text of texts) assert.equal(containsCardNumber(text), false, text);
    const metadata = Object.fromEntries(texts.map((t, i) => [`k${i}`, t]));
    assert.equal(parseTransactionInput(wireTransaction({ metadata })).ok, true);
  });
});
