import { createApiKey } from "../api/auth.ts";
import { type Config, loadConfig } from "../config.ts";
import { ValidationError } from "../errors.ts";
import type { SqlLedger } from "../ledger/index.ts";
import { APPLICATION_ROLE, ensureApplicationRole } from "../ledger/roles.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { transactionInputSchema } from "../transaction/schema.ts";
import { openConfiguredLedger } from "./aws-stores.ts";

/**
 * The owner step on AWS (AWS-3, AWS-6): a Lambda function deployed with the master user
 * (DB_USER=txwatch_admin, DB_AUTH=secret, DB_SECRET_ARN the RDS-managed secret), invoked by the
 * deployment before the service rolls and by operators with `aws lambda invoke`:
 *
 *   {"command":"migrate"}                          -> {"applied":[...],"role":"txwatch_app"}
 *   {"command":"create-key","merchantId":"m1"}     -> {"merchantId":"m1","apiKey":"txw_..."}
 *
 * The services never migrate: they connect as the application role, which owns nothing.
 */
export const ADMIN_COMMANDS = ["migrate", "create-key"] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

export interface AdminEvent {
  command?: unknown;
  merchantId?: unknown;
}

export type AdminResult =
  | { command: "migrate"; applied: string[]; role: string }
  | { command: "create-key"; merchantId: string; apiKey: string };

/** The merchant id rule of the API (transaction schema): 1-64 storable characters. */
function merchantIdOf(event: AdminEvent): string {
  const parsed = transactionInputSchema.shape.merchantId.safeParse(event.merchantId);
  if (!parsed.success) {
    const message =
      event.merchantId === undefined
        ? "merchantId is required"
        : (parsed.error.issues[0]?.message ?? "merchantId is invalid");
    throw new ValidationError("merchantId", message);
  }
  return parsed.data;
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
      // Returned once to the invoker, never logged: only its hash is stored.
      const apiKey = await createApiKey(ledger, merchantId);
      log?.info({ command, merchantId }, "API key created");
      return { command, merchantId, apiKey };
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
    if (command === "create-key") merchantIdOf(event);
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
