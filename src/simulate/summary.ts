import type { Action } from "../transaction/types.ts";
import type { ItemStatus } from "./client.ts";
import { LABELS, type Label } from "./patterns.ts";

/** What the simulator knows about one transaction it sent. */
export interface TxRecord {
  transactionId: string;
  label: Label;
  burst: number;
  /** As sent (RFC 3339 with the merchant's offset). */
  occurredAt?: string;
  status: ItemStatus;
  errorCode?: string;
  errorMessage?: string;
  action?: Action;
  /** decidedAt - receivedAt, as the monitor reported them. */
  latencyMs?: number;
  /** The rules in the decision's reasons. */
  rules?: string[];
}

export interface LabelSummary {
  label: Label;
  bursts: number;
  sent: number;
  /** In the monitor: accepted now or earlier (duplicate). */
  accepted: number;
  /** Refused by the monitor or never delivered. */
  rejected: number;
  decided: number;
  allow: number;
  review: number;
  block: number;
  /** review + block among decided transactions, in percent; null when none was decided. */
  flaggedPct: number | null;
  /** Bursts with at least one decided transaction, and those with at least one flagged. */
  burstsDecided: number;
  burstsFlagged: number;
  /** burstsFlagged / burstsDecided in percent: a pattern is caught if any of its steps is. */
  caughtPct: number | null;
  /** The rules that fired on the label's transactions, most frequent first, with their counts. */
  rules: { rule: string; count: number }[];
}

export interface SimulationSummary {
  runId: string;
  merchantId: string;
  currency: string;
  seed: number;
  /** Transactions planned (rate x duration) and actually sent before the duration ran out. */
  planned: number;
  sent: number;
  accepted: number;
  rejected: number;
  decided: number;
  /** Accepted but without a decision when the wait ended. */
  undecided: number;
  sendSeconds: number;
  elapsedSeconds: number;
  /** Transactions sent per second of sending. */
  throughput: number;
  decisionLatencyMs: { p50: number; p95: number } | null;
  labels: LabelSummary[];
  rejections: { code: string; count: number; example?: string }[];
  aborted: boolean;
}

export interface SummaryMeta {
  runId: string;
  merchantId: string;
  currency: string;
  seed: number;
  planned: number;
  sendSeconds: number;
  elapsedSeconds: number;
  aborted: boolean;
}

function pct(part: number, whole: number): number | null {
  return whole === 0 ? null : (100 * part) / whole;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summarizeLabel(label: Label, records: TxRecord[]): LabelSummary {
  const count = (pred: (r: TxRecord) => boolean) => records.filter(pred).length;
  const decided = count((r) => r.action !== undefined);
  const review = count((r) => r.action === "review");
  const block = count((r) => r.action === "block");
  const bursts = new Map<number, { decided: boolean; flagged: boolean }>();
  for (const r of records) {
    const b = bursts.get(r.burst) ?? { decided: false, flagged: false };
    b.decided ||= r.action !== undefined;
    b.flagged ||= r.action === "review" || r.action === "block";
    bursts.set(r.burst, b);
  }
  const burstsDecided = [...bursts.values()].filter((b) => b.decided).length;
  const burstsFlagged = [...bursts.values()].filter((b) => b.flagged).length;
  const rules = new Map<string, number>();
  for (const r of records)
    for (const rule of r.rules ?? []) rules.set(rule, (rules.get(rule) ?? 0) + 1);
  return {
    label,
    bursts: bursts.size,
    sent: records.length,
    accepted: count((r) => r.status === "accepted" || r.status === "duplicate"),
    rejected: count((r) => r.status === "rejected" || r.status === "failed"),
    decided,
    allow: count((r) => r.action === "allow"),
    review,
    block,
    flaggedPct: pct(review + block, decided),
    burstsDecided,
    burstsFlagged,
    caughtPct: pct(burstsFlagged, burstsDecided),
    rules: [...rules]
      .map(([rule, count]) => ({ rule, count }))
      .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule)),
  };
}

export function summarize(records: TxRecord[], meta: SummaryMeta): SimulationSummary {
  const labels = LABELS.map((label) =>
    summarizeLabel(
      label,
      records.filter((r) => r.label === label),
    ),
  );
  const total = (key: "accepted" | "rejected" | "decided") =>
    labels.reduce((s, l) => s + l[key], 0);
  const latencies = records
    .map((r) => r.latencyMs)
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
  const rejections = new Map<string, { code: string; count: number; example?: string }>();
  for (const r of records) {
    if (r.errorCode === undefined) continue;
    const entry = rejections.get(r.errorCode) ?? { code: r.errorCode, count: 0 };
    entry.count++;
    if (entry.example === undefined && r.errorMessage !== undefined) entry.example = r.errorMessage;
    rejections.set(r.errorCode, entry);
  }
  return {
    runId: meta.runId,
    merchantId: meta.merchantId,
    currency: meta.currency,
    seed: meta.seed,
    planned: meta.planned,
    sent: records.length,
    accepted: total("accepted"),
    rejected: total("rejected"),
    decided: total("decided"),
    undecided: total("accepted") - total("decided"),
    sendSeconds: meta.sendSeconds,
    elapsedSeconds: meta.elapsedSeconds,
    throughput: meta.sendSeconds > 0 ? records.length / meta.sendSeconds : 0,
    decisionLatencyMs:
      latencies.length === 0
        ? null
        : { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95) },
    labels,
    rejections: [...rejections.values()].sort((a, b) => b.count - a.count),
    aborted: meta.aborted,
  };
}

function formatPct(value: number | null): string {
  if (value === null) return "-";
  if (value === 100 || value === 0) return `${value}%`;
  // Never round 1 in 20,000 flagged away to a clean "100%" or "0%".
  if (value > 99.9) return ">99.9%";
  if (value < 0.1) return "<0.1%";
  return `${value.toFixed(1)}%`;
}

const COLUMNS = [
  "label",
  "bursts",
  "sent",
  "accepted",
  "rejected",
  "decided",
  "allow",
  "review",
  "block",
  "flagged",
  "caught",
];

function row(
  l: LabelSummary | (Omit<LabelSummary, "label"> & { label: string }),
  caught: boolean,
): string[] {
  return [
    l.label,
    ...[l.bursts, l.sent, l.accepted, l.rejected, l.decided, l.allow, l.review, l.block].map(
      String,
    ),
    formatPct(l.flaggedPct),
    caught && l.caughtPct !== null
      ? `${l.burstsFlagged}/${l.burstsDecided} ${formatPct(l.caughtPct)}`
      : "-",
  ];
}

/** An aligned table per label, then the line an operator reads first; ends with a newline. */
export function formatSummary(summary: SimulationSummary): string {
  const sum = (key: keyof LabelSummary) =>
    summary.labels.reduce((s, l) => s + Number(l[key] ?? 0), 0);
  const totals = {
    label: "total",
    bursts: sum("bursts"),
    sent: summary.sent,
    accepted: summary.accepted,
    rejected: summary.rejected,
    decided: summary.decided,
    allow: sum("allow"),
    review: sum("review"),
    block: sum("block"),
    flaggedPct: pct(sum("review") + sum("block"), summary.decided),
    burstsDecided: 0,
    burstsFlagged: 0,
    caughtPct: null,
    rules: [],
  };
  const table = [
    COLUMNS,
    ...summary.labels.map((l) => row(l, l.label !== "normal")),
    row(totals, false),
  ];
  const widths = COLUMNS.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const render = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join("  ");

  const latency = summary.decisionLatencyMs
    ? ` · decision latency p50 ${summary.decisionLatencyMs.p50} ms, p95 ${summary.decisionLatencyMs.p95} ms`
    : "";
  const shortfall =
    summary.sent < summary.planned && !summary.aborted
      ? " (the monitor was slower than the rate; sending stopped at the duration)"
      : "";
  const lines = [
    `simulation ${summary.runId} · merchant ${summary.merchantId} (${summary.currency}) · seed ${summary.seed}${summary.aborted ? " · ABORTED" : ""}`,
    `sent ${summary.sent}/${summary.planned}${shortfall} in ${summary.sendSeconds.toFixed(1)} s (${summary.throughput.toFixed(1)} tx/s) · ` +
      `accepted ${summary.accepted} · decided ${summary.decided} · undecided ${summary.undecided} · ` +
      `elapsed ${summary.elapsedSeconds.toFixed(1)} s${latency}`,
    "",
    render(table[0]!),
    ...table.slice(1).map(render),
  ];
  lines.push(
    "",
    "flagged: the share of a label's decided transactions reviewed or blocked; caught: of its",
    "bursts (one injected pattern each), those with at least one transaction flagged.",
  );
  const fired = summary.labels.filter((l) => l.rules.length > 0);
  if (fired.length > 0) {
    lines.push("rules that fired:");
    const width = Math.max(...fired.map((l) => l.label.length));
    for (const l of fired) {
      const list = l.rules.map((r) => `${r.rule} ${r.count}`).join(", ");
      lines.push(`  ${l.label.padEnd(width)}  ${list}`);
    }
  }
  for (const r of summary.rejections) {
    lines.push(`rejected ${r.count} x ${r.code}${r.example ? `: ${r.example}` : ""}`);
  }
  const normal = summary.labels.find((l) => l.label === "normal");
  const allowed =
    normal && normal.decided > 0 ? formatPct((100 * normal.allow) / normal.decided) : "n/a";
  const caught = summary.labels
    .filter((l) => l.label !== "normal" && l.bursts > 0)
    .map((l) => `${l.label} ${formatPct(l.caughtPct)}`);
  lines.push(
    "",
    `normal traffic allowed: ${allowed} · patterns flagged: ${caught.length > 0 ? caught.join(", ") : "none injected"}`,
  );
  return `${lines.join("\n")}\n`;
}
