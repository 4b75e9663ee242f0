import { eachOf, isKnown, label, T, type TxwatchPolicy } from "../model.ts";

export const backups: TxwatchPolicy = {
  name: "database-backups-enabled",
  description:
    "Checks whether every database keeps automated backups (a retention of at least one day).",
  scope: "resource",
  validate: (stack) =>
    eachOf(stack, [T.dbInstance, T.dbCluster], (r) => {
      const days = r.props.backupRetentionPeriod;
      if (!isKnown(days)) return [];
      return [
        typeof days === "number" && days >= 1
          ? undefined
          : `Database ${label(r)} must keep automated backups (backupRetentionPeriod of at least 1 day, not ${days === undefined ? "unset" : String(days)}).`,
      ];
    }),
};
