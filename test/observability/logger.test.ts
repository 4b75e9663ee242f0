import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TEST_PAN } from "../support/fixtures.ts";
import { logSink } from "../support/log-sink.ts";

/** What pg's DatabaseError carries for a refused row: its values in `detail`, SQL in `where`. */
function pgError(): Error {
  return Object.assign(new Error(`new row violates check constraint (card ${TEST_PAN})`), {
    name: "DatabaseError",
    code: "23514",
    severity: "ERROR",
    detail: `Failing row contains (c-77, ${TEST_PAN}, 198.51.100.23, device-4).`,
    where: "PL/pgSQL function refuse() line 3 at RAISE",
    schema: "txw",
    table: "transactions",
  });
}

describe("the error serializer (SEC-5, OPS-4)", () => {
  test("SEC-5 a logged pg error writes its name, code, masked message and stack: no detail, no card number, no IP", () => {
    const sink = logSink();
    const wrapped = new Error("history unavailable: rebuilding", { cause: pgError() });
    sink.log.error({ err: pgError() }, "batch failed");
    sink.log.error({ err: wrapped }, "history replay failed");
    sink.log.error(pgError(), "logged as the first argument");
    const text = sink.text();
    assert.ok(!text.includes(TEST_PAN), "no card number");
    assert.ok(!text.includes("198.51.100.23"), "no IP address");
    assert.ok(!text.includes("Failing row"), "no detail");
    assert.ok(!text.includes("PL/pgSQL"), "no where");
    const [first, second, third] = sink.lines();
    const err = first!.err as Record<string, unknown>;
    assert.deepEqual(Object.keys(err).sort(), ["code", "message", "name", "stack"]);
    assert.equal(err.name, "DatabaseError");
    assert.equal(err.code, "23514");
    assert.match(String(err.message), /^new row violates check constraint \(card \d{6}\*+\d{4}\)$/);
    assert.match(String(err.stack), /^DatabaseError: new row violates[^\n]*\n\s+at /);
    const cause = (second!.err as { cause?: Record<string, unknown> }).cause;
    assert.equal(cause?.code, "23514", "the cause's code, for the operator");
    assert.equal((third!.err as Record<string, unknown>).code, "23514");
  });

  test("SEC-5 credentials in a driver's connection string are cut; a non-error thrown logs no value", () => {
    const sink = logSink();
    sink.log.error({ err: new Error("connect to postgres://txw:s3cr@t@db:5432/x failed") }, "a");
    sink.log.error({ err: { password: "hunter2" } }, "b");
    sink.log.error({ err: { name: "DatabaseError", message: "m", detail: `(${TEST_PAN})` } }, "c");
    const text = sink.text();
    assert.ok(!text.includes("s3cr@t"));
    assert.ok(!text.includes("hunter2"));
    assert.ok(!text.includes(TEST_PAN), "an error-shaped object passes the same allow-list");
    assert.deepEqual(sink.lines()[2]!.err, { name: "DatabaseError", message: "m" });
    assert.match(
      String((sink.lines()[0]!.err as { message: string }).message),
      /\/\/\[redacted\]@db/,
    );
  });
});
