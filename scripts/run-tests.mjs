#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (through tsx), so CI reads
// node's own summary; a whole run ends with one line of how many tests passed and failed. The whole run goes through c8, which then reports line coverage of infra/
// and policy/ and fails below 100%; it also writes node's junit report to .build/test-results/junit.xml, from
// which `npm run requirements` marks each requirement's tests passed or failed. Extra arguments
// are passed to node (e.g. --test-name-pattern=PRC-2); naming test files runs just those, without
// the coverage gate or the junit report.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(find(path));
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

const args = process.argv.slice(2);
const explicit = args.filter((a) => a.endsWith(".test.ts"));
const flags = args.filter((a) => !a.endsWith(".test.ts"));
const files = explicit.length > 0 ? explicit : ["src", "test"].flatMap(find).sort();
const whole = explicit.length === 0 && flags.length === 0;
const junit = ".build/test-results/junit.xml";
// Only whole runs write the junit file: a partial run would leave most requirements "not run".
if (whole) {
  mkdirSync(dirname(junit), { recursive: true });
  // The summary line reads this run's report, never an earlier one's.
  rmSync(junit, { force: true });
}
const reporters = whole
  ? [
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=junit",
      `--test-reporter-destination=${junit}`,
    ]
  : [];
const node = [
  process.execPath,
  "--import",
  "tsx",
  "--test",
  "--test-concurrency=2",
  ...reporters,
  ...flags,
  ...files,
];
const c8 = createRequire(import.meta.url).resolve("c8/bin/c8.js");
const command = whole
  ? [
      process.execPath,
      c8,
      "--all",
      "--src=infra",
      "--src=policy",
      "--include=infra/**",
      "--include=policy/**",
      "--reporter=text",
      "--check-coverage",
      "--lines=100",
      ...node,
    ]
  : node;
const result = spawnSync(command[0], command.slice(1), { stdio: "inherit" });
const status = result.status ?? 1;
if (whole) process.stdout.write(`\n${summaryLine(status)}\n`);
process.exit(status);

/**
 * The last line of a whole run, below the coverage table: how many tests passed and failed
 * (node's counts, from the junit report) and whether the coverage gate held.
 */
function summaryLine(status) {
  let counts = "";
  try {
    const xml = readFileSync(junit, "utf8");
    const field = (name) =>
      Number(new RegExp(`<!-- ${name} (\\d+) -->`).exec(xml)?.[1] ?? Number.NaN);
    counts = `${field("pass")} passed, ${field("fail")} failed, ${field("cancelled")} cancelled, ${field("skipped")} skipped of ${field("tests")} tests`;
  } catch {
    counts = "no test report was written";
  }
  return `npm test: ${counts}; ${status === 0 ? "ok" : "FAILED (a test failed, or infra/ and policy/ line coverage is below 100%)"}`;
}
