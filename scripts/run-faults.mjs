#!/usr/bin/env node
// The fault suite (REL-1): runs every test/faults/**/*.faults.ts with node's test runner
// (through tsx), one file at a time. These files are not *.test.ts, so `npm test` never runs
// them; CI runs them once, through `npm run test:faults`, after `npm test`. A file starts its own
// PostgreSQL cluster (initdb in a temporary directory, run as the postgres OS user: it needs
// root), and each scenario its own database, redis-server and `txwatch start` children, on
// loopback ports of its own; the machine's shared PostgreSQL and Redis are not touched.
// A whole run writes node's junit report to .build/test-results/faults.xml, which
// `npm run requirements` reads beside junit.xml. Each scenario appends its row to
// .build/test-results/faults-table.jsonl; the table is printed at the end. Extra arguments are
// passed to node (e.g. --test-name-pattern="Redis"); naming files runs just those. Either way
// the junit report is not written (a partial run would leave scenarios "not run").
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const RESULTS = ".build/test-results";
const JUNIT = join(RESULTS, "faults.xml");
const TABLE = join(RESULTS, "faults-table.jsonl");

function find(dir) {
  if (!existsSync(dir)) return [];
  let out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(find(path));
    else if (name.endsWith(".faults.ts")) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const explicit = args.filter((a) => a.endsWith(".faults.ts"));
const flags = args.filter((a) => !a.endsWith(".faults.ts"));
const files = explicit.length > 0 ? explicit : find("test/faults").sort();
const whole = explicit.length === 0 && flags.length === 0;
if (files.length === 0) {
  process.stderr.write("no test/faults/**/*.faults.ts\n");
  process.exit(1);
}
mkdirSync(RESULTS, { recursive: true });
rmSync(TABLE, { force: true });
const reporters = [
  "--test-reporter=spec",
  "--test-reporter-destination=stdout",
  ...(whole ? ["--test-reporter=junit", `--test-reporter-destination=${JUNIT}`] : []),
];
const started = Date.now();
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", ...reporters, ...flags, ...files],
  { stdio: "inherit", env: { ...process.env, TXWATCH_FAULTS_TABLE: TABLE } },
);

// The table: one row per scenario that ran.
const rows = existsSync(TABLE)
  ? readFileSync(TABLE, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line))
  : [];
const columns = [
  ["scenario", "scenario"],
  ["injected", "injected"],
  ["sent", "sent"],
  ["accepted", "accepted"],
  ["inLedger", "in ledger"],
  ["lost", "lost"],
  ["doubled", "doubled"],
  ["chain", "chain"],
  ["finding", "finding"],
];
const cell = (text) => String(text).replaceAll("|", "/").replaceAll("\n", " ");
const lines = [
  `| ${columns.map(([, title]) => title).join(" | ")} |`,
  `|${columns.map(() => "---").join("|")}|`,
  ...rows.map((row) => `| ${columns.map(([key]) => cell(row[key] ?? "")).join(" | ")} |`),
];
process.stdout.write(
  `\nfault suite (REL-1): ${rows.length} scenarios in ${((Date.now() - started) / 1000).toFixed(0)} s\n\n${lines.join("\n")}\n`,
);
process.exit(result.status ?? 1);
