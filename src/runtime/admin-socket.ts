import { chmodSync, existsSync, rmSync } from "node:fs";
import { createServer, request, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { ApiError, ValidationError } from "../errors.ts";
import type { Ledger } from "../ledger/types.ts";
import { type BacktestOptions, backtest } from "../replay/backtest.ts";
import { loadRuleset } from "../rules/index.ts";
import { containsCardNumber } from "../transaction/card-number.ts";
import { isRfc3339WithOffset } from "../transaction/schema.ts";
import { FieldError } from "../validation.ts";
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
import { validQuarantineLimit } from "./quarantine-admin.ts";

/**
 * The embedded ledger has one owner: the running `txwatch start`. So that `txwatch keys ...`,
 * `verify-ledger` and `replay` still work beside it, the monitor answers them on a Unix socket
 * in the data directory. The socket is mode 0600 in a 0700 directory: whoever may read the
 * ledger files may ask; nobody else can connect. What it is asked to store is validated as the
 * API validates it (SEC-8): merchant ids by the transaction schema's rule, no card number, a
 * bounded body, known commands and fields only.
 */
export type AdminRequest =
  | { command: "keys-create"; merchant: string; expiresIn?: string }
  | { command: "keys-list"; merchant: string }
  | { command: "keys-revoke"; id: string }
  | { command: "keys-rotate"; merchant: string; expiresIn?: string; grace?: string }
  | { command: "verify-ledger" }
  | { command: "quarantine-list"; limit: number }
  | { command: "replay"; ruleset: string; options: BacktestOptions };

/** The commands, each with the fields it accepts (besides `command`). */
const FIELDS = {
  "keys-create": ["merchant", "expiresIn"],
  "keys-list": ["merchant"],
  "keys-revoke": ["id"],
  "keys-rotate": ["merchant", "expiresIn", "grace"],
  "verify-ledger": [],
  "quarantine-list": ["limit"],
  replay: ["ruleset", "options"],
} as const satisfies Record<AdminRequest["command"], readonly string[]>;

export const ADMIN_SOCKET_COMMANDS = Object.keys(FIELDS) as AdminRequest["command"][];

/** Far above any request the CLI sends (a ruleset path and a period). */
export const ADMIN_SOCKET_MAX_BODY = 64 * 1024;

export function adminSocketPath(dataDir: string): string {
  return join(dataDir, "admin.sock");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function commandOf(body: Record<string, unknown>): AdminRequest["command"] {
  const command = body.command;
  if (typeof command === "string" && Object.hasOwn(FIELDS, command))
    return command as AdminRequest["command"];
  const named =
    typeof command === "string" && command.length <= 64 && !containsCardNumber(command)
      ? JSON.stringify(command)
      : command === undefined
        ? "(none)"
        : "given";
  throw new ValidationError(
    "command",
    `unknown command ${named}; allowed: ${ADMIN_SOCKET_COMMANDS.join(", ")}`,
  );
}

function optionalDuration(
  value: unknown,
  field: string,
  bounds: Parameters<typeof validDuration>[2],
): string | undefined {
  if (value === undefined) return undefined;
  validDuration(value, field, bounds);
  return value as string;
}

/** Validates a request as it came off the socket (parsed JSON of unknown shape). */
export function parseAdminRequest(body: unknown): AdminRequest {
  if (!isObject(body)) throw new ValidationError(undefined, "the request must be a JSON object");
  const command = commandOf(body);
  const allowed: readonly string[] = FIELDS[command];
  for (const field of Object.keys(body)) {
    if (field !== "command" && !allowed.includes(field))
      throw new ValidationError(
        field.length <= 64 && !containsCardNumber(field) ? field : undefined,
        `${command} does not take that field; it takes: ${allowed.join(", ") || "nothing"}`,
      );
  }
  switch (command) {
    case "keys-create":
    case "keys-rotate": {
      const merchant = validMerchantId(body.merchant, "merchant");
      const expiresIn = optionalDuration(body.expiresIn, "expiresIn", EXPIRES_IN);
      const grace =
        command === "keys-rotate" ? optionalDuration(body.grace, "grace", GRACE) : undefined;
      return {
        command,
        merchant,
        ...(expiresIn !== undefined && { expiresIn }),
        ...(grace !== undefined && { grace }),
      };
    }
    case "keys-list":
      return { command, merchant: validMerchantId(body.merchant, "merchant") };
    case "keys-revoke":
      return { command, id: validKeyId(body.id, "id") };
    case "verify-ledger":
      return { command };
    case "quarantine-list":
      return { command, limit: validQuarantineLimit(body.limit, "limit") };
    case "replay": {
      const ruleset = body.ruleset;
      if (typeof ruleset !== "string" || ruleset.length === 0 || ruleset.length > 4096)
        throw new ValidationError("ruleset", "ruleset must be a file path of 1-4096 characters");
      const options = body.options;
      if (!isObject(options)) throw new ValidationError("options", "options must be an object");
      for (const field of ["from", "to"] as const) {
        const value = options[field];
        if (typeof value !== "string" || !isRfc3339WithOffset(value))
          throw new ValidationError(
            `options.${field}`,
            `options.${field} must be an RFC 3339 timestamp with offset`,
          );
      }
      for (const field of Object.keys(options)) {
        if (!["from", "to", "merchantId"].includes(field))
          throw new ValidationError(undefined, "replay options take only: from, to, merchantId");
      }
      return {
        command,
        ruleset,
        options: {
          from: options.from as string,
          to: options.to as string,
          ...(options.merchantId !== undefined && {
            merchantId: validMerchantId(options.merchantId, "options.merchantId"),
          }),
        },
      };
    }
  }
}

function durationOf(value: string | undefined, bounds: Parameters<typeof validDuration>[2]) {
  return value === undefined ? undefined : validDuration(value, "", bounds);
}

async function answer(ledger: Ledger, req: AdminRequest): Promise<unknown> {
  const actor = "admin-socket";
  switch (req.command) {
    case "keys-create": {
      const expiresInMs = durationOf(req.expiresIn, EXPIRES_IN);
      return createKey(ledger, {
        merchantId: req.merchant,
        actor,
        ...(expiresInMs !== undefined && { expiresInMs }),
      });
    }
    case "keys-list":
      return { keys: await ledger.listApiKeys(req.merchant) };
    case "keys-revoke":
      return revokeKey(ledger, req.id, actor, "id");
    case "keys-rotate": {
      const expiresInMs = durationOf(req.expiresIn, EXPIRES_IN);
      const graceMs = durationOf(req.grace, GRACE);
      return rotateKeys(ledger, {
        merchantId: req.merchant,
        actor,
        ...(expiresInMs !== undefined && { expiresInMs }),
        ...(graceMs !== undefined && { graceMs }),
      });
    }
    case "verify-ledger":
      return ledger.verifyChain();
    case "quarantine-list":
      return { quarantined: await ledger.listQuarantine(req.limit) };
    case "replay":
      return backtest(ledger, loadRuleset(req.ruleset), req.options);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

export async function serveAdminSocket(
  dataDir: string,
  ledger: Ledger,
): Promise<() => Promise<void>> {
  const path = adminSocketPath(dataDir);
  rmSync(path, { force: true }); // left by a process that died; we hold the data-dir lock
  const server: Server = createServer((req, res) => {
    const tooLarge = () => {
      // Drained, not buffered: the answer is sent at once and the rest of the body discarded.
      req.removeAllListeners("data");
      req.resume();
      reply(res, 413, {
        error: `the request body is larger than ${ADMIN_SOCKET_MAX_BODY} bytes`,
      });
    };
    if (Number(req.headers["content-length"] ?? 0) > ADMIN_SOCKET_MAX_BODY) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > ADMIN_SOCKET_MAX_BODY) {
        refused = true;
        tooLarge();
      } else chunks.push(chunk);
    });
    req.on("end", () => {
      if (refused) return;
      Promise.resolve()
        .then(() => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            throw new ValidationError(undefined, "the request body is not JSON");
          }
          return answer(ledger, parseAdminRequest(body));
        })
        .then(
          (result) => reply(res, 200, result),
          (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            const field =
              error instanceof ApiError || error instanceof FieldError ? error.field : undefined;
            reply(res, 400, { error: message, ...(field !== undefined && { field }) });
          },
        );
    });
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      rmSync(path, { force: true });
    });
}

/** Asks the running monitor; undefined when none listens on this data directory. */
export function askRunningMonitor<T>(dataDir: string, req: AdminRequest): Promise<T | undefined> {
  const socketPath = adminSocketPath(dataDir);
  if (!existsSync(socketPath)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const call = request({ socketPath, path: "/", method: "POST" }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => {
        let parsed: T & { error?: string; field?: string };
        try {
          parsed = JSON.parse(body) as T & { error?: string; field?: string };
        } catch {
          reject(new Error(`admin socket answered ${res.statusCode} without JSON`));
          return;
        }
        if (res.statusCode === 200) resolve(parsed);
        else {
          const message = parsed.error ?? `admin socket answered ${res.statusCode}`;
          reject(
            parsed.field !== undefined || res.statusCode === 413
              ? new ValidationError(parsed.field, message)
              : new Error(message),
          );
        }
      });
    });
    call.on("error", (error: NodeJS.ErrnoException) => {
      // A socket file without a listener: the monitor is gone.
      if (error.code === "ECONNREFUSED" || error.code === "ENOENT") resolve(undefined);
      else reject(error);
    });
    call.end(JSON.stringify(req));
  });
}
