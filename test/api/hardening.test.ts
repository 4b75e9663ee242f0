import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/api/app.ts";
import type { HttpLimits } from "../../src/api/limits.ts";
import type { ApiDeps } from "../../src/api/types.ts";
import { ERROR_CATALOGUE } from "../../src/errors.ts";
import type { Ledger } from "../../src/ledger/types.ts";
import { TEST_PAN, wireTransaction } from "../support/fixtures.ts";
import { bearer, type Harness, startHarness } from "../support/harness.ts";

/** Penetration-test findings (SEC-5, SEC-6): the HTTP edge, over inject and real sockets. */

interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

function assertCatalogued(res: Answer, status: number, code: string): { message: string } {
  assert.equal(res.statusCode, status, res.body);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  assert.equal(ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE], status);
  assert.equal(typeof body.error.message, "string");
  assert.equal(res.headers["x-content-type-options"], "nosniff");
  return body.error;
}

function assertNoPan(text: string) {
  assert.ok(!text.includes(TEST_PAN), `a card number leaked: ${text.slice(0, 300)}`);
  assert.ok(!text.includes("4111-1111-1111-1111"), `a card number leaked: ${text.slice(0, 300)}`);
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: "127.0.0.1" });
  return (app.server.address() as AddressInfo).port;
}

/**
 * Writes `chunks` on a raw socket, one every `intervalMs`, and collects what comes back until
 * the server closes the socket (or `giveUpMs`).
 */
function rawExchange(
  port: number,
  chunks: string[],
  { intervalMs = 0, giveUpMs = 5000 } = {},
): Promise<{ text: string; closedAfterMs: number | null }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      resolve({ text, closedAfterMs: null });
    }, giveUpMs);
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      text += d;
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(giveUp);
      clearInterval(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    socket.on("connect", () => {
      const queue = [...chunks];
      const next = () => {
        const chunk = queue.shift();
        if (chunk === undefined) clearInterval(timer);
        else if (!socket.destroyed) socket.write(chunk);
      };
      next();
      if (intervalMs > 0) timer = setInterval(next, intervalMs);
      else while (queue.length > 0) next();
    });
  });
}

/** The first HTTP response in raw text. */
function parseRaw(text: string): Answer {
  const split = text.indexOf("\r\n\r\n");
  const head = text.slice(0, split).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers["content-length"] ?? 0);
  return {
    statusCode: Number(head[0]?.split(" ")[1]),
    headers,
    body: text.slice(split + 4, split + 4 + length),
  };
}

describe("HTTP edge hardening (SEC-5, SEC-6)", () => {
  let h: Harness;
  let key: string;
  const extra: FastifyInstance[] = [];
  before(async () => {
    h = await startHarness({ kind: "embedded", process: false, bodyLimitBytes: 16 * 1024 });
    key = await h.keyFor("japancart");
  });
  after(async () => {
    for (const app of extra) await app.close().catch(() => {});
    await h.close();
  });

  /** Another app on the harness's services with other limits. */
  async function appWith(
    limits: Partial<HttpLimits>,
    deps: Partial<ApiDeps> = {},
  ): Promise<FastifyInstance> {
    const app = await buildApp({ ...h.deps, ...deps }, limits);
    extra.push(app);
    return app;
  }

  test("SEC-5 Fastify's errors (long parameter, bad URL, unknown route, bad content type, body too large) are catalogued and repeat no input", async () => {
    const long = await h.app.inject({
      method: "GET",
      url: `/v1/transactions/${TEST_PAN}${"a".repeat(200)}`,
      headers: bearer(key),
    });
    assertCatalogued(long, 414, "TXW_ERR_URI_TOO_LONG");
    assertNoPan(long.body);

    const bad = await h.app.inject({
      method: "GET",
      url: `/v1/transactions/${TEST_PAN}%zz`,
      headers: bearer(key),
    });
    assertCatalogued(bad, 400, "TXW_ERR_VALIDATION");
    assertNoPan(bad.body);

    const unknown = await h.app.inject({ method: "GET", url: `/v2/cards/${TEST_PAN}/x` });
    const { message } = assertCatalogued(unknown, 404, "TXW_ERR_NOT_FOUND");
    assert.doesNotMatch(message, /\/v2|cards|card number/, "the path is not repeated");

    const type = await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: { authorization: `Bearer ${key}`, "content-type": `application/x-${TEST_PAN}` },
      payload: "x",
    });
    assertCatalogued(type, 415, "TXW_ERR_UNSUPPORTED_MEDIA_TYPE");
    assertNoPan(type.body);
    const big = await h.app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: JSON.stringify({ note: TEST_PAN.repeat(2000) }),
    });
    assertCatalogued(big, 413, "TXW_ERR_PAYLOAD_TOO_LARGE");
    assertNoPan(big.body);
  });

  test("SEC-5 Node's own errors (header block too large, malformed request) are catalogued, over a real socket", async () => {
    const app = await appWith({});
    const port = await listen(app);
    const huge = await rawExchange(port, [
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Card: ${TEST_PAN.repeat(2000)}\r\n\r\n`,
    ]);
    const headerAnswer = parseRaw(huge.text);
    assertCatalogued(headerAnswer, 431, "TXW_ERR_HEADERS_TOO_LARGE");
    assertNoPan(huge.text);

    const longUrl = await rawExchange(port, [
      `GET /v1/transactions/${TEST_PAN.repeat(2000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ]);
    assertCatalogued(parseRaw(longUrl.text), 431, "TXW_ERR_HEADERS_TOO_LARGE");
    assertNoPan(longUrl.text);

    const malformed = await rawExchange(port, [`GET /${TEST_PAN} HTTP/9.9 ${TEST_PAN}\r\n\r\n`]);
    assertCatalogued(parseRaw(malformed.text), 400, "TXW_ERR_VALIDATION");
    assertNoPan(malformed.text);
  });

  test("SEC-5 a request arriving while the server shuts down gets a catalogued 503 with Retry-After", async () => {
    const app = await appWith({});
    let entered!: () => void;
    const inSlow = new Promise<void>((r) => {
      entered = r;
    });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    app.get("/test-only/slow", async () => {
      entered();
      await released;
      return { ok: true };
    });
    const port = await listen(app);
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      text += d;
    });
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    socket.write("GET /test-only/slow HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    await inSlow;
    const closing = app.close();
    // The same connection's next request arrives after the close began.
    socket.write(`GET /v1/transactions/${TEST_PAN} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    release();
    await closed;
    await closing;
    const second = text.slice(text.indexOf("HTTP/1.1", 10));
    const answer = parseRaw(second);
    assertCatalogued(answer, 503, "TXW_ERR_UNAVAILABLE");
    assert.ok(Number(answer.headers["retry-after"]) > 0);
    assertNoPan(text);
  });

  test("SEC-5 the request log holds no card number from the path, Host or Accept-Version", async () => {
    const before = h.logs().length;
    const headers = {
      ...bearer(key),
      host: `${TEST_PAN}.example`,
      "accept-version": "4111-1111-1111-1111",
      "x-forwarded-for": TEST_PAN,
    };
    await h.app.inject({ method: "GET", url: `/v1/transactions/${TEST_PAN}`, headers });
    await h.app.inject({ method: "GET", url: `/v1/alerts?customerId=${TEST_PAN}`, headers });
    await h.app.inject({ method: "GET", url: `/nowhere/${TEST_PAN}`, headers });
    const logged = h.logs().slice(before);
    assertNoPan(logged);
    assert.doesNotMatch(logged, /example|"host"|"version"|"url"/, "no header nor raw URL");
    const lines = logged
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // OPS-4: one line per request, its fields an allow-list.
    const completed = lines.filter((l) => l.msg === "request completed");
    assert.equal(completed.length, 3, "one line per request");
    const { durationMs, ...first } = completed[0] as Record<string, unknown>;
    assert.equal(typeof durationMs, "number");
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(first).filter(([k]) => !["level", "time", "service", "reqId"].includes(k)),
      ),
      {
        msg: "request completed",
        method: "GET",
        route: "/v1/transactions/:transactionId",
        status: 404,
        merchant: "japancart",
        code: "TXW_ERR_NOT_FOUND",
      },
    );
  });

  test("SEC-6 a client sending its headers one byte a second is cut off within the headers timeout", async () => {
    const app = await appWith({ headersTimeoutMs: 1000, timeoutCheckIntervalMs: 100 });
    const port = await listen(app);
    const request =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: abcdefghijklmnopqrstuvwxyz\r\n\r\n";
    const slow = await rawExchange(port, [...request], { intervalMs: 1000, giveUpMs: 5000 });
    assert.notEqual(slow.closedAfterMs, null, "the server cut the connection");
    assert.ok(slow.closedAfterMs! < 2500, `cut after ${slow.closedAfterMs} ms`);
    assertCatalogued(parseRaw(slow.text), 408, "TXW_ERR_TIMEOUT");
  });

  test("SEC-6 a body sent one byte a second is cut off within the request timeout, an idle keep-alive connection within its timeout", async () => {
    const app = await appWith({
      headersTimeoutMs: 1000,
      requestTimeoutMs: 1500,
      keepAliveTimeoutMs: 500,
      timeoutCheckIntervalMs: 100,
    });
    const port = await listen(app);
    const body = JSON.stringify(wireTransaction());
    const slow = await rawExchange(
      port,
      [
        `POST /v1/transactions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        ...body,
      ],
      { intervalMs: 1000, giveUpMs: 6000 },
    );
    assert.notEqual(slow.closedAfterMs, null, "the server cut the connection");
    assert.ok(slow.closedAfterMs! < 3500, `cut after ${slow.closedAfterMs} ms`);

    const idle = await rawExchange(port, ["GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"], {
      giveUpMs: 4000,
    });
    assert.equal(parseRaw(idle.text).statusCode, 200);
    assert.notEqual(idle.closedAfterMs, null, "the idle connection was closed");
    assert.ok(idle.closedAfterMs! < 2000, `closed after ${idle.closedAfterMs} ms`);
  });

  test("SEC-6 every 401 carries WWW-Authenticate: Bearer", async () => {
    for (const authorization of [undefined, "Basic abc", "Bearer txw_not-a-key"]) {
      const res = await h.app.inject({
        method: "GET",
        url: "/v1/alerts",
        ...(authorization !== undefined && { headers: { authorization } }),
        remoteAddress: "198.51.100.1",
      });
      assert.match(String(res.headers["www-authenticate"]), /^Bearer\b/);
      assertCatalogued(res, 401, "TXW_ERR_UNAUTHENTICATED");
    }
  });

  test("SEC-6 failed authentications are limited per address (429, Retry-After) before the ledger is asked", async () => {
    // Every ledger call counts, whatever the key lookup is named.
    let lookups = 0;
    const ledger = new Proxy(h.ledger, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          lookups++;
          return value.apply(target, args);
        };
      },
    }) as Ledger;
    const app = await appWith({ authFailuresPerMinute: 3 }, { ledger });
    const attempt = (authorization: string, remoteAddress = "203.0.113.9") =>
      app.inject({ method: "GET", url: "/v1/alerts", headers: { authorization }, remoteAddress });
    for (let i = 0; i < 3; i++) {
      assert.equal((await attempt(`Bearer txw_guess-${i}`)).statusCode, 401);
    }
    const afterFailures = lookups;
    assert.ok(afterFailures >= 3, "each failure was looked up");
    const flood = await Promise.all(
      Array.from({ length: 50 }, (_, i) => attempt(`Bearer txw_flood-${i}`)),
    );
    for (const res of flood) {
      assertCatalogued(res, 429, "TXW_ERR_RATE_LIMITED");
      assert.ok(Number(res.headers["retry-after"]) > 0);
    }
    assert.equal(lookups, afterFailures, "the flood cost no ledger lookup");
    assert.equal((await attempt(`Bearer ${key}`, "203.0.113.10")).statusCode, 200);

    // Behind a load balancer (one trusted hop) each client is counted, not the balancer.
    const behind = await appWith({ authFailuresPerMinute: 1, trustedProxyHops: 1 });
    const via = (client: string) =>
      behind.inject({
        method: "GET",
        url: "/v1/alerts",
        headers: { authorization: "Bearer txw_guess", "x-forwarded-for": client },
        remoteAddress: "10.0.0.2",
      });
    assert.equal((await via("198.51.100.7")).statusCode, 401);
    assert.equal((await via("198.51.100.8")).statusCode, 401, "another client behind it");
    assert.equal((await via("198.51.100.7")).statusCode, 429);
  });

  test("SEC-6 the per-merchant rate limit answers before the body is read", async () => {
    const app = await appWith({}, { rateLimitPerMinute: 1 });
    const first = await app.inject({ method: "GET", url: "/v1/alerts", headers: bearer(key) });
    assert.equal(first.statusCode, 200);
    // A body that is not JSON would be a 400 if it were parsed before the limit.
    const limited = await app.inject({
      method: "POST",
      url: "/v1/transactions",
      headers: bearer(key),
      payload: "{not json",
    });
    assertCatalogued(limited, 429, "TXW_ERR_RATE_LIMITED");
    // Over a socket: the 429 comes while the declared body has not been sent at all.
    const port = await listen(app);
    const raw = await rawExchange(
      port,
      [
        `POST /v1/transactions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`,
      ],
      { giveUpMs: 1500 },
    );
    assertCatalogued(parseRaw(raw.text), 429, "TXW_ERR_RATE_LIMITED");
  });

  test("SEC-6 at most streamsPerKey alert streams per key; the next is a 429 until one closes", async () => {
    const app = await appWith({ streamsPerKey: 2 });
    const port = await listen(app);
    const open = () =>
      new Promise<{ status: number; headers: Answer["headers"]; close(): void; body: string }>(
        (resolve, reject) => {
          const req = httpRequest(
            { port, host: "127.0.0.1", path: "/v1/alerts/stream", headers: bearer(key) },
            (res) => {
              let body = "";
              res.setEncoding("utf8");
              const done = () =>
                resolve({
                  status: res.statusCode!,
                  headers: res.headers,
                  body,
                  close: () => req.destroy(),
                });
              if (res.statusCode === 200) {
                res.once("data", done);
              } else {
                res.on("data", (d: string) => {
                  body += d;
                });
                res.on("end", done);
              }
            },
          );
          req.on("error", reject);
          req.end();
        },
      );
    const first = await open();
    const second = await open();
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const third = await open();
    assert.equal(third.status, 429, "the third stream of the key is refused");
    assertCatalogued(
      { statusCode: third.status, headers: third.headers, body: third.body },
      429,
      "TXW_ERR_RATE_LIMITED",
    );
    first.close();
    await new Promise((r) => setTimeout(r, 100));
    const again = await open();
    assert.equal(again.status, 200, "a closed stream frees its place");
    assert.equal(again.headers["cache-control"], "no-store");
    assert.equal(again.headers["x-content-type-options"], "nosniff");
    second.close();
    again.close();
  });

  test("SEC-6 a JSON body with a duplicate key is a 400 naming the key; prototype keys stay refused", async () => {
    const post = (payload: string) =>
      h.app.inject({ method: "POST", url: "/v1/transactions", headers: bearer(key), payload });
    const tx = wireTransaction();
    const single = JSON.stringify(tx).replace(/}$/, ',"amount":1}');
    const res = await post(single);
    assertCatalogued(res, 400, "TXW_ERR_VALIDATION");
    assert.equal((res.json() as { error: { field: string } }).error.field, "amount");
    const batch = `{"transactions":[${JSON.stringify(wireTransaction())},${JSON.stringify(
      wireTransaction(),
    ).replace(
      '"metadata":{"orderId":"o-1"}',
      '"metadata":{"orderId":"o-1","\\u006frderId":"x"}',
    )}]}`;
    const batchRes = await post(batch);
    assert.equal(batchRes.statusCode, 400);
    assert.equal(
      (batchRes.json() as { error: { field: string } }).error.field,
      "transactions[1].metadata.orderId",
    );
    assert.equal(h.stream.lag(), 0, "nothing of either body was stored");
    const proto = await post(JSON.stringify(tx).replace(/}$/, ',"__proto__":{"x":1}}'));
    assert.equal(proto.statusCode, 400);
    assert.equal((await post(JSON.stringify(wireTransaction()))).statusCode, 202);
  });

  test("SEC-6 nosniff on every response, no-store on every response with transaction or alert data", async () => {
    const tx = wireTransaction();
    const answers = [
      await h.app.inject({ method: "GET", url: "/healthz" }),
      await h.app.inject({ method: "GET", url: "/metrics" }),
      await h.app.inject({
        method: "POST",
        url: "/v1/transactions",
        headers: bearer(key),
        payload: JSON.stringify(tx),
      }),
      await h.app.inject({
        method: "GET",
        url: `/v1/transactions/${tx.transactionId}`,
        headers: bearer(key),
      }),
      await h.app.inject({ method: "GET", url: "/v1/alerts", headers: bearer(key) }),
      await h.app.inject({
        method: "GET",
        url: "/v1/customers/cust-42/history",
        headers: bearer(key),
      }),
      await h.app.inject({
        method: "GET",
        url: "/v1/exports/transactions?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
        headers: bearer(key),
      }),
      await h.app.inject({ method: "GET", url: "/v1/alerts" }),
    ];
    for (const res of answers) {
      assert.equal(res.headers["x-content-type-options"], "nosniff", `${res.statusCode}`);
    }
    for (const res of answers.slice(2)) {
      assert.equal(res.headers["cache-control"], "no-store", `${res.statusCode}`);
    }
  });

  test("SEC-6 a known path with another method (OPTIONS and TRACE too) is a 405 with Allow", async () => {
    const cases: [string, string, string][] = [
      ["DELETE", "/v1/alerts", "GET, HEAD"],
      ["PUT", "/v1/transactions/tx-1", "GET, HEAD"],
      ["GET", "/v1/transactions", "POST"],
      ["OPTIONS", "/v1/transactions", "POST"],
      ["TRACE", "/healthz", "GET, HEAD"],
      ["GET", "/v1/alerts/7/close", "POST"],
    ];
    for (const [method, url, allow] of cases) {
      const res = await h.app.inject({ method: method as "GET", url, headers: bearer(key) });
      assertCatalogued(res, 405, "TXW_ERR_METHOD_NOT_ALLOWED");
      assert.equal(res.headers.allow, allow, `${method} ${url}`);
    }
    assert.equal((await h.app.inject({ method: "DELETE", url: "/v1/nothing" })).statusCode, 404);
  });
});
