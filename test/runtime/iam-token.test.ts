import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, mock, test } from "node:test";
import { loadConfig } from "../../src/config.ts";
import {
  databaseCredentials,
  databasePoolConfig,
  IAM_TOKEN_MAX_AGE_MS,
} from "../../src/runtime/aws-stores.ts";

/**
 * DB_AUTH=iam (AWS-3): the password of every new connection is an RDS IAM authentication
 * token, signed locally (no network) with the role's credentials: dummy ones here.
 */
const DUMMY = {
  AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

describe("RDS IAM authentication tokens", () => {
  const saved: Record<string, string | undefined> = {};
  before(() => {
    for (const name of [...Object.keys(DUMMY), "AWS_SESSION_TOKEN", "AWS_PROFILE"]) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
    Object.assign(process.env, DUMMY);
    mock.timers.enable({ apis: ["Date"], now: Date.parse("2026-11-21T09:00:00Z") });
  });
  after(() => {
    mock.timers.reset();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  // A CA bundle as the platform mounts one (the content is only read here, not verified).
  const dir = mkdtempSync(join(tmpdir(), "txwatch-ca-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, "global-bundle.pem");
  writeFileSync(
    bundle,
    `${
      readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8").split(
        "-----END CERTIFICATE-----",
      )[0]
    }-----END CERTIFICATE-----\n`,
  );
  const config = loadConfig({
    DB_HOST: "txwatch-db.cluster-abc.eu-west-1.rds.amazonaws.com",
    DB_PORT: "5432",
    AWS_REGION: "eu-west-1",
    DB_CA_BUNDLE: bundle,
  });

  test("AWS-3 the service connects as txwatch_app with a token for DB_USER at DB_HOST:DB_PORT, reused ~10 min, re-signed after invalidation", async () => {
    assert.equal(config.DB_USER, "txwatch_app");
    assert.equal(config.DB_AUTH, "iam");
    const pool = databasePoolConfig(config);
    assert.equal(pool.user, "txwatch_app");
    assert.equal(pool.host, config.DB_HOST);
    assert.equal(pool.password, undefined, "no password in the pool settings");
    // TLS to RDS (IAM authentication requires it), verified against the bundle's authorities.
    assert.deepEqual(pool.ssl, { ca: readFileSync(bundle, "utf8"), rejectUnauthorized: true });

    const credentials = databaseCredentials(config);
    const token = await credentials.current();
    const url = new URL(`https://${token}`);
    assert.equal(url.host, `${config.DB_HOST}:5432`);
    assert.equal(url.searchParams.get("Action"), "connect");
    assert.equal(url.searchParams.get("DBUser"), "txwatch_app");
    assert.match(
      url.searchParams.get("X-Amz-Credential") ?? "",
      /^AKIAIOSFODNN7EXAMPLE\/20261121\/eu-west-1\/rds-db\/aws4_request$/,
    );
    assert.equal(url.searchParams.get("X-Amz-Date"), "20261121T090000Z");
    assert.equal(Number(url.searchParams.get("X-Amz-Expires")), 900);
    assert.ok(url.searchParams.get("X-Amz-Signature"));

    // Reused while younger than 10 minutes (a token is valid for 15).
    mock.timers.tick(IAM_TOKEN_MAX_AGE_MS - 1_000);
    assert.equal(await credentials.current(), token);
    // Older: signed anew.
    mock.timers.tick(2_000);
    const renewed = await credentials.current();
    assert.notEqual(renewed, token);
    assert.equal(new URL(`https://${renewed}`).searchParams.get("X-Amz-Date"), "20261121T091001Z");

    // Refused (28000 from RDS): invalidate, and the next connection gets a new signature.
    mock.timers.tick(5_000);
    assert.equal(await credentials.current(), renewed);
    credentials.invalidate();
    const resigned = await credentials.current();
    assert.notEqual(resigned, renewed);
    assert.equal(new URL(`https://${resigned}`).searchParams.get("X-Amz-Date"), "20261121T091006Z");
  });

  test("AWS-3 without DB_CA_BUNDLE (or with one that cannot be read) the AWS path refuses to connect, naming DB_CA_BUNDLE: never unverified TLS", () => {
    const { DB_CA_BUNDLE: _omitted, ...rest } = config;
    assert.throws(
      () => databasePoolConfig(rest),
      (error: Error) =>
        error.name === "ValidationError" &&
        (error as Error & { field?: string }).field === "DB_CA_BUNDLE" &&
        /DB_CA_BUNDLE is not set/.test(error.message),
    );
    assert.throws(
      () => databasePoolConfig({ ...config, DB_CA_BUNDLE: join(dir, "missing.pem") }),
      /DB_CA_BUNDLE .*missing\.pem cannot be read: ENOENT/,
    );
    const empty = join(dir, "empty.pem");
    writeFileSync(empty, "");
    assert.throws(
      () => databasePoolConfig({ ...config, DB_CA_BUNDLE: empty }),
      /DB_CA_BUNDLE .* holds no PEM certificate/,
    );
  });

  test("AWS-3 DB_AUTH=iam needs DB_HOST, DB_AUTH=secret needs DB_SECRET_ARN", () => {
    assert.throws(() => databaseCredentials(loadConfig({})), /DB_HOST is not set/);
    assert.throws(
      () => databaseCredentials(loadConfig({ DB_HOST: "db", DB_AUTH: "secret" })),
      /DB_SECRET_ARN is not set/,
    );
  });
});
