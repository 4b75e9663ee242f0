import type { FetchLike } from "../../src/simulate/index.ts";
import type { Action } from "../../src/transaction/types.ts";

type Body = Record<string, unknown> & { transactionId: string; amount: number };

export interface FakeMonitorOptions {
  /** Answer to the n-th POST (0-based) instead of accepting; undefined accepts. */
  postReply?: (call: number) => { status: number; headers?: Record<string, string> } | undefined;
  /** Per-item answer; default accepted. */
  itemStatus?: (tx: Body, index: number) => "accepted" | "duplicate" | "rejected";
  /** The decision on the n-th look at a transaction (by id or export, 0-based); undefined: not processed. */
  decide?: (tx: Body, attempt: number) => Action | undefined;
  /** Serve GET /v1/exports/transactions (NDJSON); otherwise it answers 404 like a route that is not there. */
  exports?: boolean;
  /** Delay before every answer. */
  latencyMs?: number;
  status?: number;
}

/**
 * A stand-in for the monitor's HTTP API as a fetch function: no socket, every request kept,
 * answers scripted by the test.
 */
export function fakeMonitor(options: FakeMonitorOptions = {}) {
  const posts: {
    at: number;
    headers: Record<string, string>;
    transactions: Body[];
    status: number;
  }[] = [];
  const gets = new Map<string, number>();
  const views = new Map<string, number>();
  const exports: { from: string; to: string }[] = [];
  const stored = new Map<string, Body>();
  let received = 0;
  const started = performance.now();

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });

  const fetch: FetchLike = async (input, init) => {
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    if (options.status !== undefined) {
      return json(options.status, {
        error: { code: "TXW_ERR_UNAUTHENTICATED", message: "bad key" },
      });
    }
    if (init.method === "POST") {
      const { transactions } = JSON.parse(String(init.body)) as { transactions: Body[] };
      const reply = options.postReply?.(posts.length);
      posts.push({
        at: performance.now() - started,
        headers,
        transactions,
        status: reply?.status ?? 202,
      });
      if (reply !== undefined) {
        return json(
          reply.status,
          {
            error: {
              code: reply.status === 429 ? "TXW_ERR_RATE_LIMITED" : "TXW_ERR_UNAVAILABLE",
              message: "later",
            },
          },
          reply.headers,
        );
      }
      const results = transactions.map((tx) => {
        const status = options.itemStatus?.(tx, received++) ?? "accepted";
        if (status !== "rejected") stored.set(tx.transactionId, tx);
        return status === "rejected"
          ? {
              transactionId: tx.transactionId,
              status,
              error: { code: "TXW_ERR_VALIDATION", message: "amount is odd" },
            }
          : { transactionId: tx.transactionId, status };
      });
      return json(202, { results });
    }
    const url = new URL(input);
    const view = (tx: Body) => {
      const seen = views.get(tx.transactionId) ?? 0;
      views.set(tx.transactionId, seen + 1);
      return options.decide?.(tx, seen);
    };
    const present = (tx: Body, action: Action) => ({
      ...tx,
      receivedAt: "2026-11-21T00:30:00.000Z",
      decision: {
        action,
        score: action === "allow" ? 0 : 50,
        reasons:
          action === "allow" ? [] : [{ rule: `scripted-${action}`, score: 50, detail: "scripted" }],
        rulesetVersion: "rs-1",
        decidedAt: "2026-11-21T00:30:00.020Z",
      },
    });
    if (url.pathname === "/v1/exports/transactions") {
      if (!options.exports)
        return json(404, { error: { code: "TXW_ERR_NOT_FOUND", message: "no route" } });
      const from = Date.parse(url.searchParams.get("from")!);
      const to = Date.parse(url.searchParams.get("to")!);
      exports.push({ from: url.searchParams.get("from")!, to: url.searchParams.get("to")! });
      const lines: string[] = [];
      for (const tx of stored.values()) {
        const at = Date.parse(String(tx.occurredAt));
        if (at < from || at >= to) continue;
        const action = view(tx);
        if (action !== undefined) lines.push(JSON.stringify(present(tx, action)));
      }
      return new Response(lines.map((l) => `${l}\n`).join(""), {
        status: 200,
        headers: { "content-type": "application/x-ndjson" },
      });
    }
    const id = decodeURIComponent(url.pathname.split("/").at(-1)!);
    gets.set(id, (gets.get(id) ?? 0) + 1);
    const tx = stored.get(id);
    const action = tx === undefined ? undefined : view(tx);
    if (tx === undefined || action === undefined) {
      return json(404, { error: { code: "TXW_ERR_NOT_FOUND", message: "not yet" } });
    }
    return json(200, present(tx, action));
  };

  return {
    fetch,
    posts,
    gets,
    exports,
    sent: () => posts.filter((p) => p.status === 202).flatMap((p) => p.transactions),
  };
}
