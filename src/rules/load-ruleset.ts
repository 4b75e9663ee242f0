import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { compileRuleset } from "./engine.ts";
import { RulesetError } from "./ruleset-error.ts";
import type { CompiledRuleset } from "./types.ts";
import { validateRuleset } from "./validate-ruleset.ts";

export type RulesetFormat = "json" | "yaml";

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

/** Parses, validates and compiles a ruleset document (PRC-3). Throws RulesetError. */
export function parseRuleset(text: string, format: RulesetFormat): CompiledRuleset {
  let doc: unknown;
  try {
    // yaml rejects duplicate keys by default, so a key written twice cannot silently win.
    doc = format === "json" ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new RulesetError(
      undefined,
      `ruleset is not valid ${format.toUpperCase()}: ${firstLine(error)}`,
    );
  }
  return compileRuleset(validateRuleset(doc));
}

/** Loads a ruleset file, choosing the format by extension: .json, .yaml or .yml. */
export function loadRuleset(path: string): CompiledRuleset {
  const ext = extname(path).toLowerCase();
  const format: RulesetFormat | undefined =
    ext === ".json" ? "json" : ext === ".yaml" || ext === ".yml" ? "yaml" : undefined;
  if (format === undefined) {
    throw new RulesetError(undefined, `ruleset file ${path} must end in .json, .yaml or .yml`);
  }
  const text = readFileSync(path, "utf8");
  try {
    return parseRuleset(text, format);
  } catch (error) {
    if (error instanceof RulesetError) {
      throw new RulesetError(error.field, `${path}: ${error.message}`);
    }
    throw error;
  }
}

const DEFAULT_RULESET_URL = new URL("./default-ruleset.yaml", import.meta.url);
let cachedDefault: CompiledRuleset | undefined;

/** The shipped ruleset (default-ruleset.yaml next to this module), compiled once. */
export function defaultRuleset(): CompiledRuleset {
  cachedDefault ??= parseRuleset(readFileSync(DEFAULT_RULESET_URL, "utf8"), "yaml");
  return cachedDefault;
}
