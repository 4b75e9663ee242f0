export {
  type DecisionOutcome,
  type ExportOutcome,
  exportDecisions,
  type FetchLike,
  getDecision,
  type ItemOutcome,
  type ItemStatus,
  postBatch,
  retryAfterMs,
} from "./client.ts";
export { type CollectOptions, collectDecisions } from "./decisions.ts";
export {
  type BurstTx,
  LABELS,
  type Label,
  MEAN_BURST_SIZE,
  PATTERN_NAMES,
  PATTERNS,
  type PatternContext,
  type PatternName,
  type TxBody,
} from "./patterns.ts";
export {
  CURRENCIES,
  type Currency,
  type Customer,
  clampAmount,
  createPopulation,
  type Device,
  hashSeed,
  luhnCheckDigit,
  type MerchantProfile,
  makeCardNumber,
  makeDevice,
  makeIp,
  mulberry32,
  type Population,
  type PopulationOptions,
  PROFILES,
  priceOf,
  Rng,
} from "./population.ts";
export {
  createProgress,
  createProgressReporter,
  type ProgressOptions,
  type ProgressReporter,
} from "./progress.ts";
export {
  formatWithOffset,
  runSimulation,
  type SimulationIo,
  type SimulationOptions,
} from "./simulator.ts";
export {
  formatSummary,
  type LabelSummary,
  type SimulationSummary,
  summarize,
  type TxRecord,
} from "./summary.ts";
export { type PlannedTx, planTraffic, populationSizeFor, type TrafficOptions } from "./traffic.ts";
