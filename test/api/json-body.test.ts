import assert from "node:assert/strict";
import { test } from "node:test";
import { duplicateKeyOf } from "../../src/api/json-body.ts";

const check = (text: string) => duplicateKeyOf(text, JSON.parse(text));

test("SEC-6 duplicate JSON keys are found at any depth, named by their path", () => {
  assert.equal(check('{"a":1,"a":2}'), "a");
  assert.equal(check('{"a":1,"b":{"c":1, "c" :2}}'), "b.c");
  assert.equal(check('{"t":[{"x":1},{"x":1,"y":"\\"x\\":","x":3}]}'), "t[1].x");
  assert.equal(check('[0,{"a":{"a":1},"b":[{"a":1,"a":1}]}]'), "[1].b[0].a");
  // The same key written with an escape is the same key.
  assert.equal(check('{"a":"\\\\","\\u0061":1}'), "a");
});

test("SEC-6 equal keys in different objects, and colons or quotes inside strings, are no duplicate", () => {
  for (const text of [
    '{"a":{"a":1},"b":{"a":2}}',
    '[{"a":1},{"a":1}]',
    '{"a":"x\\":","b":":","c":"\\\\","d":["a:","a"]}',
    '{ "a" : 1 ,\n "b" : { "a" : 2 } }',
    "[]",
    '"a"',
    "1",
  ]) {
    assert.equal(check(text), undefined, text);
  }
});

test("SEC-6 a body of 100,000 keys is checked in linear time", () => {
  const keys = Array.from({ length: 100_000 }, (_, i) => `"k${i}":1`);
  const started = performance.now();
  assert.equal(check(`{${keys.join(",")}}`), undefined);
  assert.equal(check(`{${keys.join(",")},"k99999":2}`), "k99999");
  // Linear: well under a second alone; a quadratic search of 100,000 keys would take minutes.
  assert.ok(performance.now() - started < 10_000, "no quadratic search");
});
