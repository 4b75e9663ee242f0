import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { archiveKeys } from "../../src/archive/layout.ts";
import { openArchiveSink } from "../../src/archive/open-sink.ts";
import { parseS3Url, s3Sink } from "../../src/archive/s3-sink.ts";
import {
  type Answer,
  type Captured,
  NO_SUCH_KEY,
  operation,
  recordingClient,
  s3Answers,
} from "./s3-recorder.ts";

describe("S3 archive sink through the AWS SDK's middleware stack", () => {
  test("AWS-6 put writes the day's objects under ledger-archive/<yyyy>/<mm>/<dd>/ in the bucket, signed, with their content type", async () => {
    const { client, requests } = recordingClient(() => ({ status: 200, headers: { etag: '"x"' } }));
    const sink = s3Sink({ bucket: "finserv-processed-transactions", prefix: "restores/", client });
    const keys = archiveKeys("2026-12-01");
    const body = Buffer.from('{"rows":0}\n');
    await sink.put(keys.manifest, body, "application/json");
    await sink.put(keys.data, Buffer.from([0x1f, 0x8b]), "application/gzip");
    assert.equal(requests.length, 2);
    const [manifest, data] = requests as [Captured, Captured];
    assert.equal(manifest.method, "PUT");
    assert.equal(manifest.hostname, "finserv-processed-transactions.s3.eu-west-1.amazonaws.com");
    assert.equal(manifest.path, "/restores/ledger-archive/2026/12/01/manifest.json");
    assert.equal(manifest.headers["content-type"], "application/json");
    assert.equal(manifest.headers["content-length"], String(body.length));
    assert.match(
      manifest.headers.authorization ?? "",
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request/,
    );
    assert.deepEqual(manifest.body, body);
    assert.equal(data.path, "/restores/ledger-archive/2026/12/01/transactions.ndjson.gz");
    assert.equal(data.headers["content-type"], "application/gzip");
    // No server-side encryption header: the bucket's default (KMS, set by infra/) applies.
    assert.equal(manifest.headers["x-amz-server-side-encryption"], undefined);
  });

  test("AWS-6 exists is a HEAD: 200 is true, 404 is false, any other error is thrown", async () => {
    let status = 200;
    const { client, requests } = recordingClient(() => ({ status }));
    const sink = s3Sink({ bucket: "archive-bucket", client });
    assert.equal(await sink.exists("ledger-archive/2026/12/01/manifest.json"), true);
    assert.equal(requests[0]!.method, "HEAD");
    assert.equal(requests[0]!.path, "/ledger-archive/2026/12/01/manifest.json");
    status = 404;
    assert.equal(await sink.exists("ledger-archive/2026/12/01/manifest.json"), false);
    status = 403;
    await assert.rejects(sink.exists("ledger-archive/2026/12/01/manifest.json"));
  });

  test("AWS-6 get returns the object's bytes, null for NoSuchKey", async () => {
    let answer: Answer = { status: 200, body: Buffer.from([1, 2, 3]) };
    const { client, requests } = recordingClient(() => answer);
    const sink = s3Sink({ bucket: "archive-bucket", prefix: "p", client });
    assert.deepEqual(
      await sink.get("ledger-archive/2026/12/01/transactions.ndjson.gz"),
      Buffer.from([1, 2, 3]),
    );
    assert.equal(requests[0]!.method, "GET");
    assert.equal(requests[0]!.path, "/p/ledger-archive/2026/12/01/transactions.ndjson.gz");
    answer = { status: 404, headers: { "content-type": "application/xml" }, body: NO_SUCH_KEY };
    assert.equal(await sink.get("ledger-archive/2026/12/02/manifest.json"), null);
  });

  test("AWS-6 list pages through ListObjectsV2 under the prefix and answers keys relative to it", async () => {
    const page = (keys: string[], next?: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>archive-bucket</Name><Prefix>p/ledger-archive/</Prefix><KeyCount>${keys.length}</KeyCount><IsTruncated>${next !== undefined}</IsTruncated>${next === undefined ? "" : `<NextContinuationToken>${next}</NextContinuationToken>`}${keys.map((k) => `<Contents><Key>${k}</Key></Contents>`).join("")}</ListBucketResult>`;
    const { client, requests } = recordingClient((req) => ({
      status: 200,
      headers: { "content-type": "application/xml" },
      body:
        req.query["continuation-token"] === undefined
          ? page(["p/ledger-archive/2026/12/02/manifest.json"], "t1")
          : page(["p/ledger-archive/2026/12/01/manifest.json"]),
    }));
    const sink = s3Sink({ bucket: "archive-bucket", prefix: "p", client });
    assert.deepEqual(await sink.list("ledger-archive/"), [
      "ledger-archive/2026/12/01/manifest.json",
      "ledger-archive/2026/12/02/manifest.json",
    ]);
    assert.equal(requests.length, 2);
    assert.equal(requests[0]!.query["list-type"], "2");
    assert.equal(requests[0]!.query.prefix, "p/ledger-archive/");
    assert.equal(requests[1]!.query["continuation-token"], "t1");
  });

  test("AWS-6 putStream uploads a stream larger than a part as a multipart upload (5 MiB parts, lib-storage's minimum), reading the stream as the parts go", async () => {
    const MiB = 1024 * 1024;
    const data = randomBytes(11 * MiB + 12_345);
    let produced = 0;
    const producedAtRequest: number[] = [];
    const { client, requests } = recordingClient((req) => {
      producedAtRequest.push(produced);
      return s3Answers(req);
    });
    async function* chunks() {
      for (let at = 0; at < data.length; at += 64 * 1024) {
        const chunk = data.subarray(at, at + 64 * 1024);
        produced += chunk.length;
        yield chunk;
      }
    }
    const sink = s3Sink({
      bucket: "archive-bucket",
      prefix: "p",
      client,
      partSize: 5 * MiB,
      queueSize: 1,
    });
    const key = archiveKeys("2026-12-01").data;
    await sink.putStream(key, Readable.from(chunks()), "application/gzip");

    assert.deepEqual(requests.map(operation), [
      "CreateMultipartUpload",
      "UploadPart",
      "UploadPart",
      "UploadPart",
      "CompleteMultipartUpload",
    ]);
    for (const r of requests) assert.equal(r.path, `/p/${key}`);
    assert.equal(requests[0]!.headers["content-type"], "application/gzip");
    const parts = requests.slice(1, 4);
    assert.deepEqual(
      parts.map((r) => [r.query.partNumber, r.query.uploadId, r.body.length]),
      [
        ["1", "upload-1", 5 * MiB],
        ["2", "upload-1", 5 * MiB],
        ["3", "upload-1", MiB + 12_345],
      ],
    );
    assert.deepEqual(Buffer.concat(parts.map((r) => r.body)), data);
    // The complete call lists every part with the ETag S3 gave it.
    const complete = requests[4]!.body.toString("utf8");
    for (const n of [1, 2, 3]) {
      assert.match(
        complete,
        new RegExp(`<ETag>&quot;etag-${n}&quot;</ETag><PartNumber>${n}</PartNumber>`),
      );
    }
    // Streamed: when the first part went out, one part had been read (plus the stream's own
    // read-ahead, 16 chunks at most), not the 11 MiB.
    assert.ok(producedAtRequest[1]! <= 6 * MiB + 64 * 1024, String(producedAtRequest[1]));
    assert.ok(producedAtRequest[1]! < data.length);
  });

  test("AWS-6 putStream of a stream smaller than a part is one PutObject with its content type", async () => {
    const { client, requests } = recordingClient(s3Answers);
    const sink = s3Sink({ bucket: "archive-bucket", client });
    const key = archiveKeys("2026-12-01").data;
    await sink.putStream(
      key,
      Readable.from([Buffer.from([0x1f, 0x8b]), Buffer.from("rest")]),
      "application/gzip",
    );
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.method, "PUT");
    assert.equal(requests[0]!.path, `/${key}`);
    assert.equal(operation(requests[0]!), "PutObject");
    assert.equal(requests[0]!.headers["content-type"], "application/gzip");
    assert.deepEqual(
      requests[0]!.body,
      Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from("rest")]),
    );
  });

  test("AWS-6 putStream of a stream that fails after a part aborts the multipart upload: nothing is completed", async () => {
    const MiB = 1024 * 1024;
    const { client, requests } = recordingClient(s3Answers);
    async function* failing() {
      for (let i = 0; i < 7; i++) yield randomBytes(MiB);
      throw new Error("ledger row 42 does not match the hash chain");
    }
    const sink = s3Sink({ bucket: "archive-bucket", client, partSize: 5 * MiB, queueSize: 1 });
    await assert.rejects(
      sink.putStream(archiveKeys("2026-12-01").data, Readable.from(failing()), "application/gzip"),
      /hash chain/,
    );
    assert.deepEqual(requests.map(operation), [
      "CreateMultipartUpload",
      "UploadPart",
      "AbortMultipartUpload",
    ]);
    assert.equal(requests.at(-1)!.query.uploadId, "upload-1");
  });

  test("AWS-6 s3://bucket/prefix opens an S3 sink, anything else a directory", () => {
    assert.deepEqual(parseS3Url("s3://my-bucket"), { bucket: "my-bucket", prefix: "" });
    assert.deepEqual(parseS3Url("s3://my-bucket/a/b/"), { bucket: "my-bucket", prefix: "a/b" });
    assert.equal(parseS3Url("/tmp/archive"), null);
    assert.equal(openArchiveSink("s3://my-bucket/a").describe, "s3://my-bucket/a");
    assert.match(openArchiveSink("./archive").describe, /\/archive$/);
  });
});
