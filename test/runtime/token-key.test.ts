import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { decodeTokenKey, loadConfig } from "../../src/config.ts";
import { ValidationError } from "../../src/errors.ts";
import { localTokenKey } from "../../src/runtime/data-dir.ts";

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "txw-key-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("card-token key", () => {
  test("PRIV-1 a fresh data dir gets a random 32-byte key, mode 0600, read back unchanged", () => {
    withDir((dir) => {
      const key = localTokenKey(dir);
      assert.equal(key.length, 32);
      assert.deepEqual(localTokenKey(dir), key);
      assert.equal(statSync(join(dir, "token.key")).mode & 0o777, 0o600);
      writeFileSync(join(dir, "token.key"), `${key.toString("hex")}\n`);
      assert.deepEqual(localTokenKey(dir), key, "a trailing newline is fine");
    });
  });

  for (const [name, content] of [
    ["empty", ""],
    ["truncated to 16 bytes", "ab".repeat(16)],
    ["not hex", "zz".repeat(32)],
    ["hex with junk", `${"ab".repeat(32)} trailing`],
  ] as const) {
    test(`PRIV-1 a token.key that is ${name} stops the start, naming the file and not its content`, () => {
      withDir((dir) => {
        const path = join(dir, "token.key");
        writeFileSync(path, content, { mode: 0o600 });
        assert.throws(
          () => localTokenKey(dir),
          (error: unknown) => {
            assert.ok(error instanceof ValidationError);
            assert.ok(error.message.includes(path), error.message);
            assert.match(error.message, /64 hex characters/);
            if (content !== "") assert.ok(!error.message.includes(content.slice(0, 8)));
            return true;
          },
        );
        assert.equal(readFileSync(path, "utf8"), content, "the file is left for the operator");
      });
    });
  }

  test("PRIV-1 TXWATCH_TOKEN_KEY must be hex or base64 of at least 32 bytes, named in the error", () => {
    const hex = randomBytes(32).toString("hex");
    const base64 = randomBytes(32).toString("base64");
    assert.equal(loadConfig({ TXWATCH_TOKEN_KEY: hex }).TXWATCH_TOKEN_KEY, hex);
    assert.equal(decodeTokenKey(hex).length, 32);
    assert.equal(decodeTokenKey(base64).length, 32);
    assert.equal(decodeTokenKey(randomBytes(48).toString("base64url")).length, 48);
    const bad = [
      randomBytes(31).toString("hex"),
      randomBytes(24).toString("base64"),
      // A passphrase: Buffer.from(…, "base64") would skip the spaces and take it as 40+ bytes.
      "correct horse battery staple, but really quite a long passphrase!",
    ];
    for (const value of bad) {
      for (const attempt of [
        () => loadConfig({ TXWATCH_TOKEN_KEY: value }),
        () => decodeTokenKey(value),
      ]) {
        assert.throws(attempt, (error: unknown) => {
          assert.ok(error instanceof ValidationError);
          assert.equal(error.field, "TXWATCH_TOKEN_KEY");
          assert.match(error.message, /^TXWATCH_TOKEN_KEY:? must/);
          assert.ok(!error.message.includes(value), "the key is never printed");
          return true;
        });
      }
    }
  });
});
