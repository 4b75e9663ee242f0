import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/api/app.ts";
import { refuseMetricsThroughTheLoadBalancer } from "../../src/runtime/aws-api.ts";
import { type Harness, startHarness } from "../support/harness.ts";

/** AWS-5: /metrics is not reachable through the load balancer, however the path is written. */
describe("the API container's /metrics behind the load balancer", () => {
  let harness: Harness;
  let app: FastifyInstance;
  before(async () => {
    harness = await startHarness({ kind: "embedded" });
    app = await buildApp(harness.deps);
    refuseMetricsThroughTheLoadBalancer(app);
  });
  after(async () => {
    await app.close();
    await harness.close();
  });

  const get = (url: string, forwarded: boolean) =>
    app.inject({
      method: "GET",
      url,
      headers: forwarded ? { "x-forwarded-for": "198.51.100.7" } : {},
    });

  test("AWS-5 a scraper in the VPC (no X-Forwarded-For) reads /metrics, whichever way the path is written", async () => {
    assert.equal((await get("/metrics", false)).statusCode, 200);
    // The router decodes the path: this is why the load balancer's path rule is not enough.
    assert.equal((await get("/%6detrics", false)).statusCode, 200);
  });

  test("AWS-5 through the load balancer /metrics answers 404 in the error shape, also when percent-encoded", async () => {
    for (const url of ["/metrics", "/%6detrics", "/%6Detrics", "/metrics/"]) {
      const res = await get(url, true);
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().error.code, "TXW_ERR_NOT_FOUND", url);
      assert.doesNotMatch(res.body, /txwatch_|# HELP/, url);
    }
    assert.equal((await get("/healthz", true)).statusCode, 200);
  });
});
