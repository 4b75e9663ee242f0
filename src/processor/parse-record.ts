import type { QuarantineRecord } from "../ledger/types.ts";
import type { ConsumedRecord } from "../stream/types.ts";
import { streamEnvelopeSchema, toFieldError } from "../transaction/schema.ts";
import { maskCardNumbers } from "../transaction/tokenize.ts";
import type { StreamEnvelope } from "../transaction/types.ts";

/** Quarantined payloads are evidence, not storage: keep enough to investigate. */
const MAX_QUARANTINED_PAYLOAD = 16 * 1024;

export type ParsedRecord =
  | { ok: true; record: ConsumedRecord; envelope: StreamEnvelope }
  | { ok: false; quarantine: QuarantineRecord };

/**
 * Decodes and validates one stream record. A record that is not a valid envelope is never
 * dropped: it becomes a quarantine row with its reason, with anything card-like masked.
 */
export function parseRecord(record: ConsumedRecord, source: string): ParsedRecord {
  const text = record.data.toString("utf8");
  const quarantine = (reason: string): ParsedRecord => ({
    ok: false,
    quarantine: quarantineRow(record, source, reason),
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return quarantine("record is not valid JSON");
  }
  if (carriesCardNumber(json)) {
    return quarantine(
      "tx.paymentMethod.card.number is on the stream: records must carry tokenized cards only",
    );
  }
  const result = streamEnvelopeSchema.safeParse(json);
  if (!result.success) return quarantine(toFieldError(result.error, "", json).message);
  return { ok: true, record, envelope: result.data as StreamEnvelope };
}

/**
 * A record's quarantine row with its reason: the payload cut to what an investigation needs,
 * and the text fields made storable, card numbers masked.
 */
export function quarantineRow(
  record: ConsumedRecord,
  source: string,
  reason: string,
): QuarantineRecord {
  return {
    source,
    sequenceNumber: record.sequenceNumber,
    partitionKey: storable(record.partitionKey),
    reason: storable(reason),
    payload: storable(record.data.toString("utf8").slice(0, MAX_QUARANTINED_PAYLOAD)),
  };
}

/**
 * Quarantine must never fail to store, or one bad record would block its partition forever:
 * PostgreSQL text cannot hold NUL or lone surrogates, and no card number may be stored.
 */
function storable(text: string): string {
  return maskCardNumbers(text.toWellFormed().replaceAll("\u0000", "\\u0000"));
}

function carriesCardNumber(json: unknown): boolean {
  const card = (json as { tx?: { paymentMethod?: { card?: { number?: unknown } } } } | null)?.tx
    ?.paymentMethod?.card;
  return typeof card === "object" && card !== null && "number" in card;
}
