import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiError, safeErrorFields } from "../src/errors.ts";
import { TEST_PAN } from "./support/fixtures.ts";

describe("what an error may show", () => {
  test("PRIV-1 safeErrorFields cuts credentials out of URLs, also when the password holds / or @", () => {
    const cases: [string, string][] = [
      ["connect postgres://txw:secret@db:5432/test", "connect postgres://[redacted]@db:5432/test"],
      [
        "postgres://txw:pa/ss@word@db:5432/test failed",
        "postgres://[redacted]@db:5432/test failed",
      ],
      [
        "redis://:a@b/c@cache:6379 and redis://u:p@other",
        "redis://[redacted]@cache:6379 and redis://[redacted]@other",
      ],
      ["no url here: user@example.com", "no url here: user@example.com"],
      ["https://example.com/path/x", "https://example.com/path/x"],
    ];
    for (const [message, expected] of cases) {
      assert.equal(safeErrorFields(new Error(message)).message, expected);
    }
    const fields = safeErrorFields(new Error(`postgres://txw:pa/ss@word@db card ${TEST_PAN}`));
    assert.ok(!fields.message.includes("pa/ss") && !fields.message.includes("word@"));
    assert.ok(!fields.message.includes(TEST_PAN));
  });

  test("PRIV-1 an API error never carries a card number in its message or field", () => {
    const error = new ApiError("TXW_ERR_NOT_FOUND", `no route GET /v1/x/${TEST_PAN}`, TEST_PAN);
    assert.deepEqual(error.toBody(), {
      error: {
        code: "TXW_ERR_NOT_FOUND",
        message: "no route GET /v1/x/[card number]",
        field: "[card number]",
      },
    });
    assert.equal(
      new ApiError("TXW_ERR_VALIDATION", "amount must be at most 1000000000000").message,
      "amount must be at most 1000000000000",
    );
  });
});
