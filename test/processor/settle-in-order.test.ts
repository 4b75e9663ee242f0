import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HistoryUnavailableError } from "../../src/history/unavailable.ts";
import { refusalOf } from "../../src/processor/refusal.ts";
import { type SettleSteps, settleInOrder } from "../../src/processor/settle-in-order.ts";

/** An error as pg and PGlite raise them: a message and a SQLSTATE `code`. */
function sqlError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function replyError(message: string): Error {
  const error = new Error(message);
  error.name = "ReplyError";
  return error;
}

/**
 * A store that commits units all or nothing and refuses any slice holding a `bad` unit with
 * `failure`; it records what was committed, quarantined and tried.
 */
function store(
  bad: Set<number>,
  failure: () => Error,
  overrides: Partial<SettleSteps<number>> = {},
) {
  const committed: number[] = [];
  const quarantined: [number, string][] = [];
  const attempts: number[][] = [];
  const steps: SettleSteps<number> = {
    async commit(units) {
      attempts.push([...units]);
      if (units.some((u) => bad.has(u))) throw failure();
      committed.push(...units);
    },
    async quarantine(unit, reason) {
      quarantined.push([unit, reason]);
    },
    refusal: refusalOf,
    retries: 2,
    retryPauseMs: 0,
    ...overrides,
  };
  return { steps, committed, quarantined, attempts };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("settleInOrder (REL-5)", () => {
  test("REL-5 a unit refused for good is quarantined alone; every other is committed once, in order", async () => {
    const s = store(new Set([13]), () => sqlError("P0001", "refused for good"));
    assert.equal(await settleInOrder(range(40), s.steps), undefined);
    assert.deepEqual(
      s.committed,
      range(40).filter((u) => u !== 13),
      "in order, once each",
    );
    assert.deepEqual(s.quarantined, [[13, "SQLSTATE P0001: refused for good"]]);
    // The whole batch is tried 3 times (2 retries), then halves once each, then the unit 3 times.
    assert.equal(s.attempts.filter((a) => a.length === 40).length, 3);
    assert.equal(s.attempts.filter((a) => a.length === 1 && a[0] === 13).length, 3);
    assert.ok(s.attempts.length <= 3 + 2 * Math.ceil(Math.log2(40)) + 3, "bounded work");
  });

  test("REL-5 several refused units in one batch are each quarantined, the rest committed in order", async () => {
    const s = store(new Set([0, 5, 6, 19]), () => sqlError("23514", "check violated"));
    assert.equal(await settleInOrder(range(20), s.steps), undefined);
    assert.deepEqual(
      s.committed,
      range(20).filter((u) => ![0, 5, 6, 19].includes(u)),
    );
    assert.deepEqual(
      s.quarantined.map(([u]) => u),
      [0, 5, 6, 19],
    );
  });

  test("REL-5 a dependency failure stops at the first unit not committed and quarantines nothing", async () => {
    for (const outage of [
      () =>
        Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
      () => sqlError("57P01", "terminating connection due to administrator command"),
      () => sqlError("08006", "connection failure"),
      () => sqlError("40P01", "deadlock detected"),
      () => new Error("Connection terminated unexpectedly"),
      () => new Error("Command timed out"),
      () => replyError("LOADING Redis is loading the dataset in memory"),
    ]) {
      const s = store(new Set([7]), outage);
      const unsettled = await settleInOrder(range(10), s.steps);
      assert.equal(unsettled?.failedAt, 0, "nothing committed: redeliver from the start");
      assert.deepEqual(s.quarantined, []);
      assert.equal(s.attempts.length, 1, "no in-process retry: the stream backs off");
    }
  });

  test("REL-5 an outage in the middle of splitting hands back from the first unit not committed", async () => {
    let down = false;
    const s = store(new Set([6]), () =>
      down ? sqlError("08006", "connection failure") : sqlError("22P02", "invalid input"),
    );
    const commit = s.steps.commit;
    s.steps.commit = async (units) => {
      // The database goes away once the first half has been committed.
      if (units.length === 4 && units[0] === 4) down = true;
      await commit(units);
    };
    const unsettled = await settleInOrder(range(8), s.steps);
    assert.deepEqual(s.committed, [0, 1, 2, 3]);
    assert.equal(unsettled?.failedAt, 4);
    assert.deepEqual(s.quarantined, []);
  });

  test("REL-5 a refusal that passes on retry (a race) quarantines nothing", async () => {
    let failures = 0;
    const s = store(new Set([3]), () => sqlError("23505", "duplicate key"));
    const commit = s.steps.commit;
    s.steps.commit = async (units) => {
      if (failures++ < 2) await commit(units);
      else s.committed.push(...units);
    };
    assert.equal(await settleInOrder(range(6), s.steps), undefined);
    assert.deepEqual(s.committed, range(6));
    assert.deepEqual(s.quarantined, []);
  });

  test("REL-5 a quarantine that fails hands the batch back from that unit", async () => {
    const s = store(new Set([2]), () => sqlError("22021", "invalid byte sequence"), {
      quarantine: async () => {
        throw new Error("Connection terminated unexpectedly");
      },
    });
    const unsettled = await settleInOrder(range(5), s.steps);
    assert.deepEqual(s.committed, [0, 1]);
    assert.equal(unsettled?.failedAt, 2);
  });
});

describe("refusalOf (REL-5)", () => {
  test("REL-5 SQLSTATE classes 22, 23, P0 and 54 are the record's own; the others are not", () => {
    assert.equal(refusalOf(sqlError("22P02", "bad\nmore")), "SQLSTATE 22P02: bad");
    assert.match(refusalOf(sqlError("23505", "dup")) ?? "", /^SQLSTATE 23505/);
    assert.match(refusalOf(sqlError("P0001", "raised")) ?? "", /^SQLSTATE P0001/);
    assert.match(refusalOf(sqlError("54000", "too big")) ?? "", /^SQLSTATE 54000/);
    for (const code of ["08006", "57P01", "57P03", "53300", "53100", "40001", "XX000", "42P01"]) {
      assert.equal(refusalOf(sqlError(code, "x")), undefined, code);
    }
    assert.equal(refusalOf(new Error("timeout exceeded when trying to connect")), undefined);
    assert.equal(refusalOf("a string"), undefined);
  });

  test("REL-5 a Redis script error is the record's own; busy, loading, read-only, OOM and NOSCRIPT are not", () => {
    const wrapped = new Error("history store: recording tx-1: ERR user_script:3: boom", {
      cause: replyError("ERR user_script:3: boom"),
    });
    assert.equal(refusalOf(wrapped), "Redis ERR user_script:3: boom");
    for (const prefix of ["BUSY", "LOADING", "READONLY", "OOM", "NOSCRIPT", "MASTERDOWN"]) {
      assert.equal(refusalOf(replyError(`${prefix} try later`)), undefined, prefix);
    }
  });

  test("REL-5 Redis replies are an allow-list: script runtime errors and WRONGTYPE are the record's own, any other reply an outage", () => {
    const sha = "872b3fcb081448525c6141cdfa3df8374d30d162";
    // What Redis 7.0 answers (redis-cli eval): a Lua error, a refused call inside the script.
    for (const message of [
      `ERR user_script:1: attempt to perform arithmetic on a nil value script: ${sha}, on @user_script:1.`,
      `ERR value is not a valid float script: ${sha}, on @user_script:1.`,
      `WRONGTYPE Operation against a key holding the wrong kind of value script: ${sha}, on @user_script:1.`,
      "WRONGTYPE Operation against a key holding the wrong kind of value",
      `ERR Error running script (call to f_${sha}): @user_script:1: user_script:1: boom`,
    ]) {
      assert.equal(refusalOf(replyError(message)), `Redis ${message}`, message);
    }
    for (const message of [
      "ERR something went wrong",
      "ERR max number of clients reached",
      "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'",
      `OOM command not allowed when used memory > 'maxmemory'. script: ${sha}, on @user_script:1.`,
      `READONLY You can't write against a read only replica. script: ${sha}, on @user_script:1.`,
      "CROSSSLOT Keys in request don't hash to the same slot",
    ]) {
      assert.equal(refusalOf(replyError(message)), undefined, message);
    }
  });

  test("REL-5 a history that cannot be regained is an outage, whatever its cause: the walk stops at the wrapper", () => {
    const pg23 = Object.assign(new Error("duplicate key value"), { code: "23505" });
    const script = replyError("ERR user_script:3: boom");
    for (const cause of [pg23, script, replyError("ERR something")]) {
      const wrapped = new HistoryUnavailableError("rebuilding the history from the ledger", cause);
      assert.equal(refusalOf(wrapped), undefined, cause.message);
      assert.equal(refusalOf(new Error("outer", { cause: wrapped })), undefined, cause.message);
    }
  });
});
