import { join } from "node:path";
import {
  bundleLambda as bundleLambdaInto,
  LAMBDA_HANDLERS,
  REPOSITORY_ROOT,
} from "../../scripts/bundle.mjs";

/**
 * The Lambda code of the program, bundled by scripts/bundle.mjs (the module the Dockerfile's
 * build stage runs for the API container too): one directory with index.mjs (the stream
 * processor), admin.mjs and archive.mjs, the SQL migrations, the default ruleset and the
 * history script beside them. Everything, the AWS SDK included, is bundled: the runtime's own
 * SDK version is not ours to pin.
 */
export { LAMBDA_HANDLERS, REPOSITORY_ROOT };

const built = new Map<string, string>();

/** Bundles once per directory and process: every function of a stack shares one archive. */
export function bundleLambda(outDir = join(REPOSITORY_ROOT, ".build", "lambda")): string {
  const cached = built.get(outDir);
  if (cached !== undefined) return cached;
  const dir = bundleLambdaInto(outDir);
  built.set(outDir, dir);
  return dir;
}
