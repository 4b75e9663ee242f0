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

/** Liveness, readiness and metrics (OPS-1); none needs a key. */
export function healthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const [stream, history, ledger] = await Promise.all([
      check(() => deps.stream.ping()),
      check(() => deps.history.ping()),
      check(() => deps.ledger.ping()),
    ]);
    const checks = { stream, history, ledger };
    // REL-2: each dependency by name and state, as the log lines and txwatch_dependency_up name
    // them. The checks go through the same drivers, so a check feeds the trackers too.
    const dependencies = {
      ledger: state(ledger),
      history: state(history),
      stream: state(stream),
    };
    const ready = Object.values(checks).every((c) => c === "ok");
    if (ready) return { status: "ready", checks, dependencies };
    const down = Object.entries(checks)
      .filter(([, c]) => c !== "ok")
      .map(([name]) => name);
    return reply.status(503).send({
      error: { code: "TXW_ERR_UNAVAILABLE", message: `not ready: ${down.join(", ")} unavailable` },
      status: "not_ready",
      checks,
      dependencies,
    });
  });

  app.get("/metrics", async (_request, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.header("content-type", deps.metrics.registry.contentType).send(body);
  });
}
