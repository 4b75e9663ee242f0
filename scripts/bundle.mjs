#!/usr/bin/env node
// The one place txwatch is bundled for AWS, used by the Pulumi program (the Lambda functions,
// through infra/build/processor-bundle.ts) and by the Dockerfile's build stage (the API
// container). Plain JavaScript, so `node scripts/bundle.mjs` runs without tsx: esbuild reads the
// TypeScript entries itself.
//
//   node scripts/bundle.mjs lambda <outDir>   index.mjs, admin.mjs, archive.mjs + their files
//   node scripts/bundle.mjs server <outDir>   server.mjs + its files
//
// Every bundle is one self-contained ES module per entry (dependencies and the AWS SDK included:
// neither the Lambda runtime's SDK nor a node_modules directory is relied upon), and needs no
// writable path: nothing is compiled or cached at run time.
import { cpSync, mkdirSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildSync } from "esbuild";

export const REPOSITORY_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The handler strings Lambda calls: `<file>.handler`, each file exporting `handler`. */
export const LAMBDA_HANDLERS = Object.freeze({
  /** The stream processor (src/handlers/lambda.ts), fed by the Kinesis event source mapping. */
  processor: "index.handler",
  /** The admin step (src/handlers/admin.ts). */
  admin: "admin.handler",
  /** The daily ledger archive (src/handlers/archive.ts). */
  archive: "archive.handler",
});

const LAMBDA_ENTRIES = {
  index: "src/handlers/lambda.ts",
  admin: "src/handlers/admin.ts",
  archive: "src/handlers/archive.ts",
};

const SERVER_ENTRIES = { server: "src/handlers/server.ts" };

/**
 * Bundles `entries` ({ outName: source }) into `<outDir>/<outName>.mjs`. CommonJS dependencies
 * call require() for Node built-ins inside an ES module, hence the createRequire banner; pg's
 * optional native binding is never used. Names are kept so error types and logged class names
 * read the same as from the sources.
 */
function bundleEntries(entries, outDir) {
  mkdirSync(outDir, { recursive: true });
  buildSync({
    absWorkingDir: REPOSITORY_ROOT,
    entryPoints: Object.entries(entries).map(([out, source]) => ({
      in: join(REPOSITORY_ROOT, source),
      out,
    })),
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: false,
    platform: "node",
    target: "node22",
    format: "esm",
    minify: true,
    keepNames: true,
    legalComments: "none",
    external: ["pg-native"],
    banner: {
      js: "import { createRequire as __txwCreateRequire } from 'node:module'; const require = __txwCreateRequire(import.meta.url);",
    },
    logLevel: "error",
  });
  // The SQL migrations (src/ledger/migrate.ts), the default ruleset (src/rules) and the history
  // script (src/history/record-entity.ts) are found relative to import.meta.url, which in a
  // bundle is the entry file: so they sit beside it.
  cpSync(join(REPOSITORY_ROOT, "src", "ledger", "migrations"), join(outDir, "migrations"), {
    recursive: true,
  });
  for (const [dir, file] of [
    ["rules", "default-ruleset.yaml"],
    ["history", "record-entity.lua"],
  ]) {
    cpSync(join(REPOSITORY_ROOT, "src", dir, file), join(outDir, file));
  }
  return outDir;
}

/**
 * The Lambda code: one directory, one archive, three entries (see LAMBDA_HANDLERS), for Node.js
 * 22. Returns `outDir`, resolved.
 */
export function bundleLambda(outDir) {
  return bundleEntries(LAMBDA_ENTRIES, resolve(outDir));
}

/**
 * The API container: `<outDir>/server.mjs` (src/handlers/server.ts), run as
 * `node <outDir>/server.mjs` with no node_modules beside it. Returns `outDir`, resolved.
 */
export function bundleServer(outDir) {
  return bundleEntries(SERVER_ENTRIES, resolve(outDir));
}

const BUNDLES = { lambda: bundleLambda, server: bundleServer };

function main(argv) {
  const [kind, outDir] = argv;
  const bundle = BUNDLES[kind];
  if (bundle === undefined || outDir === undefined || argv.length !== 2) {
    process.stderr.write("usage: node scripts/bundle.mjs lambda|server <outDir>\n");
    return 2;
  }
  const dir = bundle(outDir);
  process.stdout.write(`${kind} bundle: ${dir}\n`);
  return 0;
}

/** True when this file is the script node was started with (not when it is imported). */
function isMain() {
  try {
    const script = process.argv[1];
    return script !== undefined && import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bundle: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
