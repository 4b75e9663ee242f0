#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (through tsx), so CI reads
// node's own summary. Extra arguments are passed to node (e.g. --test-name-pattern=PRC-2).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
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
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", ...flags, ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
