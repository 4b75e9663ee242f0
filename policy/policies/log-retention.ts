import { eachOf, label, T, type TxwatchPolicy } from "../model.ts";

/** The audit minimum: regulators ask for a month of logs at hand. */
export const MIN_LOG_RETENTION_DAYS = 30;

export const logRetention: TxwatchPolicy = {
  name: "log-retention-30-days",
  description: `Checks whether every log group keeps its logs for at least ${MIN_LOG_RETENTION_DAYS} days.`,
  scope: "resource",
  validate: (stack) =>
    eachOf(stack, [T.logGroup], (r) => {
      const days = r.props.retentionInDays;
      // Absent or 0 means "never expire", which keeps them longer still.
      return [
        typeof days === "number" && days > 0 && days < MIN_LOG_RETENTION_DAYS
          ? `Log group ${label(r)} must keep logs at least ${MIN_LOG_RETENTION_DAYS} days (retentionInDays is ${days}).`
          : undefined,
      ];
    }),
};
