import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { ArchiveSink } from "./sink.ts";

export interface S3SinkOptions {
  bucket: string;
  /** Keys are written under this prefix ("" or e.g. "restores/2026"); no leading "/". */
  prefix?: string;
  client?: S3Client;
  /**
   * Multipart upload of a streamed object: the part size (S3's minimum, 5 MiB, up to 5 GiB) and
   * how many parts are in flight at once. At most about partSize × (queueSize + 1) bytes of the
   * object are in memory at any time: 8 MiB × 5 = 40 MiB by default, whatever the object's size
   * (10,000 parts of 8 MiB: objects up to ~78 GiB).
   */
  partSize?: number;
  queueSize?: number;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_QUEUE_SIZE = 4;

function notFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return (
    error.name === "NotFound" ||
    error.name === "NoSuchKey" ||
    error.$metadata.httpStatusCode === 404
  );
}

/**
 * The archive in an S3 bucket (the processed-transactions bucket). The bucket's own encryption
 * settings apply (infra/ sets a KMS key as its default); nothing here overrides them.
 */
export function s3Sink({
  bucket,
  prefix = "",
  client = new S3Client({}),
  partSize = DEFAULT_PART_SIZE,
  queueSize = DEFAULT_QUEUE_SIZE,
}: S3SinkOptions): ArchiveSink {
  const base = prefix.replace(/^\/+|\/+$/g, "");
  const keyOf = (key: string) => (base === "" ? key : `${base}/${key}`);
  return {
    describe: `s3://${bucket}${base === "" ? "" : `/${base}`}`,
    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keyOf(key) }));
        return true;
      } catch (error) {
        if (notFound(error)) return false;
        throw error;
      }
    },
    async put(key, body, contentType) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: keyOf(key),
          Body: body,
          ContentType: contentType,
          ContentLength: body.length,
        }),
      );
    },
    async putStream(key, body, contentType) {
      // lib-storage reads the stream a part at a time: one PutObject when the whole object fits
      // in the first part, else a multipart upload (CreateMultipartUpload, UploadPart...,
      // CompleteMultipartUpload), aborted when a part or the stream fails: the object appears
      // under its key only complete.
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: keyOf(key), Body: body, ContentType: contentType },
        partSize,
        queueSize,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        body.destroy();
        throw error;
      }
    },
    async get(key) {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(key) }));
        if (answer.Body === undefined) return Buffer.alloc(0);
        return Buffer.from(await answer.Body.transformToByteArray());
      } catch (error) {
        if (notFound(error)) return null;
        throw error;
      }
    },
    async list(listPrefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: keyOf(listPrefix),
            ...(token !== undefined && { ContinuationToken: token }),
          }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key !== undefined)
            keys.push(base === "" ? object.Key : object.Key.slice(base.length + 1));
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys.sort();
    },
  };
}

/** `s3://bucket/prefix` → an S3 sink; anything else is a directory path. */
export function parseS3Url(target: string): { bucket: string; prefix: string } | null {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(target);
  if (match === null) return null;
  return { bucket: match[1]!, prefix: match[2]!.replace(/\/+$/, "") };
}
