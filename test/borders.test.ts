import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * The borders between the three programs of the repository point one way: infra/ may use
 * policy/ (the policy owns what it checks, e.g. the taggable types), never the reverse, so the
 * pack can be reasoned about, and published, without the program it judges; and the monitor in
 * src/ reaches the platform only through infra/cli-entry.ts, lazily, from the CLI, so the
 * shipped runtime never loads Pulumi and infra/ can be reshaped freely behind that one file.
 * Inside src/, the domain (transaction/, rules/) knows nothing of HTTP, and the history serves
 * the rules' vocabulary rather than owning it.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CODE = /\.(c|m)?(t|j)s$/;
const CLI_ENTRY = "infra/cli-entry.ts";

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sourcesUnder(path);
    return CODE.test(entry.name) ? [path] : [];
  });
}

/**
 * Every module a file names, as a repository path for relative ones: static and dynamic
 * imports, `import type`, `typeof import(...)`, re-exports and require(), as TypeScript itself
 * reads them (comments and strings that merely look like imports are not imports).
 */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return ts.preProcessFile(text, true, true).importedFiles.map(({ fileName }) =>
    fileName.startsWith(".")
      ? relative(ROOT, resolve(ROOT, dirname(file), fileName))
          .split(sep)
          .join("/")
      : fileName,
  );
}

const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

test("the import scan sees dynamic and type imports (the CLI's lazy, typed way into infra/)", () => {
  const plan = importsOf("src/cli/commands/plan.ts");
  assert.ok(plan.includes(CLI_ENTRY), plan.join(", "));
  assert.ok(importsOf("infra/taggable.ts").includes("policy/taggable-types.ts"));
});

/** The imports from files under `dirs` that `forbidden(target, file)` refuses, as "file -> target". */
function crossings(dirs: string[], forbidden: (target: string, file: string) => boolean): string[] {
  return dirs.flatMap((dir) =>
    sourcesUnder(dir).flatMap((file) =>
      importsOf(file)
        .filter((target) => forbidden(target, file))
        .map((target) => `${file} -> ${target}`),
    ),
  );
}

test("policy/ imports nothing from infra/: the border points from infra to policy only", () => {
  assert.deepEqual(
    crossings(["policy"], (target) => within(target, "infra")),
    [],
  );
});

test("src/ reaches infra/ and policy/ only through infra/cli-entry.ts, from src/cli", () => {
  const outside = (target: string, file: string) =>
    (within(target, "infra") || within(target, "policy")) &&
    !(target === CLI_ENTRY && within(file, "src/cli"));
  assert.deepEqual(crossings(["src"], outside), []);
});

test("the rules own their vocabulary: src/rules imports nothing of src/history", () => {
  assert.deepEqual(
    crossings(["src/rules"], (target) => within(target, "src/history")),
    [],
  );
});

test("the domain throws its own errors: src/transaction and src/rules import neither the HTTP error catalogue nor src/api", () => {
  const http = (target: string) => target === "src/errors.ts" || within(target, "src/api");
  assert.deepEqual(crossings(["src/transaction", "src/rules"], http), []);
});
