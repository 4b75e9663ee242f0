import { archiveDay } from "../../archive/archive-day.ts";
import { parseDay } from "../../archive/layout.ts";
import { openArchiveSink } from "../../archive/open-sink.ts";
import { verifyArchive } from "../../archive/verify-archive.ts";
import { loadConfig } from "../../config.ts";
import type { SqlLedger } from "../../ledger/index.ts";
import { openLedger } from "../../runtime/open.ts";

/** Opens the configured ledger (PostgreSQL, or the embedded one when no monitor holds it). */
async function withSqlLedger<T>(fn: (ledger: SqlLedger) => Promise<T>): Promise<T> {
  const { ledger, release } = await openLedger(loadConfig(), undefined, "command");
  try {
    return await fn(ledger);
  } finally {
    await ledger.close();
    release();
  }
}

/** `txwatch archive --day D --to <dir|s3://bucket[/prefix]>` (AWS-6). */
export async function archiveCommand(options: { day: string; to: string }): Promise<number> {
  const day = parseDay(options.day, "--day");
  const sink = openArchiveSink(options.to);
  const result = await withSqlLedger((ledger) => archiveDay(ledger, day, sink));
  // Chain 0 ("ledger") as the ledger's only chain was shown; others that had rows, by name.
  const runs = result.manifest.chains
    .filter((c) => c.chainId === "ledger" || c.count > 0)
    .map(
      (c) =>
        `${c.chainId === "ledger" ? "" : `${c.chainId} `}seq ${c.firstSeq ?? "-"}..${c.headSeq}, head ${c.headHash}`,
    );
  process.stdout.write(
    result.skipped
      ? `${day} already archived in ${sink.describe} (${result.rows} rows): nothing written\n`
      : `${day} archived to ${sink.describe}: ${result.rows} rows, ${runs.join("; ")}\n`,
  );
  return 0;
}

/**
 * `txwatch verify-ledger --archive <dir|s3://...> [--day D] [--against-ledger]`: 0 when every
 * archived day checked is sound, 1 (printing every problem) otherwise.
 */
export async function verifyArchiveCommand(options: {
  archive: string;
  day?: string;
  againstLedger?: boolean;
  json?: boolean;
}): Promise<number> {
  const day = options.day === undefined ? undefined : parseDay(options.day, "--day");
  const source = openArchiveSink(options.archive);
  const result = options.againstLedger
    ? await withSqlLedger((ledger) => verifyArchive(source, day, { ledger }))
    : await verifyArchive(source, day);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else if (result.ok) {
    const days = result.days.map((d) => d.day);
    const span = days.length === 1 ? days[0] : `${days.length} days (${days[0]} .. ${days.at(-1)})`;
    process.stdout.write(
      `archive verified: ${span}, ${result.rows} rows, hash chain intact${options.againstLedger ? " and equal to the ledger" : ""}\n`,
    );
  } else {
    process.stdout.write(
      `archive INVALID (${source.describe}): ${result.problems.length} problem(s)\n`,
    );
    for (const problem of result.problems) process.stdout.write(`  ${problem}\n`);
  }
  return result.ok ? 0 : 1;
}
