import { Readable } from "node:stream";
import { S3Client } from "@aws-sdk/client-s3";

/**
 * No S3-compatible server is part of this machine's CI (s3rver is unmaintained; MinIO is not
 * packaged), and S3 is not faked here: the adapter runs through the real AWS SDK client, whose
 * whole middleware stack (serialisation, endpoint resolution, SigV4 signing, checksums,
 * deserialisation of S3's answers) is exercised; only the last hop, the HTTP request handler, is
 * replaced by one that records the request built and answers what S3 answers.
 */
export interface Captured {
  method: string;
  hostname: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body: Buffer;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string | Buffer };

async function bodyOf(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === "string" || Buffer.isBuffer(body) || body instanceof Uint8Array)
    return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export function recordingClient(answer: (req: Captured) => Answer): {
  client: S3Client;
  requests: Captured[];
} {
  const requests: Captured[] = [];
  const client = new S3Client({
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    requestHandler: {
      async handle(request: {
        method: string;
        hostname: string;
        path: string;
        query?: Record<string, unknown>;
        headers: Record<string, string>;
        body?: unknown;
      }) {
        const captured: Captured = {
          method: request.method,
          hostname: request.hostname,
          path: request.path,
          query: request.query ?? {},
          headers: request.headers,
          body: await bodyOf(request.body),
        };
        requests.push(captured);
        const a = answer(captured);
        const body = a.body === undefined ? Buffer.alloc(0) : Buffer.from(a.body);
        return {
          response: {
            statusCode: a.status,
            headers: { "content-length": String(body.length), ...a.headers },
            body: Readable.from([body]),
          },
        };
      },
    } as never,
  });
  return { client, requests };
}

export const NO_SUCH_KEY =
  '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>';

const XML = { "content-type": "application/xml" };

/**
 * What S3 answers to the requests of an upload (PutObject, or the multipart calls) and to GET
 * of a key never written (NoSuchKey): enough for putStream and archiveDay.
 */
export function s3Answers(req: Captured): Answer {
  if (req.method === "POST" && "uploads" in req.query) {
    return {
      status: 200,
      headers: XML,
      body: `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>${req.path.slice(1)}</Key><UploadId>upload-1</UploadId></InitiateMultipartUploadResult>`,
    };
  }
  if (req.method === "PUT" && req.query.partNumber !== undefined) {
    return { status: 200, headers: { etag: `"etag-${req.query.partNumber}"` } };
  }
  if (req.method === "POST" && req.query.uploadId !== undefined) {
    return {
      status: 200,
      headers: XML,
      body: `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>b</Bucket><Key>${req.path.slice(1)}</Key><ETag>"done"</ETag></CompleteMultipartUploadResult>`,
    };
  }
  if (req.method === "DELETE") return { status: 204 };
  if (req.method === "GET") return { status: 404, headers: XML, body: NO_SUCH_KEY };
  return { status: 200, headers: { etag: '"x"' } };
}

/** The S3 operation a request is, as S3 routes it (method and query). */
export function operation(req: Captured): string {
  const q = req.query;
  if (req.method === "POST" && "uploads" in q) return "CreateMultipartUpload";
  if (req.method === "POST" && "uploadId" in q) return "CompleteMultipartUpload";
  if (req.method === "PUT" && "partNumber" in q) return "UploadPart";
  if (req.method === "DELETE" && "uploadId" in q) return "AbortMultipartUpload";
  if (req.method === "PUT") return "PutObject";
  if (req.method === "GET" && q["list-type"] === "2") return "ListObjectsV2";
  return `${req.method === "GET" ? "GetObject" : req.method === "HEAD" ? "HeadObject" : req.method}`;
}
