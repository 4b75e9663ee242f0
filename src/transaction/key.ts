/*
 * A transaction id is unique per merchant: (merchantId, transactionId) names one transaction,
 * and every step is idempotent by it (ING-1, PRC-1): the ingest claims, the processor's
 * in-batch dedupe, the history's record key and the ledger's unique key. These are its only
 * spellings, so no two places can disagree on what "the same transaction" is.
 */

/** Whatever names one transaction: the transaction itself, an alert, a history item. */
export interface TransactionRef {
  merchantId: string;
  transactionId: string;
}

/**
 * The pair as one string, for sets and maps in memory. NUL joins the ids because no valid id
 * holds one (the schema refuses it), so two different pairs never give the same text.
 */
export function transactionKey({ merchantId, transactionId }: TransactionRef): string {
  return `${merchantId}\u0000${transactionId}`;
}

/**
 * The pair inside a flat store's key: `<namespace>:<merchant>:<transactionId>`, each id
 * percent-encoded (encodeId), so a ":" inside an id cannot shift the parts. The Redis history's
 * record keys and the Redis ingest claims are built with it.
 */
export function transactionStoreKey(
  namespace: string,
  { merchantId, transactionId }: TransactionRef,
): string {
  return `${namespace}:${encodeId(merchantId)}:${encodeId(transactionId)}`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * An id as one component of a store key or history member: percent-encoded, so ":" (key
 * separator) and "|" (member separator) never occur inside a component and ids cannot collide
 * across merchants or kinds. The output is ASCII, so JavaScript string order equals Redis's
 * byte order for members with equal scores. Lone surrogates (which encodeURIComponent rejects)
 * become U+FFFD instead of failing a batch.
 */
export function encodeId(id: string): string {
  return encodeURIComponent(id.replace(LONE_SURROGATE, "\uFFFD"));
}
