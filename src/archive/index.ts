export {
  type ArchiveDayOptions,
  type ArchiveDayResult,
  archiveDay,
  SETTLE_MS,
} from "./archive-day.ts";
export {
  type ArchivedDaySummary,
  ArchiveRunError,
  archivePendingDays,
  lastSettledDay,
  MAX_DAYS_PER_RUN,
  pendingDays,
} from "./archive-pending.ts";
export { directorySink } from "./directory-sink.ts";
export { archiveKeys, dayBounds, parseDay, previousUtcDay } from "./layout.ts";
export { type ArchivedRow, type ArchiveManifest, manifestSchema } from "./manifest.ts";
export { openArchiveSink } from "./open-sink.ts";
export { parseS3Url, s3Sink } from "./s3-sink.ts";
export type { ArchiveSink } from "./sink.ts";
export {
  type ArchiveVerification,
  archivedDays,
  type DayVerification,
  verifyArchive,
  verifyArchiveDay,
} from "./verify-archive.ts";
