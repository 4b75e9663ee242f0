/** Types of scripts/bundle.mjs (plain JavaScript, so the Docker build stage runs it without tsx). */

/** The repository root, with a trailing separator. */
export declare const REPOSITORY_ROOT: string;

/** The handler strings Lambda calls: `<file>.handler`, each file exporting `handler`. */
export declare const LAMBDA_HANDLERS: Readonly<{
  processor: "index.handler";
  admin: "admin.handler";
  archive: "archive.handler";
}>;

/** index.mjs, admin.mjs and archive.mjs with migrations/ and default-ruleset.yaml beside them. */
export declare function bundleLambda(outDir: string): string;

/** server.mjs (the API container) with migrations/ and default-ruleset.yaml beside it. */
export declare function bundleServer(outDir: string): string;
