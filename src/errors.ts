import { maskCardNumbers, redactCardNumbers } from "./transaction/card-number.ts";
import { FieldError } from "./validation.ts";

/**
 * The one catalogue of coded errors the service returns (API.md "Errors").
 * Each code has exactly one HTTP status; handlers throw ApiError and the error hook renders it,
 * so internal messages never reach a client.
 */
export const ERROR_CATALOGUE = {
  TXW_ERR_VALIDATION: 400,
  TXW_ERR_UNAUTHENTICATED: 401,
  TXW_ERR_FORBIDDEN: 403,
  TXW_ERR_NOT_FOUND: 404,
  TXW_ERR_METHOD_NOT_ALLOWED: 405,
  TXW_ERR_TIMEOUT: 408,
  TXW_ERR_CONFLICT: 409,
  TXW_ERR_PAYLOAD_TOO_LARGE: 413,
  TXW_ERR_URI_TOO_LONG: 414,
  TXW_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  TXW_ERR_RATE_LIMITED: 429,
  TXW_ERR_HEADERS_TOO_LARGE: 431,
  TXW_ERR_INTERNAL: 500,
  TXW_ERR_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  field?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly field?: string;
  constructor(
    readonly code: ErrorCode,
    message: string,
    field?: string,
  ) {
    // PRIV-1: messages and fields may quote the client's text (a key, a path); a card number in
    // it must not come back in the answer, whichever route built the error.
    super(redactCardNumbers(message));
    this.name = "ApiError";
    this.status = ERROR_CATALOGUE[code];
    if (field !== undefined) this.field = redactCardNumbers(field);
  }

  /** Fastify and its plugins read `statusCode` from thrown errors. */
  get statusCode(): number {
    return this.status;
  }

  toBody(): { error: ErrorBody } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
      },
    };
  }
}

/**
 * A field-precise validation failure as the service answers it. The domain modules (transaction,
 * rules) throw their own FieldError instead, which api/ answers as this.
 */
export class ValidationError extends ApiError {
  constructor(field: string | undefined, message: string) {
    super("TXW_ERR_VALIDATION", message, field);
    this.name = "ValidationError";
  }
}

/**
 * Wraps a call to a dependency (ledger, history, stream): its failure is a 503, not a 500. An
 * error that answers the request itself (coded, or a domain field error) passes through.
 */
export async function dependency<T>(what: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ApiError || error instanceof FieldError) throw error;
    throw new DependencyError(what, error);
  }
}

export class DependencyError extends ApiError {
  constructor(
    readonly dependency: string,
    override readonly cause: unknown,
  ) {
    super("TXW_ERR_UNAVAILABLE", `the ${dependency} is unavailable; retry later`);
    this.name = "DependencyError";
  }
}

/**
 * The user-info part of a URL: from "//" greedily to the last "@" before any whitespace. Greedy,
 * because a raw password may itself hold "/" or "@" ("postgres://txw:pa/ss@word@db"): a
 * non-greedy match would stop inside it and leave the rest in the log.
 */
const URL_CREDENTIALS = /\/\/\S*@/g;

/**
 * What may be logged of a dependency's error: its name, code and message, with card numbers
 * masked and credentials cut out of any URL (a driver may quote its connection string).
 */
export function safeErrorFields(error: unknown): { name: string; code?: string; message: string } {
  if (!(error instanceof Error)) return { name: typeof error, message: "non-error thrown" };
  const code = (error as { code?: unknown }).code;
  const message = maskCardNumbers(error.message).replace(URL_CREDENTIALS, "//[redacted]@");
  return {
    name: error.name,
    ...(typeof code === "string" && { code }),
    message,
  };
}
