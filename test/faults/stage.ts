import type { ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { cleanEnv, runCli, type Started, startCli } from "../support/cli.ts";
import { freePort } from "../support/loopback.ts";
import { jsonLines } from "../support/monitor-probe.ts";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.ts";
import {
  killRedis,
  type RedisOptions,
  type RedisServer,
  startRedis,
} from "../support/redis-server.ts";
import { sleep } from "../support/wait.ts";
import type { HonestClient } from "./honest-client.ts";
import { LedgerAudit } from "./ledger-audit.ts";

/**
 * The stage of the fault suite (REL-1): one private PostgreSQL cluster for the whole run (a
 * database per scenario), and per scenario its own redis-server, data directory, port and
 * `txwatch start` child. Every process started here is tracked by PID and killed on the way
 * out, whatever happened (an exit hook covers a run cut short).
 */

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let cluster: PrivatePostgres | undefined;

export function track(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  live.add(child);
  child.once("exit", () => live.delete(child));
}

function killAllTracked(): void {
  for (const child of live) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  live.clear();
}

process.once("exit", () => {
  killAllTracked();
  cluster?.abandon();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => process.exit(signal === "SIGINT" ? 130 : 143));
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

function removeDir(dir: string | undefined): void {
  if (dir === undefined) return;
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

export interface Cluster {
  postgres: PrivatePostgres;
  /** A new database of the cluster, as a URL for DATABASE_URL. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const postgres = await startPrivatePostgres();
  cluster = postgres;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  // The private cluster acknowledges commits before writing them (synchronous_commit=off on its
  // command line): an immediate stop would lose decisions the monitor was told were stored. A
  // role's setting outranks the command line, so the monitor's connections commit for real.
  await admin("ALTER ROLE postgres SET synchronous_commit = on");
  return {
    postgres,
    async database(name) {
      await admin(`CREATE DATABASE ${name}`);
      const url = new URL(postgres.url);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async stop() {
      await postgres.stop();
      cluster = undefined;
    },
  };
}

export async function redisServer(options: RedisOptions): Promise<RedisServer> {
  const server = await startRedis(options);
  track(server.child);
  return server;
}

export { killRedis };

interface Generation {
  started: Started;
  /** When it listened (ms since the epoch; startCli resolves 100 ms after the banner). */
  listeningAt: number;
  /** Set before a kill or stop the test ordered. */
  expectedExit: boolean;
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
}

/**
 * `txwatch start` as a child, restarted by the test after each kill -9, and by itself (as a
 * supervisor would) when it dies unasked, each such death recorded as a finding: a dead
 * monitor must not also hide what the accounting would show.
 */
export class MonitorProcess {
  readonly generations: Generation[] = [];
  /** Deaths the test did not order. */
  readonly unexpectedExits: string[] = [];
  apiKey: string | undefined;
  private supervising = true;
  private restarting: Promise<void> | undefined;

  constructor(
    readonly port: number,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get current(): Generation | undefined {
    return this.generations.at(-1);
  }

  alive(): boolean {
    const current = this.current;
    return current !== undefined && current.exit === undefined;
  }

  /** Everything every generation printed, in order. */
  output(): string {
    return this.generations.map((g) => g.started.output()).join("");
  }

  /** Starts a generation; retries a start that fails (a store down) for up to `timeoutMs`. */
  async start(timeoutMs = 60_000): Promise<Generation> {
    const deadline = Date.now() + timeoutMs;
    let failures = 0;
    for (;;) {
      try {
        const started = await startCli(this.env, 60_000);
        track(started.child);
        const generation: Generation = {
          started,
          listeningAt: Date.now() - 100,
          expectedExit: false,
        };
        this.generations.push(generation);
        if (started.apiKey !== undefined) this.apiKey ??= started.apiKey;
        started.child.once("exit", (code, signal) => {
          generation.exit = { code, signal, at: Date.now() };
          if (generation.expectedExit) return;
          const tail = started.output().trim().split("\n").slice(-3).join(" | ");
          this.unexpectedExits.push(
            `monitor (pid ${started.child.pid}) died unasked (code ${code}, signal ${signal}); last output: ${tail.slice(0, 600)}`,
          );
          if (this.supervising) this.restarting = this.start().then(() => undefined);
        });
        return generation;
      } catch (error) {
        failures++;
        if (Date.now() > deadline) {
          throw new Error(`txwatch start failed ${failures} times: ${(error as Error).message}`);
        }
        await sleep(1000);
      }
    }
  }

  /** kill -9 by PID; resolves once the process is gone. */
  async kill9(): Promise<void> {
    const current = this.current;
    if (current === undefined || current.exit !== undefined) return;
    current.expectedExit = true;
    const gone = new Promise<void>((resolve) =>
      current.started.child.once("exit", () => resolve()),
    );
    process.kill(current.started.child.pid!, "SIGKILL");
    await gone;
  }

  /** Waits for a restart the supervisor began, if any. */
  async settled(): Promise<void> {
    while (this.restarting !== undefined) {
      const pending = this.restarting;
      await pending.catch(() => undefined);
      if (this.restarting === pending) this.restarting = undefined;
    }
  }

  /** Stops the current generation (SIGTERM, SIGKILL after 10 s) and supervises no more. */
  async stop(): Promise<void> {
    this.supervising = false;
    await this.settled();
    const current = this.current;
    if (current === undefined || current.exit !== undefined) return;
    current.expectedExit = true;
    const child = current.started.child;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
  }

  /** The JSON log lines, from `offset` characters into output(). */
  linesSince(offset: number): Record<string, unknown>[] {
    return jsonLines(this.output().slice(offset));
  }
}

/** Log lines that report the history rebuilt from the ledger (REL-6). */
export function rebuildLines(lines: Record<string, unknown>[]): Record<string, unknown>[] {
  return lines.filter((l) => {
    const msg = String(l.msg ?? "");
    return /history/i.test(msg) && /rebuil/i.test(msg);
  });
}

export interface Row {
  scenario: string;
  injected: string;
  sent: number;
  accepted: number;
  inLedger: number;
  lost: number;
  doubled: number;
  chain: string;
  finding: string;
}

const TABLE = process.env.TXWATCH_FAULTS_TABLE ?? ".build/test-results/faults-table.jsonl";

/**
 * One scenario's findings: `check` records a problem instead of throwing, so a scenario goes
 * on to its accounting and reports everything it saw; `finish` then fails the test with every
 * problem (none is dropped or softened), after writing the scenario's row of the table.
 */
export class Scenario {
  readonly problems: string[] = [];
  readonly notes: string[] = [];
  readonly row: Row;
  private readonly cleanups: (() => Promise<void> | void)[] = [];

  constructor(scenario: string, injected: string) {
    this.row = {
      scenario,
      injected,
      sent: 0,
      accepted: 0,
      inLedger: 0,
      lost: 0,
      doubled: 0,
      chain: "not run",
      finding: "",
    };
  }

  check(ok: boolean, problem: string): boolean {
    if (!ok) this.problems.push(problem);
    return ok;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Runs at the end, last registered first, whatever happened. */
  cleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /** Cleans up, writes the row, and throws when anything was found wrong. */
  async finish(error?: unknown): Promise<void> {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (cleanupError) {
        this.notes.push(`cleanup failed: ${(cleanupError as Error).message}`);
      }
    }
    if (error !== undefined) this.problems.push(`aborted: ${(error as Error).stack ?? error}`);
    const found = this.problems.length === 0 ? ["ok"] : this.problems.map((p) => `FAIL ${p}`);
    this.row.finding = [...found, ...this.notes].join("; ");
    mkdirSync(dirname(TABLE), { recursive: true });
    appendFileSync(TABLE, `${JSON.stringify(this.row)}\n`);
    if (this.problems.length > 0) {
      throw new Error(
        `${this.row.scenario}: ${this.problems.length} finding(s):\n- ${this.problems.join("\n- ")}`,
      );
    }
  }
}

/** Per-scenario resources: a database, a Redis, a data directory, a port, the monitor. */
export interface Stage {
  databaseUrl: string;
  audit: LedgerAudit;
  redis: RedisServer;
  redisOptions: RedisOptions;
  dataDir: string;
  monitor: MonitorProcess;
}

export async function openStage(
  scenario: Scenario,
  cluster: Cluster,
  name: string,
  options: { appendonly?: boolean; env?: Record<string, string> } = {},
): Promise<Stage> {
  const databaseUrl = await cluster.database(`fault_${name}`);
  const redisOptions: RedisOptions = { port: await freePort() };
  if (options.appendonly) {
    redisOptions.dir = tempDir(`txwatch-fault-redis-${name}-`);
    redisOptions.appendonly = true;
  }
  const redis = await redisServer(redisOptions);
  const dataDir = tempDir(`txwatch-fault-${name}-`);
  const port = await freePort();
  const monitor = new MonitorProcess(
    port,
    cleanEnv({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      TXWATCH_DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: "info",
      TXWATCH_RATE_LIMIT: "1000000",
      ...options.env,
    }),
  );
  const stage: Stage = {
    databaseUrl,
    audit: new LedgerAudit(databaseUrl),
    redis,
    redisOptions,
    dataDir,
    monitor,
  };
  scenario.cleanup(() => {
    removeDir(dataDir);
    removeDir(redisOptions.dir);
  });
  // The Redis of the moment (a scenario may have replaced it), after the monitor.
  scenario.cleanup(() => killRedis(stage.redis));
  scenario.cleanup(() => monitor.stop());
  await stage.monitor.start();
  if (stage.monitor.apiKey === undefined) throw new Error("the first start printed no API key");
  return stage;
}

/** `txwatch verify-ledger` against the scenario's database: "ok", or what it printed. */
export async function verifyChain(stage: Stage): Promise<{ ok: boolean; text: string }> {
  const result = await runCli(
    ["verify-ledger"],
    cleanEnv({ DATABASE_URL: stage.databaseUrl, TXWATCH_DATA_DIR: stage.dataDir }),
    60_000,
  );
  const text = `${result.stdout}${result.stderr}`.trim().replace(/\s+/g, " ");
  return { ok: result.code === 0, text: `exit ${result.code}: ${text.slice(0, 300)}` };
}

const sample = (ids: Iterable<string>, n = 5) => [...ids].slice(0, n).join(", ");

/** The answers an id got, short: "0:ECONNREFUSED 202:accepted". */
export function answersOf(client: HonestClient, id: string): string {
  return (client.answers.get(id) ?? [])
    .map((a) => `${a.http}:${a.status ?? ""}${a.code !== undefined ? `/${a.code}` : ""}`)
    .slice(-6)
    .join(" ");
}

/**
 * The exact accounting every scenario ends with (REL-1): every id sent got a definitive answer;
 * every id answered `accepted` or `duplicate` is in the ledger exactly once; nothing else is
 * there; the chain verifies. `excluded` ids (a record refused for good) are accounted by the
 * scenario itself.
 */
export async function account(
  scenario: Scenario,
  stage: Stage,
  client: HonestClient,
  options: { excluded?: Set<string>; settleMs?: number; drainMs?: number } = {},
): Promise<void> {
  const excluded = options.excluded ?? new Set<string>();
  const settled = await client.settle(options.settleMs ?? 40_000);
  await client.close();
  const sent = client.sent;
  const open = client.open();
  scenario.check(
    settled,
    `${open.length} of ${sent.length} ids never got a definitive answer (e.g. ${sample(open, 3)}: ${open
      .slice(0, 3)
      .map((id) => answersOf(client, id))
      .join(" || ")})`,
  );
  const refused = sent.filter((id) => client.final.get(id) === "refused");
  scenario.check(
    refused.length === 0,
    `${refused.length} ids refused with an answer an honest client does not retry (e.g. ${refused
      .slice(0, 3)
      .map((id) => `${id} ${answersOf(client, id)}`)
      .join(" || ")})`,
  );
  const expected = new Set(
    sent.filter(
      (id) =>
        !excluded.has(id) &&
        (client.acceptedIds.has(id) ||
          client.final.get(id) === "accepted" ||
          client.final.get(id) === "duplicate"),
    ),
  );
  const drained = await stage.audit.waitForIds(expected, options.drainMs ?? 40_000);
  const rows = await stage.audit.rowsPerId();
  const sentSet = new Set(sent);
  const lost = [...expected].filter((id) => !rows.has(`demo/${id}`));
  const doubled = [...rows].filter(([, n]) => n > 1).map(([key, n]) => `${key}×${n}`);
  const foreign = [...rows.keys()].filter(
    (key) => !key.startsWith("demo/") || !sentSet.has(key.slice("demo/".length)),
  );
  const acceptedOnly = sent.filter((id) => client.acceptedIds.has(id));
  Object.assign(scenario.row, {
    sent: sent.length,
    accepted: acceptedOnly.length,
    inLedger: rows.size,
    lost: lost.length,
    doubled: doubled.length,
  });
  scenario.check(
    drained && lost.length === 0,
    `${lost.length} ids answered accepted/duplicate are not in the ledger after ${((options.drainMs ?? 40_000) / 1000).toFixed(0)} s (e.g. ${sample(lost)})`,
  );
  scenario.check(doubled.length === 0, `ids in the ledger more than once: ${sample(doubled)}`);
  scenario.check(
    foreign.length === 0,
    `${foreign.length} ledger rows the client never sent: ${sample(foreign)}`,
  );
  const chain = await verifyChain(stage);
  scenario.row.chain = chain.ok ? "ok" : "FAILED";
  scenario.check(chain.ok, `verify-ledger: ${chain.text}`);
  for (const death of stage.monitor.unexpectedExits) scenario.check(false, death);
}

/**
 * REL-3: the POSTs sent once a store had been down a second and answered before it came back:
 * there must be some, each a 202 whose items are `accepted` (with `deduplication: "deferred"`)
 * or `duplicate`.
 */
export function checkAcceptedWhileDown(
  scenario: Scenario,
  client: HonestClient,
  store: string,
  from: number,
  to: number,
): void {
  const inWindow = client.requests.filter((r) => r.sentAt >= from && r.sentAt < to);
  const answered = inWindow.filter((r) => r.answeredAt !== undefined && r.answeredAt <= to);
  const outcomes = new Map<string, number>();
  let bad = 0;
  for (const r of answered) {
    let outcome: string;
    if (r.http !== 202 || r.items === undefined)
      outcome = `${r.http}${r.error ? ` ${r.error}` : ""}`;
    else {
      const items = r.items.map((item, i) =>
        item === "accepted" ? `accepted/${r.deduplication?.[i] ?? "no deduplication field"}` : item,
      );
      const ok = items.every((i) => i === "accepted/deferred" || i === "duplicate");
      outcome = `202 ${[...new Set(items)].join("+")}`;
      if (ok) {
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        continue;
      }
    }
    bad++;
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  const summary = [...outcomes].map(([o, n]) => `${o} ×${n}`).join(", ");
  scenario.note(`POSTs while ${store} down: ${summary || "none answered"}`);
  scenario.check(
    answered.length > 0,
    `REL-3: no POST was answered while ${store} was down (${inWindow.length} sent in the ${((to - from) / 1000).toFixed(0)} s window, ${inWindow.filter((r) => r.answeredAt !== undefined).length} answered only after it came back)`,
  );
  scenario.check(
    bad === 0,
    `REL-3: ${bad} of ${answered.length} POSTs while ${store} was down were not 202 accepted with deduplication "deferred": ${summary}`,
  );
}
