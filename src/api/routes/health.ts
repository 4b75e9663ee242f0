import type { FastifyInstance } from "fastify";
import type { ApiDeps } from "../types.ts";

const CHECK_TIMEOUT_MS = 2000;

async function check(call: () => Promise<void>): Promise<"ok" | "unavailable"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out")), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([call(), timeout]);
    return "ok";
  } catch {
    return "unavailable";
  } finally {
    clearTimeout(timer);
  }
}

const state = (check: "ok" | "unavailable"): "up" | "down" => (check === "ok" ? "up" : "down");

/** The stuck partitions, named, with their oldest record's age (whole seconds) and backlog. */
function stuckPartitions(deps: ApiDeps) {
  return (deps.stream.progress?.() ?? [])
    .filter((p) => p.stuck)
    .map((p) => ({
      partition: p.partition,
      oldestAgeSeconds: Math.floor(p.oldestAgeSeconds),
      ...(p.records !== undefined && { records: p.records }),
    }));
}

/** Liveness, readiness and metrics (OPS-1); none needs a key. */
export function healthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (request, reply) => {
    const [stream, history, ledger] = await Promise.all([
      check(() => deps.stream.ping()),
      check(() => deps.history.ping()),
      check(() => deps.ledger.ping()),
    ]);
    // REL-5: a partition the processor has not got past for TXWATCH_STUCK_AFTER_SECONDS.
    const stuck = stuckPartitions(deps);
    const checks = { stream, history, ledger, processing: stuck.length === 0 ? "ok" : "stuck" };
    // REL-2: each dependency by name and state, as the log lines and txwatch_dependency_up name
    // them. The checks go through the same drivers, so a check feeds the trackers too.
    const dependencies = {
      ledger: state(ledger),
      history: state(history),
      stream: state(stream),
    };
    const ready = Object.values(checks).every((c) => c === "ok");
    if (ready) return { status: "ready", checks, dependencies, stuck };
    const down = Object.entries(checks)
      .filter(([name, c]) => name !== "processing" && c !== "ok")
      .map(([name]) => name);
    const problems = [
      ...(down.length > 0 ? [`${down.join(", ")} unavailable`] : []),
      ...(stuck.length > 0
        ? [`stream partition ${stuck.map((p) => p.partition).join(", ")} stuck`]
        : []),
    ];
    request.errorCode = "TXW_ERR_UNAVAILABLE";
    // API.md: every 503 says when to ask again.
    return reply
      .status(503)
      .header("retry-after", "2")
      .send({
        error: { code: "TXW_ERR_UNAVAILABLE", message: `not ready: ${problems.join("; ")}` },
        status: "not_ready",
        checks,
        dependencies,
        stuck,
      });
  });

  app.get("/metrics", async (_request, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.header("content-type", deps.metrics.registry.contentType).send(body);
  });
}
