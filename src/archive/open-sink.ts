import { directorySink } from "./directory-sink.ts";
import { parseS3Url, s3Sink } from "./s3-sink.ts";
import type { ArchiveSink } from "./sink.ts";

/** The CLI's `--to` / `--archive` argument: `s3://bucket[/prefix]` or a directory. */
export function openArchiveSink(target: string): ArchiveSink {
  const s3 = parseS3Url(target);
  return s3 === null ? directorySink(target) : s3Sink(s3);
}
