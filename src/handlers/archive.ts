import { type ArchiveEvent, runArchiveJob } from "../runtime/aws-archive.ts";

/** The daily ledger archive function (src/runtime/aws-archive.ts), run by EventBridge. */
export const handler = (event: ArchiveEvent) => runArchiveJob(event);
