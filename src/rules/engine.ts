import type { Action, Reason, Transaction } from "../transaction/types.ts";
import type { RuleContext } from "./rule-context.ts";
import { fire, queriesOf } from "./rule-kinds.ts";
import type { RulesetDocument, Thresholds } from "./ruleset-schema.ts";
import { rulesetVersion } from "./ruleset-version.ts";
import type { CompiledRuleset, Verdict } from "./types.ts";
import {
  ENTITY_KINDS,
  type HistoryResult,
  type WindowQuery,
  type WindowResult,
} from "./vocabulary.ts";

const MAX_SCORE = 100;

function queryKey(q: WindowQuery): string {
  return `${q.entity}|${q.windowSeconds}|${q.minAmount ?? ""}|${q.maxAmount ?? ""}`;
}

/** Two rules asking the same window: the measures either reads (absent: all of them). */
function withMeasuresOf(a: WindowQuery, b: WindowQuery): WindowQuery {
  if (a.measures === undefined || b.measures === undefined) {
    const { measures: _, ...all } = a;
    return all;
  }
  return { ...a, measures: [...new Set([...a.measures, ...b.measures])].sort() };
}

// Unbanded before banded, then by band: a fixed order independent of rule order, so two
// rulesets needing the same aggregates ask the history identically.
function compareQueries(a: WindowQuery, b: WindowQuery): number {
  return (
    ENTITY_KINDS.indexOf(a.entity) - ENTITY_KINDS.indexOf(b.entity) ||
    a.windowSeconds - b.windowSeconds ||
    (a.minAmount ?? -1) - (b.minAmount ?? -1) ||
    (a.maxAmount ?? -1) - (b.maxAmount ?? -1)
  );
}

function actionFor(score: number, thresholds: Thresholds): Action {
  if (score >= thresholds.block) return "block";
  if (score >= thresholds.review) return "review";
  return "allow";
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Turns a validated document into the pure plan / evaluate pair the processor runs (PRC-3). */
export function compileRuleset(doc: RulesetDocument): CompiledRuleset {
  const source = deepFreeze(structuredClone(doc));
  const version = rulesetVersion(source);
  const active = source.rules.filter((rule) => rule.enabled);

  // The processor plans a transaction's queries for the history, then evaluates it: the second
  // plan is the first one's, as long as the transaction object lives.
  const plans = new WeakMap<Transaction, readonly WindowQuery[]>();

  function plan(tx: Transaction): readonly WindowQuery[] {
    let planned = plans.get(tx);
    if (planned === undefined) {
      const unique = new Map<string, WindowQuery>();
      for (const rule of active) {
        for (const query of queriesOf(rule, tx)) {
          const key = queryKey(query);
          const seen = unique.get(key);
          unique.set(key, seen === undefined ? query : withMeasuresOf(seen, query));
        }
      }
      planned = Object.freeze([...unique.values()].sort(compareQueries));
      plans.set(tx, planned);
    }
    return planned;
  }

  function evaluate(tx: Transaction, eventTime: number, history: HistoryResult): Verdict {
    const planned = plan(tx);
    if (history.windows.length !== planned.length) {
      // Deciding on missing aggregates would silently let fraud through: fail the record.
      throw new Error(
        `history has ${history.windows.length} window results for ${planned.length} planned queries; plan and evaluate must use the same ruleset ${version}`,
      );
    }
    const results = new Map<string, WindowResult>();
    for (const [i, query] of planned.entries()) results.set(queryKey(query), history.windows[i]!);
    const ctx: RuleContext = {
      tx,
      eventTime,
      history,
      window(query) {
        const result = results.get(queryKey(query));
        if (result === undefined) throw new Error(`query ${queryKey(query)} was not planned`);
        return result;
      },
    };

    const reasons: Reason[] = [];
    let blockListed = false;
    let allowListed = false;
    for (const rule of active) {
      const detail = fire(rule, ctx);
      if (detail === null) continue;
      reasons.push({ rule: rule.id, score: rule.score, detail });
      if (rule.kind === "list") {
        if (rule.list === "block") blockListed = true;
        else allowListed = true;
      }
    }
    const score = Math.min(
      MAX_SCORE,
      reasons.reduce((sum, reason) => sum + reason.score, 0),
    );
    // A block list outranks an allow list: a trusted customer on a blocked IP is still blocked.
    const action = blockListed
      ? "block"
      : allowListed
        ? "allow"
        : actionFor(score, source.thresholds);
    return { action, score, reasons, rulesetVersion: version };
  }

  return Object.freeze({ name: source.name, version, source, plan, evaluate });
}
