import type { z } from "zod";
import { valueAt } from "../validation.ts";
import { isRuleKind, RULE_KINDS, RULE_SCHEMAS, type Rule } from "./rule-kinds.ts";
import { RulesetError } from "./ruleset-error.ts";
import { type RulesetDocument, rulesetHeaderSchema } from "./ruleset-schema.ts";

/** Where an issue sits: the field path prefix and how the message names the owner. */
interface Place {
  field: string;
  label: string;
}

function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : `${out === "" ? "" : "."}${String(part)}`;
  }
  return out;
}

function join(base: string, sub: string, sep = "."): string {
  if (base === "") return sub;
  if (sub === "" || sub.startsWith("[")) return base + sub;
  return base + sep + sub;
}

/**
 * Turns the most useful zod issue into a RulesetError naming rule and field. An unknown
 * field goes first: a misspelled name usually also shows up as a missing one, and the
 * misspelling is the thing to fix.
 */
function toError(error: z.ZodError, place: Place, input: unknown, kind?: string): RulesetError {
  const issue = error.issues.find((i) => i.code === "unrecognized_keys") ?? error.issues[0]!;
  let sub = pathText(issue.path);
  let predicate = issue.message;
  if (issue.code === "unrecognized_keys") {
    sub = join(sub, issue.keys[0]!);
    predicate =
      kind === undefined ? "is not a known field" : `is not a known field of a ${kind} rule`;
  } else if (
    issue.code === "invalid_type" &&
    issue.path.length > 0 &&
    valueAt(input, issue.path) === undefined
  ) {
    predicate = "is required";
  }
  const field = join(place.field, sub);
  const named = join(place.label, sub);
  return new RulesetError(
    field === "" ? undefined : field,
    `${named === "" ? "ruleset" : named} ${predicate}`,
  );
}

function labelOf(raw: Record<string, unknown>, field: string): string {
  const id = raw.id;
  return typeof id === "string" && id !== "" && id.length <= 64
    ? `rule ${JSON.stringify(id)} (${field})`
    : field;
}

function validateRule(raw: unknown, index: number): Rule {
  const field = `rules[${index}]`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new RulesetError(field, `${field} must be an object with id, kind and score`);
  }
  const record = raw as Record<string, unknown>;
  const place = { field, label: labelOf(record, field) };
  if (!isRuleKind(record.kind)) {
    const problem = record.kind === undefined ? "is required, one of" : "must be one of";
    throw new RulesetError(
      `${field}.kind`,
      `${place.label}.kind ${problem} ${RULE_KINDS.join(", ")}`,
    );
  }
  const result = RULE_SCHEMAS[record.kind].safeParse(raw);
  if (!result.success) throw toError(result.error, place, raw, record.kind);
  return result.data;
}

/** Validates a parsed document (PRC-3) and returns it normalized, defaults filled in. */
export function validateRuleset(input: unknown): RulesetDocument {
  const header = rulesetHeaderSchema.safeParse(input);
  if (!header.success) throw toError(header.error, { field: "", label: "" }, input);
  const rules = header.data.rules.map(validateRule);
  const seen = new Map<string, number>();
  rules.forEach((rule, i) => {
    const first = seen.get(rule.id);
    if (first !== undefined) {
      throw new RulesetError(
        `rules[${i}].id`,
        `rule ${JSON.stringify(rule.id)} (rules[${i}]).id duplicates rules[${first}]; rule ids must be unique`,
      );
    }
    seen.set(rule.id, i);
  });
  const { description, name, thresholds } = header.data;
  return { name, ...(description !== undefined && { description }), thresholds, rules };
}
