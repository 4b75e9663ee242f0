/**
 * The OpenAPI 3.1 document of the HTTP API (OPS-3), generated from the zod schemas the routes
 * validate requests with and type their answers with (schemas.ts), by zod's own JSON Schema
 * generator: JSON Schema 2020-12 is OpenAPI 3.1's schema dialect. Only the operations, their
 * statuses, headers and media types are written here; every JSON body's schema comes from zod.
 * Served at GET /openapi.json and committed as docs/openapi.json (`npm run docs:openapi`; a
 * test fails when it is stale). test/contract checks the live answers against it.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ERROR_CATALOGUE, type ErrorCode } from "../../errors.ts";
import { MAX_BATCH } from "../ingest.ts";
import { DEFAULT_HTTP_LIMITS } from "../limits.ts";
import { listQuerySchema, MAX_REPLAY, noteSchema } from "../routes/alerts.ts";
import { exportQuerySchema } from "../routes/exports.ts";
import { contract, described, ERROR_CODES, errorNameOf, pathIdSchema } from "./schemas.ts";

export const OPENAPI_PATH = "/openapi.json";

type Json = Record<string, unknown>;

/** What each status means, as the README's error table says it. */
const ERROR_MEANING: Record<ErrorCode, string> = {
  TXW_ERR_VALIDATION:
    "A field, query parameter or the request itself is invalid; `field` names the one at fault (also a JSON key given twice).",
  TXW_ERR_UNAUTHENTICATED: "No API key, or one that is unknown, expired or revoked.",
  TXW_ERR_FORBIDDEN: "A transaction of another merchant than the key's.",
  TXW_ERR_NOT_FOUND: "No such resource (or route); the path and the id are not repeated.",
  TXW_ERR_METHOD_NOT_ALLOWED:
    "A known path with another method; `Allow` names the methods it takes.",
  TXW_ERR_TIMEOUT: `Headers not received within ${DEFAULT_HTTP_LIMITS.headersTimeoutMs / 1000} s, or the whole request within ${DEFAULT_HTTP_LIMITS.requestTimeoutMs / 1000} s; the connection is closed.`,
  TXW_ERR_CONFLICT:
    "The alert's status does not allow the action; or, on ingest, the same transactionId is being accepted by a concurrent request at this moment: retry it.",
  TXW_ERR_PAYLOAD_TOO_LARGE: `The body is over the limit, or a batch holds more than ${MAX_BATCH} transactions.`,
  TXW_ERR_URI_TOO_LONG: `A path segment over ${DEFAULT_HTTP_LIMITS.maxParamLength} characters.`,
  TXW_ERR_UNSUPPORTED_MEDIA_TYPE: "A body whose content type is not application/json.",
  TXW_ERR_RATE_LIMITED:
    "Too many requests of the merchant's key, too many failed authentications from the client address, or too many open alert streams of the key; `Retry-After` says when, where there is a when.",
  TXW_ERR_HEADERS_TOO_LARGE: `Request line and headers over ${DEFAULT_HTTP_LIMITS.maxHeaderBytes / 1024} KiB.`,
  TXW_ERR_INTERNAL: "An unexpected failure; no internal text reaches the client.",
  TXW_ERR_UNAVAILABLE:
    "A dependency is down, or the server is shutting down: retry after `Retry-After` seconds.",
};

const errorNames = new Map<number, string>(
  ERROR_CODES.map((code) => [ERROR_CATALOGUE[code], errorNameOf(code)]),
);

// The request schemas the routes validate with. The query schemas are turned into parameters.
const QUERY_SCHEMAS = { AlertListQuery: listQuerySchema, ExportQuery: exportQuerySchema };
for (const [id, schema] of Object.entries(QUERY_SCHEMAS)) contract.add(schema, { id });
const INSTANT = "RFC 3339 with an offset (compared in UTC), years 1970-9999";
const queryDescriptions: [z.ZodType, string][] = [
  [listQuerySchema.shape.status, "only alerts in this status"],
  [listQuerySchema.shape.customerId, "only alerts of this customer"],
  [listQuerySchema.shape.rule, "only alerts of this rule"],
  [listQuerySchema.shape.from, `alerts created at or after this instant: ${INSTANT}`],
  [listQuerySchema.shape.to, `alerts created before this instant: ${INSTANT}`],
  [listQuerySchema.shape.cursor, "the nextCursor of the previous page"],
  [listQuerySchema.shape.limit, "alerts per page"],
  [exportQuerySchema.shape.from, `transactions that occurred at or after this instant: ${INSTANT}`],
  [exportQuerySchema.shape.to, `transactions that occurred before this instant: ${INSTANT}`],
];
for (const [schema, description] of queryDescriptions) described(schema, description);
contract.add(noteSchema, {
  id: "AlertNote",
  description:
    "An optional note of at most 2000 characters, without NUL, lone surrogates or a card number.",
});

/** Every registered schema as JSON Schema 2020-12, named, with references between them. */
function componentSchemas(): Record<string, Json> {
  const { schemas } = z.toJSONSchema(contract, {
    target: "draft-2020-12",
    // Requests as clients write them (a defaulted parameter is optional); answers have no
    // transforms or defaults, so both sides read the same.
    io: "input",
    metadata: contract,
    uri: (id) => `#/components/schemas/${id}`,
  });
  if ("__shared" in schemas) throw new Error("a schema is shared without an id: register it");
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) out[id] = withoutDialect(schema);
  return out;
}

/** A schema as a part of the document, whose dialect is OpenAPI 3.1's own. */
function withoutDialect(schema: object): Json {
  const { $schema: _dialect, $id: _id, ...rest } = schema as Json;
  return rest;
}

/** A query schema's fields as OpenAPI parameters, each with the schema of its field. */
function queryParameters(schema: Json): Json[] {
  const properties = schema.properties as Record<string, Json>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: "query",
      required: required.has(name),
      ...(description !== undefined && { description }),
      schema: rest,
    };
  });
}

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: Json) => ({ "application/json": { schema } });

/** References to the catalogue's answers, by status. */
function errors(...statuses: number[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const status of new Set(statuses)) {
    const name = errorNames.get(status);
    if (name === undefined) throw new Error(`no catalogued error has status ${status}`);
    out[String(status)] = { $ref: `#/components/responses/${name}` };
  }
  return out;
}

/**
 * What any request may meet: a malformed one, a slow one, a failure, a server that stops; and
 * the 405 (with `Allow`) that every path answers to a method it does not take. A 415 is only
 * listed where there is a request body: the server reads no body of a GET, whatever its type.
 */
const EDGE = [400, 405, 408, 431, 500, 503];
/** ... and under /v1, with a key. */
const V1 = [...EDGE, 401, 429];
/** ... and with an id in the path. */
const BY_ID = [...V1, 404, 414];

function pathId(name: string, description: string): Json {
  return {
    name,
    in: "path",
    required: true,
    description,
    schema: withoutDialect(z.toJSONSchema(pathIdSchema, { target: "draft-2020-12", io: "input" })),
  };
}

function componentResponses(): Record<string, Json> {
  const retryAfter = (required: boolean) => ({
    "Retry-After": { $ref: "#/components/headers/RetryAfter", ...(required && { required }) },
  });
  const headersOf: Partial<Record<ErrorCode, Json>> = {
    TXW_ERR_UNAUTHENTICATED: {
      "WWW-Authenticate": { $ref: "#/components/headers/WWWAuthenticate" },
    },
    TXW_ERR_METHOD_NOT_ALLOWED: { Allow: { $ref: "#/components/headers/Allow" } },
    TXW_ERR_RATE_LIMITED: retryAfter(false),
    TXW_ERR_UNAVAILABLE: retryAfter(true),
  };
  const out: Record<string, Json> = {};
  for (const code of ERROR_CODES) {
    const headers = headersOf[code];
    out[errorNameOf(code)] = {
      description: `${code}: ${ERROR_MEANING[code]}`,
      ...(headers !== undefined && { headers }),
      content: json(ref(`${errorNameOf(code)}Error`)),
    };
  }
  return out;
}

const HEADERS = {
  RetryAfter: {
    description: "Seconds to wait before retrying.",
    schema: { type: "integer", minimum: 0 },
  },
  // Required on every 401 (RFC 6750).
  WWWAuthenticate: {
    description: 'The scheme to authenticate with: Bearer realm="txwatch".',
    required: true,
    schema: { type: "string" },
  },
  Allow: {
    description: "The methods the path takes, e.g. GET, HEAD.",
    required: true,
    schema: { type: "string" },
  },
};

const DESCRIPTION = `Real-time transaction monitoring: ingest, 24-hour customer history, fraud rules, an append-only ledger and alerts.

Every route under /v1 takes \`Authorization: Bearer <api key>\`; a key reads and writes only its own merchant's data. The probes, /metrics and this document take no key.

Every error, including those raised before a request reaches a route, is JSON of the shape \`{"error": {"code", "message", "field"?}}\` (schema \`Error\`); each code has one status (the responses under components). A path the server does not serve is a 404; a path it serves with another method is a 405 whose \`Allow\` header names the methods. Every answer carries \`Cache-Control: no-store\` and \`X-Content-Type-Options: nosniff\`.`;

/** The document, built once per process from the schemas. */
function buildDocument(): Json {
  const schemas = componentSchemas();
  const parameters = (id: keyof typeof QUERY_SCHEMAS) => {
    const params = queryParameters(schemas[id]!);
    delete schemas[id];
    return params;
  };
  const transactionId = pathId(
    "transactionId",
    "The transaction's id; an id it cannot be is answered 404.",
  );
  const alertId = pathId("id", "The alert's id.");
  const alertAction = (verb: "acknowledge" | "close", summary: string) => ({
    operationId: `${verb}Alert`,
    tags: ["alerts"],
    summary,
    description:
      "Alerts go open -> acknowledged -> closed, or open -> closed; any other move is a 409.",
    parameters: [alertId],
    requestBody: {
      required: false,
      description: "Optional; an empty body is no note.",
      content: json(ref("AlertNote")),
    },
    responses: {
      "200": { description: "The alert after the action.", content: json(ref("Alert")) },
      ...errors(...BY_ID, 409, 413, 415),
    },
  });
  const publicGet = (operationId: string, summary: string, responses: Json) => ({
    get: {
      operationId,
      tags: ["operations"],
      summary,
      security: [],
      responses: { ...responses, ...errors(...EDGE.filter((s) => !(String(s) in responses))) },
    },
  });

  const document: Json = {
    openapi: "3.1.0",
    info: {
      title: "txwatch",
      version: "1",
      description: DESCRIPTION,
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    tags: [
      { name: "transactions" },
      { name: "customers" },
      { name: "alerts" },
      { name: "exports" },
      { name: "operations", description: "Probes, metrics and this document; no key." },
    ],
    security: [{ bearerAuth: [] }],
    paths: {
      "/v1/transactions": {
        post: {
          operationId: "ingestTransactions",
          tags: ["transactions"],
          summary: "Submit one transaction, or a batch of them",
          description: `One transaction is answered with its result, and is a 4xx when it is rejected. A batch of 1-${MAX_BATCH} is answered item by item: an invalid item is \`rejected\` with its error while the others are accepted. \`accepted\` means durably on the stream. While the ledger or the claim store is down, items are accepted with \`deduplication: "deferred"\`.`,
          requestBody: { required: true, content: json(ref("IngestRequest")) },
          responses: {
            "202": {
              description: "IngestResult for one transaction, IngestBatchResult for a batch.",
              content: json(ref("IngestResponse")),
            },
            ...errors(...V1, 403, 409, 413, 415),
          },
        },
      },
      "/v1/transactions/{transactionId}": {
        get: {
          operationId: "getTransaction",
          tags: ["transactions"],
          summary: "A transaction with its decision",
          description:
            "An accepted transaction not decided yet is waited for up to 1 s; one still undecided then is answered `pending`.",
          parameters: [transactionId],
          responses: {
            "200": {
              description: "Decided, or still pending.",
              content: json(ref("TransactionView")),
            },
            ...errors(...BY_ID),
          },
        },
      },
      "/v1/customers/{customerId}/history": {
        get: {
          operationId: "getCustomerHistory",
          tags: ["customers"],
          summary: "The customer's last 24 hours as the rules saw them",
          parameters: [pathId("customerId", "The merchant's customer id.")],
          responses: {
            "200": { description: "The history.", content: json(ref("CustomerHistory")) },
            ...errors(...BY_ID),
          },
        },
      },
      "/v1/alerts": {
        get: {
          operationId: "listAlerts",
          tags: ["alerts"],
          summary: "The merchant's alerts, newest first, a page at a time",
          description:
            "`from` and `to` bound the alerts' creation (RFC 3339 with any offset, compared in UTC, years 1970-9999; from inclusive, to exclusive). Pass `nextCursor` as `cursor` for the next page. Another query parameter is a 400.",
          parameters: parameters("AlertListQuery"),
          responses: {
            "200": { description: "One page.", content: json(ref("AlertPage")) },
            ...errors(...V1),
          },
        },
      },
      "/v1/alerts/stream": {
        get: {
          operationId: "streamAlerts",
          tags: ["alerts"],
          summary: "Server-sent events: each new alert of the merchant",
          description: `Each alert is an event \`alert\` whose \`id\` is the alert's id and whose \`data\` is the Alert as JSON. A comment \`: keep-alive\` is sent every 15 s. A client reconnecting with \`Last-Event-ID\` is first sent the alerts it missed, each once, in order. One connection replays at most ${MAX_REPLAY.toLocaleString("en-US")} of them: past that (or when the ledger cannot be read) the stream ends after what it replayed, with a \`retry:\` field, and the client's reconnect (EventSource does it by itself, with the \`Last-Event-ID\` of the last alert it got) goes on from there. At most ${DEFAULT_HTTP_LIMITS.streamsPerKey} streams may be open per key; one more is a 429.`,
          parameters: [
            {
              name: "Last-Event-ID",
              in: "header",
              required: false,
              description: "The id of the last alert received: the alerts after it are sent first.",
              schema: { type: "string" },
            },
          ],
          responses: {
            "200": {
              description:
                "The event stream; it ends when the client or the server closes it, or after a replay that did not catch up (reconnect to go on).",
              content: {
                "text/event-stream": {
                  schema: {
                    type: "string",
                    description: "event: alert / id: <alert id> / data: <Alert as JSON>",
                  },
                },
              },
            },
            ...errors(...V1),
          },
        },
      },
      "/v1/alerts/{id}": {
        get: {
          operationId: "getAlert",
          tags: ["alerts"],
          summary: "One alert with its notes",
          parameters: [alertId],
          responses: {
            "200": { description: "The alert.", content: json(ref("Alert")) },
            ...errors(...BY_ID),
          },
        },
      },
      "/v1/alerts/{id}/acknowledge": { post: alertAction("acknowledge", "Acknowledge an alert") },
      "/v1/alerts/{id}/close": { post: alertAction("close", "Close an alert") },
      "/v1/exports/transactions": {
        get: {
          operationId: "exportTransactions",
          tags: ["exports"],
          summary: "Regulatory export: the period's transactions with their decisions",
          description:
            "Transactions that occurred in [from, to), as NDJSON: one ExportedTransaction per line. A ledger outage before the first line is a 503; a response cut off mid-stream means the export failed: retry it.",
          parameters: parameters("ExportQuery"),
          responses: {
            "200": {
              description: "One ExportedTransaction as JSON per line.",
              headers: {
                "Content-Disposition": {
                  description: "attachment; filename=txwatch-export-<from>-<to>.ndjson",
                  required: true,
                  schema: { type: "string" },
                },
              },
              content: {
                "application/x-ndjson": {
                  schema: {
                    type: "string",
                    description: "Lines of #/components/schemas/ExportedTransaction",
                  },
                },
              },
            },
            ...errors(...V1),
          },
        },
      },
      "/healthz": publicGet("health", "Liveness", {
        "200": { description: "The process is up.", content: json(ref("Health")) },
      }),
      "/readyz": publicGet("ready", "Readiness: the stream, history store and ledger reachable", {
        "200": { description: "Ready.", content: json(ref("Ready")) },
        "503": {
          description:
            "Not ready: the error names what is unavailable (NotReady); or the server is shutting down (UnavailableError, with Retry-After).",
          headers: {
            "Retry-After": { $ref: "#/components/headers/RetryAfter" },
          },
          content: json(ref("ReadyzUnavailable")),
        },
      }),
      "/metrics": publicGet("metrics", "Prometheus metrics", {
        "200": {
          description: "The Prometheus text exposition format 0.0.4.",
          content: { "text/plain": { schema: { type: "string" } } },
        },
      }),
      [OPENAPI_PATH]: publicGet("openapi", "This document", {
        "200": {
          description: "The OpenAPI 3.1 document of this API.",
          content: json(ref("OpenApiDocument")),
        },
      }),
    },
    components: {
      schemas,
      responses: componentResponses(),
      headers: HEADERS,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description:
            "An API key of one merchant, as `txwatch keys create --merchant <id>` prints it.",
        },
      },
    },
  };
  return document;
}

let built: Json | undefined;

/** The document (the same object on every call: callers must not change it). */
export function openApiDocument(): Json {
  built ??= buildDocument();
  return built;
}

/** Serves the document, without a key (API.md "Machine-readable contract"). */
export function openApiRoute(app: FastifyInstance): void {
  // Built on the first request, not at start: no process pays for it unless asked.
  let body: string | undefined;
  app.get(OPENAPI_PATH, async (_request, reply) => {
    body ??= JSON.stringify(openApiDocument());
    return reply.type("application/json; charset=utf-8").send(body);
  });
}
