import { type FastifyReply, type FastifyRequest, LogController } from "fastify";
import type { ErrorCode } from "../errors.ts";
import { reasonText } from "../observability/dependency-state.ts";
import type { Metrics } from "../observability/metrics.ts";

/**
 * The route of a request no route served (a 404 or 405 of the not-found handler, a path the
 * router refused): one label value and one log value, so a client scanning random paths can
 * neither grow the metrics' label sets nor put its path in the log (SEC-5).
 */
const UNMATCHED_ROUTE = "unmatched";

/**
 * Asked every few seconds by load balancers, orchestrators and scrapers: logged at debug, so
 * the info log is the clients' traffic (OPS-4). Still counted in the HTTP metrics.
 */
const PROBES: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/metrics", "/openapi.json"]);

declare module "fastify" {
  interface FastifyRequest {
    /**
     * The catalogue code the request was answered with, set where an error is answered (the
     * error and not-found handlers, the router's errors, /readyz), for its log line.
     */
    errorCode?: ErrorCode;
  }
}

/**
 * The status logged and counted for a request whose client left before any answer was sent:
 * nginx's "client closed request", so it is told apart from what a client was answered.
 */
const CLIENT_CLOSED = 499;

/** How a request ended, beyond its reply. */
interface Ending {
  /** The response failed after its status was sent (the connection broke mid-body). */
  error?: Error;
  /** The client closed the connection before the answer was whole (an event stream it left). */
  closedByClient?: boolean;
}

/** The fields of a request's line: an allow-list (SEC-5), never the URL, a header or a body. */
function requestFields(request: FastifyRequest, route: string, status: number, ms: number) {
  const merchant = request.merchant?.merchantId;
  const code = request.errorCode;
  return {
    method: request.method,
    route,
    status,
    durationMs: Math.round(ms * 10) / 10,
    ...(merchant !== undefined && { merchant }),
    ...(code !== undefined && { code }),
  };
}

/**
 * One log line and one observation of the HTTP metrics per request, when it completes (OPS-4):
 * one line rather than Fastify's two ("incoming request", "request completed") keeps the log to a
 * line a request, and puts the merchant and the error code on the same line as the status.
 * A LogController rather than an onResponse hook, so Fastify's other lines (a failed
 * serializer, an error after the headers were sent) are kept as they are.
 */
export class RequestLog extends LogController {
  /** Requests whose line is written: whichever of the ways a request ends comes second is not. */
  private readonly logged = new WeakSet<FastifyRequest>();

  constructor(private readonly metrics: Metrics) {
    super();
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    // The request's one line is written when it completes, with its outcome. Fastify reports
    // a completion only once the response is finished: one the client abandons (an alert event
    // stream it closes, a GET it gives up waiting on) never is, and gets its line on close.
    reply.raw.once("close", () => {
      if (!reply.raw.writableEnded) this.completed(request, reply, { closedByClient: true });
    });
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    this.completed(request, reply, error == null ? {} : { error });
  }

  /**
   * Fastify calls requestCompleted for every request that reached routing; a request the
   * router refused (frameworkErrors) is answered before that, and its handler calls this.
   */
  completed(request: FastifyRequest, reply: FastifyReply, ending: Ending = {}): void {
    if (this.logged.has(request)) return;
    this.logged.add(request);
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    const status =
      ending.closedByClient === true && !reply.raw.headersSent ? CLIENT_CLOSED : reply.statusCode;
    const labels = { method: request.method, route, status: String(status) };
    this.metrics.httpRequests.inc(labels);
    this.metrics.httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
    const fields = {
      ...requestFields(request, route, status, reply.elapsedTime),
      ...(ending.closedByClient === true && { closedByClient: true }),
    };
    if (ending.error !== undefined) {
      request.log.warn({ ...fields, reason: reasonText(ending.error) }, "request errored");
    } else if (PROBES.has(route)) {
      request.log.debug(fields, "request completed");
    } else {
      request.log.info(fields, "request completed");
    }
  }
}
