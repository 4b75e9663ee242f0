/**
 * The value of an ingest claim (HistoryStore.claimIds), one per merchant and transaction id.
 * "accepting" while the stream put is in flight, "accepted" once the stream took it; both carry
 * when the API received the transaction, which GET /v1/transactions/{id} shows while the
 * transaction waits for its decision.
 */
export type ClaimState = "accepting" | "accepted";

export interface IngestClaim {
  state: ClaimState;
  /** ISO 8601; absent on marks written before claims carried it. */
  receivedAt?: string;
}

/**
 * Short, so that the ids of an API process that died mid-put can be sent again soon; long
 * enough for any stream put (a put outliving it only weakens the duplicate answer: the ledger
 * still stores the transaction once).
 */
export const ACCEPTING_TTL_SECONDS = 5 * 60;
/** Accepted marks need only outlive the stream-to-ledger delay; the ledger is the truth. */
export const ACCEPTED_TTL_SECONDS = 24 * 60 * 60;

export function encodeClaim(claim: Required<IngestClaim>): string {
  return `${claim.state} ${claim.receivedAt}`;
}

export function decodeClaim(value: string): IngestClaim {
  const [state, receivedAt] = value.split(" ");
  if (state === "accepting") return { state, ...(receivedAt && { receivedAt }) };
  // "1", the seen mark of earlier versions, also means accepted.
  return { state: "accepted", ...(receivedAt && { receivedAt }) };
}
