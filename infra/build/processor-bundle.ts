import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

export const REPOSITORY_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Bundles the stream processor (src/handlers/lambda.ts) into one ES module for Lambda on
 * Node.js 22, with the files it reads beside it (the SQL migrations and the default ruleset are
 * found relative to the module, so they sit at the archive root next to index.mjs).
 * Everything, the AWS SDK included, is bundled: the runtime's own SDK version is not ours to pin.
 */
const built = new Map<string, string>();

export function bundleProcessor(outDir = join(REPOSITORY_ROOT, ".build", "processor")): string {
  const cached = built.get(outDir);
  if (cached !== undefined) return cached;
  mkdirSync(outDir, { recursive: true });
  buildSync({
    entryPoints: [join(REPOSITORY_ROOT, "src", "handlers", "lambda.ts")],
    outfile: join(outDir, "index.mjs"),
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    minify: true,
    legalComments: "none",
    // pg's optional native binding is never used.
    external: ["pg-native"],
    // CommonJS dependencies call require() for Node built-ins inside an ES module.
    banner: {
      js: "import { createRequire as __txwCreateRequire } from 'node:module'; const require = __txwCreateRequire(import.meta.url);",
    },
    logLevel: "error",
  });
  cpSync(join(REPOSITORY_ROOT, "src", "ledger", "migrations"), join(outDir, "migrations"), {
    recursive: true,
  });
  cpSync(
    join(REPOSITORY_ROOT, "src", "rules", "default-ruleset.yaml"),
    join(outDir, "default-ruleset.yaml"),
  );
  built.set(outDir, outDir);
  return outDir;
}

/** The handler string Lambda calls: `index.mjs` exports `handler`. */
export const PROCESSOR_HANDLER = "index.handler";
