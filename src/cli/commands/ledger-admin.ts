import { loadConfig } from "../../config.ts";
import type { ApiKeyInfo, ChainVerification, Ledger } from "../../ledger/types.ts";
import { type AdminRequest, askRunningMonitor } from "../../runtime/admin-socket.ts";
import {
  type CreatedKey,
  createKey,
  EXPIRES_IN,
  GRACE,
  type RevokedKey,
  type RotatedKeys,
  revokeKey,
  rotateKeys,
  validDuration,
  validKeyId,
  validMerchantId,
} from "../../runtime/key-admin.ts";
import { openLedger } from "../../runtime/open.ts";

/** Opens the configured ledger for a one-off command and always closes it. */
export async function withLedger<T>(fn: (ledger: Ledger) => Promise<T>): Promise<T> {
  const { ledger, release } = await openLedger(loadConfig(), undefined, "command");
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

/** The CLI's key options, validated here before anything is stored or sent (SEC-8). */
export interface KeysOptions {
  merchant?: string;
  id?: string;
  expiresIn?: string;
  grace?: string;
  json?: boolean;
}

function optionalMs(value: string | undefined, field: string, bounds: typeof EXPIRES_IN) {
  return value === undefined ? undefined : validDuration(value, field, bounds);
}

function write(line: string): void {
  process.stdout.write(`${line}\n`);
}

export async function keysCreateCommand(options: KeysOptions): Promise<void> {
  const merchant = validMerchantId(options.merchant, "--merchant");
  const expiresInMs = optionalMs(options.expiresIn, "--expires-in", EXPIRES_IN);
  const created = await viaMonitorOr<CreatedKey>(
    {
      command: "keys-create",
      merchant,
      ...(options.expiresIn !== undefined && { expiresIn: options.expiresIn }),
    },
    async (ledger) => {
      await ledger.migrate();
      return createKey(ledger, {
        merchantId: merchant,
        actor: "cli",
        ...(expiresInMs !== undefined && { expiresInMs }),
      });
    },
  );
  write(`API key: ${created.key}`);
  process.stderr.write(
    `(merchant "${merchant}", key id ${created.id}, ${created.expiresAt === null ? "does not expire" : `expires ${created.expiresAt}`}; shown once: only its hash is stored)\n`,
  );
}

/** id, created, expiry, revocation and state; never the key or its hash (not stored anyway). */
export async function keysListCommand(options: KeysOptions): Promise<void> {
  const merchant = validMerchantId(options.merchant, "--merchant");
  const { keys } = await viaMonitorOr<{ keys: ApiKeyInfo[] }>(
    { command: "keys-list", merchant },
    async (ledger) => {
      await ledger.migrate();
      return { keys: await ledger.listApiKeys(merchant) };
    },
  );
  if (options.json) return write(JSON.stringify(keys));
  if (keys.length === 0) return write(`no API keys for merchant "${merchant}"`);
  const now = Date.now();
  const rows = [
    ["ID", "CREATED", "EXPIRES", "REVOKED", "STATE"],
    ...keys.map((k) => [
      k.id,
      k.createdAt,
      k.expiresAt ?? "never",
      k.revokedAt ?? "-",
      k.active
        ? k.revokedAt !== null
          ? "active (rotated: revoked at the time shown)"
          : "active"
        : k.revokedAt !== null && Date.parse(k.revokedAt) <= now
          ? "revoked"
          : "expired",
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows)
    write(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
}

export async function keysRevokeCommand(options: KeysOptions): Promise<void> {
  const id = validKeyId(options.id, "--id");
  const result = await viaMonitorOr<RevokedKey>({ command: "keys-revoke", id }, async (ledger) => {
    await ledger.migrate();
    return revokeKey(ledger, id, "cli", "--id");
  });
  if (options.json) return write(JSON.stringify(result));
  write(
    result.revoked
      ? `revoked key ${id} of merchant "${result.key.merchantId}" (refused by running monitors within seconds)`
      : `key ${id} of merchant "${result.key.merchantId}" was already revoked at ${result.key.revokedAt}`,
  );
}

export async function keysRotateCommand(options: KeysOptions): Promise<void> {
  const merchant = validMerchantId(options.merchant, "--merchant");
  const expiresInMs = optionalMs(options.expiresIn, "--expires-in", EXPIRES_IN);
  const graceMs = optionalMs(options.grace, "--grace", GRACE);
  const rotated = await viaMonitorOr<RotatedKeys>(
    {
      command: "keys-rotate",
      merchant,
      ...(options.expiresIn !== undefined && { expiresIn: options.expiresIn }),
      ...(options.grace !== undefined && { grace: options.grace }),
    },
    async (ledger) => {
      await ledger.migrate();
      return rotateKeys(ledger, {
        merchantId: merchant,
        actor: "cli",
        ...(expiresInMs !== undefined && { expiresInMs }),
        ...(graceMs !== undefined && { graceMs }),
      });
    },
  );
  write(`API key: ${rotated.key}`);
  const replaced =
    rotated.rotated.length === 0
      ? "no earlier key to replace"
      : rotated.rotated.map((k) => `key ${k.id} works until ${k.revokedAt}`).join("; ");
  process.stderr.write(
    `(merchant "${merchant}", new key id ${rotated.id}, ${rotated.expiresAt === null ? "does not expire" : `expires ${rotated.expiresAt}`}; ${replaced}; shown once: only its hash is stored)\n`,
  );
}

/** Exit code 0 when every chain and checkpoint verifies, 1 when anything was altered (PRC-4, SCL-3). */
export async function verifyLedgerCommand(options: { json?: boolean }): Promise<number> {
  const result = await viaMonitorOr<ChainVerification>({ command: "verify-ledger" }, (ledger) =>
    ledger.verifyChain(),
  );
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : verificationReport(result));
  return result.ok ? 0 : 1;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * What verify-ledger prints: the verdict on the first line (what was wrong first, when
 * anything was), then one line per chain and one for the checkpoints.
 */
export function verificationReport(result: ChainVerification): string {
  const { chains, checkpoints } = result;
  const lines: string[] = [];
  const summary = `${plural(result.checked, "row")} on ${plural(chains.length, "chain")}, ${plural(checkpoints.checked, "checkpoint")}`;
  if (result.ok) {
    lines.push(`ledger verified: ${summary}, hash chains intact`);
  } else {
    const bad = result.firstBad;
    const broken = chains.find((c) => c.problem !== undefined);
    const first =
      bad !== undefined
        ? `chain ${bad.chain}, ${bad.seq === null ? "missing row" : `row seq ${bad.seq}`} (${bad.merchantId}/${bad.transactionId}): ${bad.reason}`
        : broken !== undefined
          ? `chain ${broken.chain}: ${broken.problem}`
          : `checkpoint ${checkpoints.firstBad?.id}: ${checkpoints.firstBad?.reason}`;
    lines.push(`ledger TAMPERED: ${first}; ${summary} checked`);
  }
  for (const chain of chains) {
    const head = chain.headSeq === null ? "no row" : `head seq ${chain.headSeq}`;
    lines.push(
      `  chain ${chain.chain}: ${plural(chain.rows, "row")}, ${head}${chain.problem === undefined ? "" : `; BROKEN: ${chain.problem}`}`,
    );
  }
  const last = checkpoints.last;
  const latest =
    last === null
      ? "none yet"
      : `${plural(checkpoints.checked, "checkpoint")}, the last #${last.id} at ${last.createdAt} covering ${plural(last.chains, "chain")}`;
  const badCheckpoint = checkpoints.firstBad;
  lines.push(
    `  checkpoints: ${latest}${badCheckpoint === undefined ? "" : `; BROKEN at #${badCheckpoint.id}: ${badCheckpoint.reason}`}`,
  );
  return `${lines.join("\n")}\n`;
}
