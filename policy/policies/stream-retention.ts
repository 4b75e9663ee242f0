import { eachOf, label, T, type TxwatchPolicy } from "../model.ts";

/** The history cache is rebuilt from a day of stream: the stream must hold at least that. */
export const MIN_STREAM_RETENTION_HOURS = 24;

export const streamRetention: TxwatchPolicy = {
  name: "kinesis-retention-24-hours",
  description: `Checks whether every Kinesis stream keeps records for at least ${MIN_STREAM_RETENTION_HOURS} hours.`,
  scope: "resource",
  validate: (stack) =>
    eachOf(stack, [T.kinesisStream], (r) => {
      const hours = r.props.retentionPeriod;
      return [
        typeof hours === "number" && hours < MIN_STREAM_RETENTION_HOURS
          ? `Kinesis stream ${label(r)} must keep records at least ${MIN_STREAM_RETENTION_HOURS} hours (retentionPeriod is ${hours}).`
          : undefined,
      ];
    }),
};
