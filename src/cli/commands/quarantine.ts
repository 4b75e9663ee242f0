import type { QuarantineRecord } from "../../ledger/types.ts";
import { validQuarantineLimit } from "../../runtime/quarantine-admin.ts";
import { viaMonitorOr } from "./ledger-admin.ts";

type Quarantined = QuarantineRecord & { quarantinedAt: string };

/**
 * `txwatch quarantine`: the stream records set aside, newest first (REL-5), malformed ones and
 * those the ledger refused for good, each with its source, sequence number and reason. The
 * payload (card numbers masked) only with --json: it is evidence, not a listing.
 */
export async function quarantineCommand(options: {
  limit?: string;
  json?: boolean;
}): Promise<void> {
  const limit = validQuarantineLimit(options.limit ?? "50", "--limit");
  const { quarantined } = await viaMonitorOr<{ quarantined: Quarantined[] }>(
    { command: "quarantine-list", limit },
    async (ledger) => ({ quarantined: await ledger.listQuarantine(limit) }),
  );
  if (options.json) {
    process.stdout.write(`${JSON.stringify(quarantined)}\n`);
    return;
  }
  if (quarantined.length === 0) {
    process.stdout.write("no quarantined records\n");
    return;
  }
  for (const q of quarantined) {
    process.stdout.write(`${q.quarantinedAt}  ${q.source}  ${q.sequenceNumber}  ${q.reason}\n`);
  }
}
