import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { ApiError, dependency } from "../../errors.ts";
import type { Alert, AlertTransition } from "../../ledger/types.ts";
import { containsCardNumber } from "../../transaction/card-number.ts";
import { isPlausibleId, isStorableText, toFieldError } from "../../transaction/schema.ts";
import type { AlertPage } from "../contract/schemas.ts";
import { queryInstant } from "../query-instant.ts";
import { type ApiDeps, merchantOf } from "../types.ts";

export const listQuerySchema = z.strictObject({
  status: z
    .enum(["open", "acknowledged", "closed"], {
      error: "status must be one of open, acknowledged, closed",
    })
    .optional(),
  customerId: z
    .string()
    .refine((v) => isPlausibleId(v), { error: "customerId must be 1-64 characters" })
    .optional(),
  rule: z
    .string()
    .refine((v) => isPlausibleId(v, 128), { error: "rule must be 1-128 characters" })
    .optional(),
  from: queryInstant("from").optional(),
  to: queryInstant("to").optional(),
  cursor: z.string().min(1).max(512).optional(),
  limit: z.coerce
    .number({ error: "limit must be an integer from 1 to 500" })
    .int({ error: "limit must be an integer from 1 to 500" })
    .min(1, { error: "limit must be an integer from 1 to 500" })
    .max(500, { error: "limit must be an integer from 1 to 500" })
    .default(50),
});

export const noteSchema = z.strictObject({
  note: z
    .string({ error: "note must be a string" })
    .max(2000, { error: "note must be at most 2000 characters" })
    // PostgreSQL cannot store NUL or a lone surrogate: refused here, not a failed write (503).
    .refine(isStorableText, { error: "note must be well-formed Unicode without NUL characters" })
    // Notes are stored and shown to analysts as written: a card number must never get in.
    .refine((v) => !containsCardNumber(v), {
      error: "note must not contain a card number; refer to the transaction instead",
    })
    .optional(),
});

const HEARTBEAT_MS = 15_000;

/**
 * `maxReplay`: the missed alerts sent at most to one reconnecting stream (PRC-5); tests lower it.
 */
export function alertRoutes(
  app: FastifyInstance,
  deps: ApiDeps,
  streamsPerKey = 5,
  maxReplay = MAX_REPLAY,
): void {
  if (!Number.isInteger(maxReplay) || maxReplay < 1) {
    throw new Error(`maxReplay must be a positive integer, got ${maxReplay}`);
  }
  // Event streams never end on their own; close them when the server stops, or it would wait
  // for them forever and SIGTERM could not finish.
  const open = new Set<FastifyReply>();
  app.addHook("preClose", async () => {
    for (const reply of open) reply.raw.end();
    open.clear();
  });

  app.get("/v1/alerts", async (request) => {
    const parsed = listQuerySchema.safeParse(request.query);
    if (!parsed.success) throw toFieldError(parsed.error, "", request.query);
    const { cursor, limit, ...filter } = parsed.data;
    const page = await dependency(
      "ledger",
      deps.ledger.listAlerts(merchantOf(request), filter, { limit, ...(cursor && { cursor }) }),
    );
    return { alerts: page.items, nextCursor: page.nextCursor ?? null } satisfies AlertPage;
  });

  /** Open event streams per API key id: each holds a socket and a subscription (SEC-6). */
  const streamsOf = new Map<string, number>();

  /** Server-sent events: every new alert of the merchant, as it is committed (PRC-5). */
  app.get("/v1/alerts/stream", (request, reply) => {
    const merchantId = merchantOf(request);
    const keyId = request.merchant!.id;
    const streams = streamsOf.get(keyId) ?? 0;
    if (streams >= streamsPerKey) {
      throw new ApiError(
        "TXW_ERR_RATE_LIMITED",
        `at most ${streamsPerKey} alert streams may be open per API key; close one first`,
      );
    }
    streamsOf.set(keyId, streams + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      const left = (streamsOf.get(keyId) ?? 1) - 1;
      if (left > 0) streamsOf.set(keyId, left);
      else streamsOf.delete(keyId);
    };
    openEventStream(reply);
    const ended = () => reply.raw.writableEnded || reply.raw.destroyed;
    // Nothing is written once the stream ended (a truncated replay, the client gone).
    const write = (text: string) => {
      if (!ended()) reply.raw.write(text);
    };
    const send = (alert: Alert) =>
      write(`id: ${alert.id}\nevent: alert\ndata: ${JSON.stringify(alert)}\n\n`);
    const resumeAfter = lastEventId(request.headers["last-event-id"]);
    // Live alerts arriving while the missed ones are read wait behind them, so the client sees
    // every alert once, in commit order.
    let held: Alert[] | undefined = resumeAfter === undefined ? undefined : [];
    const unsubscribe = deps.hub.subscribe(merchantId, (alert) =>
      held === undefined ? send(alert) : held.push(alert),
    );
    const heartbeat = setInterval(() => write(": keep-alive\n\n"), HEARTBEAT_MS);
    open.add(reply);
    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      release();
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(reply);
    };
    request.raw.on("close", cleanup);
    if (resumeAfter !== undefined) {
      void replayMissed(deps, merchantId, resumeAfter, maxReplay, send, ended).then(
        ({ last, stop }) => {
          const live = held ?? [];
          held = undefined;
          if (stop === "caught-up") {
            for (const alert of live) if (BigInt(alert.id) > BigInt(last)) send(alert);
            return;
          }
          // Not caught up (the limit, or the ledger failed): the live alerts held would jump
          // over the ones not yet replayed. The stream ends instead; EventSource reconnects
          // with Last-Event-ID `last` and the replay goes on from there, nothing skipped.
          cleanup();
          if (ended()) return;
          reply.raw.end(`retry: ${stop === "ledger" ? RETRY_AFTER_FAILURE_MS : RETRY_MS}\n\n`);
        },
      );
    }
  });

  app.get<{ Params: { id: string } }>("/v1/alerts/:id", async (request) => {
    const alert = await dependency(
      "ledger",
      deps.ledger.getAlert(merchantOf(request), request.params.id),
    );
    // The path is the client's text: not repeated (PRIV-1).
    if (alert === null) throw new ApiError("TXW_ERR_NOT_FOUND", "no such alert");
    return alert;
  });

  for (const transition of ["acknowledge", "close"] as const satisfies AlertTransition[]) {
    app.post<{ Params: { id: string } }>(`/v1/alerts/:id/${transition}`, async (request) => {
      const body = request.body ?? {};
      const parsed = noteSchema.safeParse(body);
      if (!parsed.success) throw toFieldError(parsed.error, "", body);
      const outcome = await dependency(
        "ledger",
        deps.ledger.transitionAlert(
          merchantOf(request),
          request.params.id,
          transition,
          parsed.data.note,
        ),
      );
      if (outcome.kind === "not_found") throw new ApiError("TXW_ERR_NOT_FOUND", "no such alert");
      if (outcome.kind === "conflict") {
        throw new ApiError(
          "TXW_ERR_CONFLICT",
          `alert ${request.params.id} is ${outcome.status}; it cannot be ${transition === "close" ? "closed" : "acknowledged"}`,
        );
      }
      return outcome.alert;
    });
  }
}

/** Alerts replayed at most to a reconnecting stream; further back, GET /v1/alerts pages them. */
export const MAX_REPLAY = 1000;
const REPLAY_PAGE = 250;
/** The `retry:` a stream ended before catching up sends: its client reconnects promptly. */
const RETRY_MS = 500;
/** ... or, when the ledger could not be read, a little later. */
const RETRY_AFTER_FAILURE_MS = 5000;

/** The alert id a reconnecting EventSource sends back (the `id:` of the last event it got). */
function lastEventId(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && /^\d{1,18}$/.test(value.trim()) ? value.trim() : undefined;
}

/**
 * Sends the merchant's alerts committed after `after` from the ledger, oldest first, at most
 * `max`; resolves with the last id sent (or `after`) and why it stopped: it caught up with the
 * ledger, or it did not (it reached `max`, the ledger could not be read, the client is gone),
 * and then the caller ends the stream: the client's reconnect goes on from `last`.
 */
export async function replayMissed(
  deps: Pick<ApiDeps, "ledger" | "log">,
  merchantId: string,
  after: string,
  max: number,
  send: (alert: Alert) => void,
  gone: () => boolean,
): Promise<{ last: string; stop: "caught-up" | "limit" | "ledger" | "gone" }> {
  let last = after;
  let sent = 0;
  try {
    while (sent < max && !gone()) {
      const wanted = Math.min(REPLAY_PAGE, max - sent);
      const page = await deps.ledger.alertsAfter(last, wanted, merchantId);
      if (gone()) break;
      for (const alert of page) {
        send(alert);
        last = alert.id;
      }
      sent += page.length;
      if (page.length < wanted) return { last, stop: "caught-up" };
    }
  } catch (error) {
    deps.log.debug({ err: error }, "alert stream replay cut short: the ledger is unavailable");
    return { last, stop: "ledger" };
  }
  return { last, stop: gone() ? "gone" : "limit" };
}

function openEventStream(reply: FastifyReply): void {
  reply.hijack();
  reply.raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    // Alerts carry transaction data: never kept by a cache (SEC-6).
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  reply.raw.write(": connected\n\n");
}
