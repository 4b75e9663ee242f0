import { randomBytes } from "node:crypto";

/**
 * The value of an ingest claim (ClaimStore.claimIds), one per merchant and transaction id.
 * "accepting" while the stream put is in flight, "accepted" once the stream took it; both carry
 * when the API received the transaction, which GET /v1/transactions/{id} shows while the
 * transaction waits for its decision.
 */
export type ClaimState = "accepting" | "accepted";

export interface IngestClaim {
  state: ClaimState;
  /** ISO 8601; absent on marks that carry no time. */
  receivedAt?: string;
  /**
   * On "accepting" claims: random per request, so that the claim's value is this request's own
   * and releaseClaims (compare-and-delete) frees only what this request claimed, never the
   * claim another request made after this one's expired.
   */
  nonce?: string;
  /**
   * On "accepting" claims: the ClaimStore.ownerId of the process that made it (REL-4). Once
   * that process's liveness is gone (it died), another process's claim call takes the claim
   * over instead of answering 409 until it expires.
   */
  owner?: string;
}

/**
 * The backstop: the ids of an API process that died mid-put are taken over within seconds
 * once its liveness is gone (REL-4, ClaimStore.claimIds); claims without an owner, and a
 * store that lost the liveness marks, wait for this. Long enough for any stream put (a put
 * outliving it only weakens the duplicate answer: the ledger still stores the transaction once).
 */
export const ACCEPTING_TTL_SECONDS = 5 * 60;
/** Accepted marks need only outlive the stream-to-ledger delay; the ledger is the truth. */
export const ACCEPTED_TTL_SECONDS = 24 * 60 * 60;

/**
 * Space-separated words: `<state> <receivedAt> [<nonce> [<owner>]]`. The owner of an
 * "accepting" claim is its fourth word (claimOwnerOf).
 */
export function encodeClaim(
  claim: Required<Pick<IngestClaim, "state" | "receivedAt">> & IngestClaim,
): string {
  const words = [claim.state, claim.receivedAt];
  if (claim.nonce) words.push(claim.nonce, ...(claim.owner ? [claim.owner] : []));
  return words.join(" ");
}

/** A fresh request's nonce: 96 random bits, no spaces (the value is space-separated). */
export function claimNonce(): string {
  return randomBytes(12).toString("base64url");
}

export function decodeClaim(value: string): IngestClaim {
  const [state, receivedAt, nonce, owner] = value.split(" ");
  const rest = {
    ...(receivedAt && { receivedAt }),
    ...(nonce && { nonce }),
    ...(owner && { owner }),
  };
  if (state === "accepting") return { state, ...rest };
  // Whatever else a claim holds means accepted: "accepted", and the bare "1" of marks that
  // carry no time, which a store may still hold for up to ACCEPTED_TTL_SECONDS.
  return { state: "accepted", ...rest };
}

/**
 * The owner named by a claim's value (`accepting <receivedAt> <nonce> <owner>`), or undefined
 * for any other value: such claims are never taken over. Both stores read the owner with it.
 */
export function claimOwnerOf(value: string): string | undefined {
  const words = value.split(" ");
  return words.length === 4 && words[0] === "accepting" && words[3] !== "" ? words[3] : undefined;
}
