import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { type Monitor, startMonitor } from "../../src/runtime/monitor.ts";
import { wireTransaction } from "../support/fixtures.ts";
import { waitFor } from "../support/wait.ts";

const DASHBOARD = join(import.meta.dirname, "../../ops/grafana/txwatch.json");

interface Target {
  expr?: string;
}
interface Panel {
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  type: string;
  name: string;
  query?: string | { query?: string };
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
}

/** Words of PromQL that are neither functions (followed by "(") nor metric names. */
const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "inf",
  "nan",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
]);

/**
 * The metric names one PromQL expression selects: what is left once strings, label matchers,
 * range selectors, Grafana's variables and grouping label lists are taken out, and words
 * followed by "(" (functions, aggregations) are skipped.
 */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\$\{[^}]*\}|\$\w+/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, " ")
    .replace(/\boffset\s+-?\w+/gi, " ");
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w.])[A-Za-z_:][\w:]*/g)) {
    const word = match[0];
    const after = bare.slice(match.index + word.length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** A template variable's query: `label_values(<selector>, <label>)` selects from its first argument. */
function variableExpr(variable: Variable): string | undefined {
  const query = typeof variable.query === "string" ? variable.query : variable.query?.query;
  if (variable.type !== "query" || query === undefined) return undefined;
  const labelValues = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/.exec(query);
  return labelValues === null ? query : labelValues[1]!;
}

/**
 * The sample names an exposition offers, from its TYPE lines, so a metric counts even before
 * its first observation: a counter or gauge by its name, a histogram by its _bucket, _sum and
 * _count series (never bare), a summary by its name, _sum and _count.
 */
function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split("\n")) {
    const typed = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (typed === null) continue;
    const [, name, type] = typed;
    if (type === "histogram") {
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
    } else if (type === "summary") {
      for (const suffix of ["", "_sum", "_count"]) names.add(name + suffix);
    } else {
      names.add(name!);
    }
  }
  return names;
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Every query's metric not in the exposition, as "where: name". */
function unknownMetrics(dashboard: Dashboard, exposed: Set<string>): string[] {
  const queries: [string, string][] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      if (target.expr !== undefined) queries.push([`panel "${panel.title}"`, target.expr]);
    }
  }
  for (const variable of dashboard.templating.list) {
    const expr = variableExpr(variable);
    if (expr !== undefined) queries.push([`variable $${variable.name}`, expr]);
  }
  const unknown: string[] = [];
  for (const [where, expr] of queries) {
    const names = metricNamesIn(expr);
    if (names.length === 0) unknown.push(`${where}: no metric in ${expr}`);
    for (const name of names) if (!exposed.has(name)) unknown.push(`${where}: ${name}`);
  }
  return unknown;
}

/** OPS-4: the Grafana dashboard in the repository queries only what the monitor exports. */
describe("the Grafana dashboard against a running monitor's /metrics (embedded)", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
  let dir: string;
  let monitor: Monitor;
  let exposition: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "txwatch-dashboard-"));
    const config = loadConfig({ TXWATCH_DATA_DIR: dir, PORT: "0", HOST: "127.0.0.1" });
    monitor = await startMonitor(config, createLogger("silent"));
    const key = monitor.firstApiKey!;
    // A transaction through the whole pipeline, so the labelled counters have series too.
    const tx = wireTransaction({ merchantId: "demo" });
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const posted = await fetch(`${monitor.url}/v1/transactions`, {
      method: "POST",
      headers,
      body: JSON.stringify(tx),
    });
    assert.equal(posted.status, 202);
    await waitFor(
      "the decision",
      async () => {
        const res = await fetch(`${monitor.url}/v1/transactions/${tx.transactionId}`, { headers });
        const body = res.status === 200 ? ((await res.json()) as { decision?: unknown }) : {};
        return body.decision;
      },
      10_000,
    );
    exposition = await (await fetch(`${monitor.url}/metrics`)).text();
  });
  after(async () => {
    await monitor.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("OPS-4 every query of the dashboard names only metrics the monitor exports", () => {
    const exposed = exposedNames(exposition);
    // The names the pipeline's transaction gave series to are among them.
    for (const name of [
      "txwatch_decisions_total",
      "txwatch_ingest_to_decision_seconds_bucket",
      "txwatch_http_requests_total",
      "process_cpu_seconds_total",
    ]) {
      assert.ok(exposed.has(name), name);
      assert.match(exposition, new RegExp(`^${name}[{ ]`, "m"), `${name} has a series`);
    }
    assert.deepEqual(unknownMetrics(dashboard, exposed), []);
  });

  test("OPS-4 the check finds a metric the monitor does not export, and a histogram queried bare", () => {
    const exposed = exposedNames(exposition);
    const broken: Dashboard = {
      panels: [
        {
          title: "row",
          panels: [
            {
              title: "typo",
              targets: [
                {
                  expr: 'histogram_quantile(0.99, sum by (le) (rate(txwatch_ingest_to_decison_seconds_bucket{job=~"$job"}[$__rate_interval])))',
                },
              ],
            },
          ],
        },
        { title: "bare histogram", targets: [{ expr: "txwatch_batch_duration_seconds" }] },
      ],
      templating: {
        list: [
          { type: "query", name: "x", query: "label_values(txwatch_nothing_total, instance)" },
        ],
      },
    };
    assert.deepEqual(unknownMetrics(broken, exposed), [
      'panel "typo": txwatch_ingest_to_decison_seconds_bucket',
      'panel "bare histogram": txwatch_batch_duration_seconds',
      "variable $x: txwatch_nothing_total",
    ]);
    assert.deepEqual(
      metricNamesIn(
        'sum(rate(a_total{status=~"5.."}[5m])) by (route) / on (route) group_left sum without (le) (b_count offset 1h) > bool 0.5e3',
      ),
      ["a_total", "b_count"],
    );
  });

  test("OPS-4 the dashboard covers the monitor's areas, each panel on the Prometheus datasource variable", () => {
    const variable = dashboard.templating.list.find((v) => v.type === "datasource");
    assert.equal(variable?.query, "prometheus");
    const panels = allPanels(dashboard.panels).filter((p) => p.type !== "row");
    for (const panel of panels) {
      assert.equal(panel.datasource?.uid, `\${${variable!.name}}`, String(panel.title));
      assert.ok((panel.targets ?? []).length > 0, String(panel.title));
    }
    const queried = new Set(
      panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNamesIn(t.expr ?? ""))),
    );
    for (const name of [
      "txwatch_ingested_transactions_total",
      "txwatch_decisions_total",
      "txwatch_ingest_to_decision_seconds_bucket",
      "txwatch_stream_lag_records",
      "txwatch_stream_oldest_age_seconds",
      "txwatch_dependency_up",
      "txwatch_quarantined_records_total",
      "txwatch_history_rebuilds_total",
      "txwatch_alert_delivery_undelivered_alerts",
      "txwatch_alert_delivery_dead_letters_total",
      "txwatch_http_requests_total",
      "txwatch_http_request_duration_seconds_bucket",
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_p99_seconds",
    ]) {
      assert.ok(queried.has(name), `no panel queries ${name}`);
    }
  });
});
