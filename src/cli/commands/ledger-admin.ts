import { createApiKey } from "../../api/auth.ts";
import { loadConfig } from "../../config.ts";
import type { ChainVerification, Ledger } from "../../ledger/types.ts";
import { type AdminRequest, askRunningMonitor } from "../../runtime/admin-socket.ts";
import { openLedger } from "../../runtime/open.ts";

/** Opens the configured ledger for a one-off command and always closes it. */
export async function withLedger<T>(fn: (ledger: Ledger) => Promise<T>): Promise<T> {
  const { ledger, release } = await openLedger(loadConfig());
  try {
    return await fn(ledger);
  } finally {
    await ledger.close();
    release();
  }
}

/**
 * Runs an admin command in the running monitor when it owns the embedded ledger, otherwise
 * directly against the ledger.
 */
export async function viaMonitorOr<T>(
  req: AdminRequest,
  direct: (ledger: Ledger) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  if (config.DATABASE_URL === undefined) {
    const answered = await askRunningMonitor<T>(config.TXWATCH_DATA_DIR, req);
    if (answered !== undefined) return answered;
  }
  return withLedger(direct);
}

export async function migrateCommand(): Promise<void> {
  const applied = await withLedger((ledger) => ledger.migrate());
  process.stdout.write(
    applied.length === 0 ? "ledger is up to date\n" : `applied: ${applied.join(", ")}\n`,
  );
}

export async function keysCreateCommand(merchant: string): Promise<void> {
  if (!/^.{1,64}$/.test(merchant)) throw new Error("--merchant must be 1-64 characters");
  const { key } = await viaMonitorOr({ command: "keys-create", merchant }, async (ledger) => {
    await ledger.migrate();
    return { key: await createApiKey(ledger, merchant) };
  });
  process.stdout.write(`API key: ${key}\n`);
  process.stderr.write(`(merchant "${merchant}"; shown once: only its hash is stored)\n`);
}

/** Exit code 0 when the chain verifies, 1 when a row was altered (PRC-4). */
export async function verifyLedgerCommand(options: { json?: boolean }): Promise<number> {
  const result = await viaMonitorOr<ChainVerification>({ command: "verify-ledger" }, (ledger) =>
    ledger.verifyChain(),
  );
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (result.ok)
    process.stdout.write(`ledger verified: ${result.checked} rows, hash chain intact\n`);
  else {
    const bad = result.firstBad!;
    process.stdout.write(
      `ledger TAMPERED: row seq ${bad.seq} (${bad.merchantId}/${bad.transactionId}): ${bad.reason}; ${result.checked} rows checked\n`,
    );
  }
  return result.ok ? 0 : 1;
}
