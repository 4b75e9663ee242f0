import { type Config, loadConfig } from "../config.ts";
import { ValidationError } from "../errors.ts";
import type { SqlLedger } from "../ledger/index.ts";
import { APPLICATION_ROLE, ensureApplicationRole } from "../ledger/roles.ts";
import type { ApiKeyInfo } from "../ledger/types.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { openConfiguredLedger } from "./aws-stores.ts";
import {
  createKey,
  EXPIRES_IN,
  GRACE,
  revokeKey,
  rotateKeys,
  validDuration,
  validKeyId,
  validMerchantId,
} from "./key-admin.ts";

/**
 * The owner step on AWS (AWS-3, AWS-6): a Lambda function deployed with the master user
 * (DB_USER=txwatch_admin, DB_AUTH=secret, DB_SECRET_ARN the RDS-managed secret), invoked by the
 * deployment before the service rolls and by operators with `aws lambda invoke`:
 *
 *   {"command":"migrate"}                          -> {"applied":[...],"role":"txwatch_app"}
 *   {"command":"create-key","merchantId":"m1","expiresIn":"30d"}
 *                                  -> {"merchantId":"m1","keyId":"7","apiKey":"txw_...","expiresAt":...}
 *   {"command":"list-keys","merchantId":"m1"}     -> {"merchantId":"m1","keys":[{id,createdAt,...}]}
 *   {"command":"revoke-key","keyId":"7"}          -> {"revoked":true,"key":{id,merchantId,...}}
 *   {"command":"rotate-key","merchantId":"m1","expiresIn":"30d","grace":"24h"}
 *                                  -> {"merchantId":"m1","keyId":"8","apiKey":"txw_...","rotated":[...]}
 *
 * Keys are returned once to the invoker and never logged; every key event is audited with the
 * actor "aws-admin" (SEC-7). The services never migrate: they connect as the application role,
 * which owns nothing.
 */
export const ADMIN_COMMANDS = [
  "migrate",
  "create-key",
  "list-keys",
  "revoke-key",
  "rotate-key",
] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

export interface AdminEvent {
  command?: unknown;
  merchantId?: unknown;
  keyId?: unknown;
  expiresIn?: unknown;
  grace?: unknown;
}

export type AdminResult =
  | { command: "migrate"; applied: string[]; role: string }
  | {
      command: "create-key";
      merchantId: string;
      keyId: string;
      apiKey: string;
      expiresAt: string | null;
    }
  | { command: "list-keys"; merchantId: string; keys: ApiKeyInfo[] }
  | { command: "revoke-key"; revoked: boolean; key: ApiKeyInfo }
  | {
      command: "rotate-key";
      merchantId: string;
      keyId: string;
      apiKey: string;
      expiresAt: string | null;
      rotated: ApiKeyInfo[];
    };

/** The merchant id rule of the API (transaction schema): 1-64 storable characters. */
function merchantIdOf(event: AdminEvent): string {
  return validMerchantId(event.merchantId, "merchantId");
}

function optionalMs(value: unknown, field: string, bounds: typeof EXPIRES_IN): number | undefined {
  return value === undefined ? undefined : validDuration(value, field, bounds);
}

/** Everything an event carries, validated before the handler connects to anything. */
function validateEvent(command: AdminCommand, event: AdminEvent): void {
  if (command === "create-key" || command === "list-keys" || command === "rotate-key")
    merchantIdOf(event);
  if (command === "create-key" || command === "rotate-key")
    optionalMs(event.expiresIn, "expiresIn", EXPIRES_IN);
  if (command === "rotate-key") optionalMs(event.grace, "grace", GRACE);
  if (command === "revoke-key") validKeyId(event.keyId, "keyId");
}

function commandOf(event: AdminEvent): AdminCommand {
  const command = event?.command;
  if (typeof command === "string" && (ADMIN_COMMANDS as readonly string[]).includes(command)) {
    return command as AdminCommand;
  }
  throw new ValidationError(
    "command",
    `unknown command ${JSON.stringify(command) ?? "(none)"}; allowed: ${ADMIN_COMMANDS.join(", ")}`,
  );
}

/** Runs one admin command against an open ledger (as its owner). */
export async function runAdminCommand(
  ledger: SqlLedger,
  event: AdminEvent,
  log?: Logger,
): Promise<AdminResult> {
  const command = commandOf(event);
  switch (command) {
    case "migrate": {
      const applied = await ledger.migrate();
      await ensureApplicationRole(ledger.db, { role: APPLICATION_ROLE, iamAuth: true });
      log?.info({ command, applied, role: APPLICATION_ROLE }, "ledger migrated");
      return { command, applied, role: APPLICATION_ROLE };
    }
    case "create-key": {
      const merchantId = merchantIdOf(event);
      const expiresInMs = optionalMs(event.expiresIn, "expiresIn", EXPIRES_IN);
      // Returned once to the invoker, never logged: only its hash is stored.
      const created = await createKey(ledger, {
        merchantId,
        actor: "aws-admin",
        ...(expiresInMs !== undefined && { expiresInMs }),
      });
      log?.info(
        { command, merchantId, keyId: created.id, expiresAt: created.expiresAt },
        "API key created",
      );
      return {
        command,
        merchantId,
        keyId: created.id,
        apiKey: created.key,
        expiresAt: created.expiresAt,
      };
    }
    case "list-keys": {
      const merchantId = merchantIdOf(event);
      return { command, merchantId, keys: await ledger.listApiKeys(merchantId) };
    }
    case "revoke-key": {
      const keyId = validKeyId(event.keyId, "keyId");
      const { revoked, key } = await revokeKey(ledger, keyId, "aws-admin", "keyId");
      log?.info({ command, keyId, merchantId: key.merchantId, revoked }, "API key revoked");
      return { command, revoked, key };
    }
    case "rotate-key": {
      const merchantId = merchantIdOf(event);
      const expiresInMs = optionalMs(event.expiresIn, "expiresIn", EXPIRES_IN);
      const graceMs = optionalMs(event.grace, "grace", GRACE);
      const rotated = await rotateKeys(ledger, {
        merchantId,
        actor: "aws-admin",
        ...(expiresInMs !== undefined && { expiresInMs }),
        ...(graceMs !== undefined && { graceMs }),
      });
      log?.info(
        {
          command,
          merchantId,
          keyId: rotated.id,
          rotated: rotated.rotated.map((k) => ({ id: k.id, revokesAt: k.revokedAt })),
        },
        "API key rotated",
      );
      return {
        command,
        merchantId,
        keyId: rotated.id,
        apiKey: rotated.key,
        expiresAt: rotated.expiresAt,
        rotated: rotated.rotated,
      };
    }
  }
}

export interface AdminHandlerOptions {
  /** @default loadConfig(process.env), read at each invocation */
  config?: () => Config;
  /** @default a JSON logger on stdout at LOG_LEVEL */
  log?: Logger;
}

/**
 * The Lambda entry: validates the event before connecting, then opens the ledger as the
 * configured user (the owner), runs the command and closes it. An invalid event or a failure
 * throws, so `aws lambda invoke` reports a FunctionError and the deployment's invocation fails.
 */
export function adminHandler(
  options: AdminHandlerOptions = {},
): (event: AdminEvent) => Promise<AdminResult> {
  return async (event) => {
    const command = commandOf(event);
    validateEvent(command, event);
    const config = options.config?.() ?? loadConfig(process.env);
    const log = options.log ?? createLogger(config.LOG_LEVEL);
    const ledger = await openConfiguredLedger(config);
    try {
      return await runAdminCommand(ledger, event, log);
    } catch (error) {
      log.error({ command, err: (error as Error).message }, "admin command failed");
      throw error;
    } finally {
      await ledger.close();
    }
  };
}
