import { createHash } from "node:crypto";
import type { RulesetDocument } from "./ruleset-schema.ts";

/** JSON with object keys sorted at every level, so key order and source format do not matter. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The ruleset's version is its content: the same rules in YAML or JSON, in any key order, share
 * it, and any change (a threshold, a list value) gives a new one. Decisions record it (PRC-4),
 * so a decision can always be traced to the exact rules that made it.
 */
export function rulesetVersion(doc: RulesetDocument): string {
  const digest = createHash("sha256").update(canonicalJson(doc)).digest("hex");
  return `rs-${digest.slice(0, 12)}`;
}
