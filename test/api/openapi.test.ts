import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { validate } from "@readme/openapi-parser";
import { OPENAPI_PATH, openApiDocument } from "../../src/api/contract/openapi.ts";
import { ERROR_CATALOGUE } from "../../src/errors.ts";
import { type Harness, startHarness } from "../support/harness.ts";

type Json = Record<string, unknown>;
const doc = () =>
  structuredClone(openApiDocument()) as Json & {
    paths: Record<string, Record<string, Json>>;
    components: { schemas: Record<string, Json>; responses: Record<string, Json> };
  };

test("OPS-3 docs/openapi.json is generated from the API's schemas and current (npm run docs:openapi)", () => {
  assert.deepEqual(JSON.parse(readFileSync("docs/openapi.json", "utf8")), openApiDocument());
});

test("OPS-3 the document is valid OpenAPI 3.1 (@readme/openapi-parser), which a broken one is not", async () => {
  const result = await validate(doc() as never);
  assert.equal(result.specification, "OpenAPI");
  assert.ok(result.valid, JSON.stringify(result));
  assert.deepEqual(result.warnings, []);
  assert.equal(doc().openapi, "3.1.0");

  // The validator is not blind: a dangling reference and a response without a description fail.
  const broken = doc();
  broken.components.schemas.Alert = { $ref: "#/components/schemas/Nowhere" };
  assert.equal((await validate(broken as never)).valid, false);
  const undescribed = doc();
  delete (undescribed.paths["/healthz"]!.get!.responses as Record<string, Json>)["200"]!
    .description;
  assert.equal((await validate(undescribed as never)).valid, false);
});

test("OPS-3 every status of the error table in docs/api.md is in the document with its code and headers", () => {
  const page = readFileSync("docs/api.md", "utf8");
  const rows = [...page.matchAll(/^\| (\d{3}) \| `(TXW_ERR_[A-Z_]+)`/gm)];
  assert.ok(rows.length >= 14, "the error table is found");
  const { components } = doc();
  const byStatus = new Map<string, Json>();
  for (const response of Object.values(components.responses)) {
    const ref = (
      (response.content as Record<string, { schema: { $ref: string } }>)["application/json"]!.schema
        .$ref as string
    )
      .split("/")
      .at(-1)!;
    const schema = components.schemas[ref] as {
      properties: { error: { properties: { code: { const: string } } } };
    };
    const code = schema.properties.error.properties.code.const;
    byStatus.set(String(ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE]), {
      ...response,
      code,
    });
  }
  for (const [, status, code] of rows) {
    const response = byStatus.get(status!);
    assert.ok(response, `${status} ${code} is a response of the document`);
    assert.equal(response.code, code, `${status} is ${code}`);
  }
  const headers = (status: string) => Object.keys(byStatus.get(status)!.headers ?? {});
  assert.deepEqual(headers("401"), ["WWW-Authenticate"]);
  assert.deepEqual(headers("405"), ["Allow"]);
  assert.deepEqual(headers("429"), ["Retry-After"]);
  assert.deepEqual(headers("503"), ["Retry-After"]);
  const required = (status: string) =>
    (byStatus.get(status)!.headers as Record<string, { required?: boolean }>)["Retry-After"]!
      .required === true;
  assert.equal(required("503"), true, "every 503 says when to retry");
  assert.equal(required("429"), false, "a 6th alert stream has no when");
  // Every error the server sends has the catalogue's shape, field optional.
  const error = components.schemas.ErrorBody as { properties: Json; required: string[] };
  assert.deepEqual(Object.keys(error.properties), ["code", "message", "field"]);
  assert.deepEqual(error.required, ["code", "message"]);
});

test('OPS-3 the ingest results of the document: accepted, duplicate, rejected, deduplication "deferred"', () => {
  const result = doc().components.schemas.IngestResult as {
    properties: Record<string, Json>;
    required: string[];
  };
  assert.deepEqual(result.properties.status!.enum, ["accepted", "duplicate", "rejected"]);
  assert.equal(result.properties.deduplication!.const, "deferred");
  assert.deepEqual(result.properties.error, { $ref: "#/components/schemas/ErrorBody" });
  assert.deepEqual(result.required, ["status"]);
});

/** The server's routes from Fastify's route tree: "GET /v1/alerts/{id}" and so on. */
function routesOf(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split("\n")) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (m === null) continue;
    const depth = m[1]!.length / 4;
    const path = (stack[depth - 1] ?? "") + m[2]!;
    stack[depth] = path;
    for (const method of (m[3] ?? "").split(", ").filter((x) => x !== "" && x !== "HEAD")) {
      out.push(`${method} ${path.replace(/:(\w+)/g, "{$1}")}`);
    }
  }
  return out.sort();
}

describe("OPS-3 the served document", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ kind: "embedded", process: false });
  });
  after(() => h.close());

  test("OPS-3 GET /openapi.json serves the document without a key", async () => {
    const res = await h.app.inject({ method: "GET", url: OPENAPI_PATH });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"] as string, /^application\/json/);
    assert.deepEqual(res.json(), openApiDocument());
  });

  test("OPS-3 the document has every route the server serves, and no other", () => {
    const served = routesOf(h.app.printRoutes({ commonPrefix: false }));
    assert.ok(served.length >= 13, served.join("\n"));
    const documented = Object.entries(doc().paths)
      .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    assert.deepEqual(documented, served);
  });

  test("OPS-3 every operation lists the 405 (with Allow) its path answers to other methods, and the 415 where the server reads a body, as the server answers", async () => {
    const key = await h.keyFor("japancart");
    for (const [path, item] of Object.entries(doc().paths)) {
      const url = path.replace(/\{\w+\}/g, "1");
      const methods = Object.keys(item);
      const other = await h.app.inject({
        method: "DELETE",
        url,
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(other.statusCode, 405, `DELETE ${path}`);
      assert.ok(other.headers.allow, `DELETE ${path} names the methods`);
      for (const [method, operation] of Object.entries(item)) {
        const responses = operation.responses as Json;
        assert.deepEqual(
          responses["405"],
          { $ref: "#/components/responses/MethodNotAllowed" },
          `${method} ${path} lists 405`,
        );
        const takesBody = operation.requestBody !== undefined;
        assert.equal("415" in responses, takesBody, `${method} ${path}: 415 iff a body is read`);
        if (takesBody || path === "/v1/alerts/stream") continue;
        // The server reads no body of a GET: a declared non-JSON one is not a 415.
        const res = await h.app.inject({
          method: methods[0]!.toUpperCase() as "GET",
          url,
          headers: { authorization: `Bearer ${key}`, "content-type": "text/xml" },
          payload: "<x/>",
        });
        assert.notEqual(res.statusCode, 415, `${method} ${path} with an XML body`);
      }
    }
  });

  test("OPS-3 the routes under /v1 need the bearer key; the probes, metrics and the document do not", () => {
    const d = doc();
    assert.deepEqual(d.security, [{ bearerAuth: [] }]);
    assert.deepEqual((d.components as unknown as Json).securitySchemes, {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        description:
          "An API key of one merchant, as `txwatch keys create --merchant <id>` prints it.",
      },
    });
    for (const [path, item] of Object.entries(d.paths)) {
      for (const operation of Object.values(item)) {
        const open = JSON.stringify(operation.security) === "[]";
        assert.equal(open, !path.startsWith("/v1/"), path);
        assert.equal("401" in (operation.responses as Json), !open, `${path} documents its 401`);
      }
    }
  });
});
