#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (through tsx), so CI reads
// node's own summary. The whole run goes through c8, which then reports line coverage of infra/
// and fails below 100%. Extra arguments are passed to node (e.g. --test-name-pattern=PRC-2);
// naming test files runs just those, without the coverage gate.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

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
const node = [
  process.execPath,
  "--import",
  "tsx",
  "--test",
  "--test-concurrency=2",
  ...flags,
  ...files,
];
const whole = explicit.length === 0 && flags.length === 0;
const c8 = createRequire(import.meta.url).resolve("c8/bin/c8.js");
const command = whole
  ? [
      process.execPath,
      c8,
      "--all",
      "--src=infra",
      "--include=infra/**",
      "--reporter=text",
      "--check-coverage",
      "--lines=100",
      ...node,
    ]
  : node;
const result = spawnSync(command[0], command.slice(1), { stdio: "inherit" });
process.exit(result.status ?? 1);
