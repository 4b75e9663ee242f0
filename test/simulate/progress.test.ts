import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { createProgress, createProgressReporter } from "../../src/simulate/index.ts";

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => chunks.join("") };
}

describe("simulate progress", () => {
  test("OPS-2 without a terminal, progress is a throttled line that always reports the end", () => {
    const out = capture(false);
    let clock = 0;
    const progress = createProgressReporter({
      stream: out.stream,
      intervalMs: 2000,
      now: () => clock,
    });
    progress.onProgress(10, 100);
    clock = 500;
    progress.onProgress(20, 100); // within the interval: skipped
    clock = 2500;
    progress.onProgress(60, 100);
    clock = 2600;
    progress.onProgress(100, 100); // the end: always shown
    progress.onDecisions(100, 100);
    progress.stop();
    assert.deepEqual(out.text().trimEnd().split("\n"), [
      "simulate: sent 10/100 (10%)",
      "simulate: sent 60/100 (60%)",
      "simulate: sent 100/100 (100%)",
      "simulate: decided 100/100 (100%)",
    ]);
  });

  test("OPS-2 on a terminal, progress is a cli-progress bar per phase", () => {
    const out = capture(true);
    const progress = createProgress(50, { stream: out.stream });
    progress.update(25);
    progress.update(50);
    progress.onDecisions(10, 50);
    progress.stop();
    const text = out.text();
    assert.match(text, /sending/);
    assert.match(text, /50\/50 tx/);
    assert.match(text, /decisions/);
  });
});
