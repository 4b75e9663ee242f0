import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createLogger } from "../../src/observability/logger.ts";
import { fatalHandler, SUPERVISION_DOC } from "../../src/runtime/fatal.ts";

test("REL-2 a process that must end says that nothing accepted is lost and how to supervise it, without card data", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const exits: number[] = [];
  const handle = fatalHandler(createLogger("info", sink), (code) => exits.push(code));
  handle(new Error("defect near card 4111 1111 1111 1111"), "uncaughtException");
  assert.deepEqual(exits, [1]);
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]!) as { level: unknown; msg: string; origin: string };
  assert.match(entry.msg, /nothing accepted is lost/);
  assert.match(entry.msg, /supervisor/);
  assert.ok(entry.msg.includes(SUPERVISION_DOC));
  assert.equal(entry.origin, "uncaughtException");
  assert.doesNotMatch(lines[0]!, /4111 1111 1111 1111/);
  // Where the defect is: the stack, masked too.
  assert.match(lines[0]!, /"stack":"Error: defect near card/);
});
