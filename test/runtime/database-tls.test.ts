import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TLSSocket } from "node:tls";
import pg from "pg";
import { loadConfig } from "../../src/config.ts";
import { databasePoolConfig } from "../../src/runtime/aws-stores.ts";

/**
 * AWS-3: the AWS path's TLS to the database is verified. A PostgreSQL look-alike answers the
 * client's SSLRequest with 'S' and then the TLS handshake with a certificate of the test's own
 * authority; the client is configured by databasePoolConfig exactly as on AWS. The handshake
 * completes only for the right authority and the right name; what would follow (the IAM token
 * as the password) is never sent otherwise.
 */
function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

/** A CA and a server certificate for `name`, signed by it, in `dir`. */
function makeAuthority(dir: string, prefix: string, name: string): void {
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${prefix} test CA`,
    "-keyout",
    `${prefix}-ca.key`,
    "-out",
    `${prefix}-ca.pem`,
  ]);
  openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${prefix}-server.key`,
    "-out",
    `${prefix}-server.csr`,
  ]);
  const ext = join(dir, `${prefix}.ext`);
  execFileSync("sh", ["-c", `printf 'subjectAltName=DNS:${name}\\n' > '${ext}'`]);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${prefix}-server.csr`,
    "-CA",
    `${prefix}-ca.pem`,
    "-CAkey",
    `${prefix}-ca.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    `${prefix}-server.pem`,
  ]);
}

interface FakeServer {
  port: number;
  /** How many clients completed the TLS handshake. */
  handshakes: number;
  /** Whether any bytes arrived after a handshake (the startup message, then the password). */
  close(): Promise<void>;
}

/** Speaks PostgreSQL up to the TLS handshake, then hangs up. */
async function fakePostgres(key: string, cert: string): Promise<FakeServer> {
  const { readFileSync } = await import("node:fs");
  const secure = { key: readFileSync(key), cert: readFileSync(cert) };
  const sockets = new Set<Socket>();
  const state = { handshakes: 0 };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.once("data", (request) => {
      // SSLRequest: length 8, code 80877103.
      if (request.length !== 8 || request.readInt32BE(4) !== 80877103) {
        socket.destroy();
        return;
      }
      socket.write("S");
      const tls = new TLSSocket(socket, { isServer: true, ...secure });
      tls.on("error", () => socket.destroy());
      tls.on("secure", () => {
        state.handshakes += 1;
        tls.destroy();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address !== "string");
  return {
    port: address.port,
    get handshakes() {
      return state.handshakes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Connects as the AWS path would (a password in place of the IAM token); answers the error. */
async function connectError(host: string, port: number, bundle: string): Promise<Error> {
  const settings = databasePoolConfig(
    loadConfig({ DB_HOST: host, DB_PORT: String(port), DB_CA_BUNDLE: bundle }),
  );
  const client = new pg.Client({ ...settings, password: "token", connectionTimeoutMillis: 5000 });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    return error as Error;
  } finally {
    await client.end().catch(() => {});
  }
  throw new Error("connected to a server that hangs up after the handshake");
}

describe("TLS to the database on the AWS path (AWS-3)", () => {
  let dir: string;
  let right: FakeServer;
  let wrongName: FakeServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "txwatch-tls-"));
    makeAuthority(dir, "rds", "localhost");
    makeAuthority(dir, "other", "localhost");
    makeAuthority(dir, "named", "db.elsewhere.example");
    right = await fakePostgres(join(dir, "rds-server.key"), join(dir, "rds-server.pem"));
    wrongName = await fakePostgres(join(dir, "named-server.key"), join(dir, "named-server.pem"));
  });
  after(async () => {
    await right?.close();
    await wrongName?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("AWS-3 the handshake completes with the bundle's authority and the host's name", async () => {
    const error = await connectError("localhost", right.port, join(dir, "rds-ca.pem"));
    // Past TLS: the server hung up where the startup would follow.
    assert.doesNotMatch(error.message, /certificate|self[- ]signed|altname/i, error.message);
    assert.equal(right.handshakes, 1);
  });

  test("AWS-3 a certificate from another authority is refused before anything is sent", async () => {
    const before = right.handshakes;
    const error = await connectError("localhost", right.port, join(dir, "other-ca.pem"));
    assert.match(
      `${(error as Error & { code?: string }).code} ${error.message}`,
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify|self[- ]signed/i,
    );
    assert.equal(right.handshakes, before, "the handshake did not complete");
  });

  test("AWS-3 a certificate of the right authority for another name is refused (servername checked)", async () => {
    const error = await connectError("localhost", wrongName.port, join(dir, "named-ca.pem"));
    assert.match(
      `${(error as Error & { code?: string }).code} ${error.message}`,
      /ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate/i,
    );
    assert.equal(wrongName.handshakes, 0);
  });
});
