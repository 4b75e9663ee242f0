import { z } from "zod";
import type { ChainRow } from "../ledger/hash-chain.ts";

export const ARCHIVE_FORMAT_VERSION = 1;

/** One line of the NDJSON data file: exactly what the row's hash covers, plus the hash. */
export type ArchivedRow = ChainRow & { rowHash: string };

/**
 * The ledger keeps one hash chain (seq 1, 2, ... under one lock per schema), so a day's
 * archive holds one run of it; `chains` is a list so a ledger chained per partition could
 * record one head per chain without a format change.
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

/** The ledger's one chain. */
export const LEDGER_CHAIN_ID = "ledger";
