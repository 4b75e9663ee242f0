import { z } from "zod";
import type { ChainRow } from "../ledger/hash-chain.ts";

export const ARCHIVE_FORMAT_VERSION = 1;

/**
 * One line of the NDJSON data file: exactly what the row's hash covers, the chain it is on and
 * the hash. Lines written before the ledger had several chains carry no `chain`: chain 0.
 */
export type ArchivedRow = ChainRow & { chain?: number; rowHash: string };

/**
 * The ledger keeps several hash chains (SCL-3), each growing under its own lock, so a day's
 * archive holds one run of each: one entry per chain, with the head before the day and the
 * head at its end.
 */
const chainSchema = z.object({
  chainId: z.string().min(1),
  /** First and last seq of the period; null when the day has no rows. */
  firstSeq: z.string().nullable(),
  firstHash: z.string().nullable(),
  /** The hash the first row links to: the chain head before the period (genesis: 64 zeros). */
  prevHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** The seq of that previous head ("0" at genesis). */
  prevSeq: z.string(),
  headSeq: z.string(),
  /** The chain head at the end of the period (prevHash when the day has no rows). */
  headHash: z.string().regex(/^[0-9a-f]{64}$/),
  count: z.number().int().min(0),
});

export const manifestSchema = z.object({
  formatVersion: z.literal(ARCHIVE_FORMAT_VERSION),
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** How the day's rows were chosen. */
  period: z.object({ by: z.literal("recordedAt"), from: z.string(), to: z.string() }),
  rows: z.number().int().min(0),
  chains: z.array(chainSchema),
  dataFile: z.string().min(1),
  dataSha256: z.string().regex(/^[0-9a-f]{64}$/),
  dataBytes: z.number().int().min(0),
  createdAt: z.string(),
});

export type ArchiveManifest = z.infer<typeof manifestSchema>;
export type ArchiveChain = z.infer<typeof chainSchema>;

/** Chain 0's name: the name the ledger's only chain had, so older archives continue into it. */
export const LEDGER_CHAIN_ID = "ledger";

/** A chain's name in the manifest: "ledger" for chain 0, "ledger.<n>" for the others. */
export function archiveChainId(chain: number): string {
  return chain === 0 ? LEDGER_CHAIN_ID : `${LEDGER_CHAIN_ID}.${chain}`;
}

/** The chain a manifest entry names, or null when the name is not one archiveChainId gives. */
export function chainOfArchiveId(id: string): number | null {
  if (id === LEDGER_CHAIN_ID) return 0;
  const match = /^ledger\.([1-9]\d{0,8})$/.exec(id);
  return match === null ? null : Number(match[1]);
}
