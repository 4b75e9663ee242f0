import { randomBytes } from "node:crypto";
import type {
  KinesisClient,
  PutRecordsCommandInput,
  PutRecordsCommandOutput,
  PutRecordsResultEntry,
} from "@aws-sdk/client-kinesis";
import {
  KinesisStream,
  type KinesisStreamOptions,
  kinesisClientFrom,
} from "../../src/stream/kinesis-stream.ts";
import { createKinesisStream } from "../support/kinesalite.ts";

export function uniqueStreamName(): string {
  return `transaction-stream-${randomBytes(4).toString("hex")}`;
}

/** A real stream on kinesalite (2 shards unless told) and a KinesisStream tuned for tests. */
export async function openKinesisStream(
  endpoint: string,
  options: KinesisStreamOptions = {},
  shards = 2,
): Promise<KinesisStream> {
  const client = kinesisClientFrom({ region: "us-east-1", endpoint });
  const name = uniqueStreamName();
  await createKinesisStream(client, name, shards);
  return new KinesisStream(client, name, {
    minPollIntervalMs: 0,
    retry: { baseMs: 5, maxMs: 20 },
    ...options,
    put: { backoff: { baseMs: 1, maxMs: 5 }, ...options.put },
  });
}

/** Sees every command (name and input) just before the SDK serializes it. */
export function spyOnCommands(
  client: KinesisClient,
  spy: (command: string, input: object) => void,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      spy(context.commandName ?? "", args.input);
      return next(args);
    },
    { step: "initialize", name: `spy-${randomBytes(3).toString("hex")}` },
  );
}

/** Throws `error` instead of sending the `nth` (1-based) call of `command`. */
export function throwOnCall(
  client: KinesisClient,
  command: string,
  nth: number,
  error: Error,
): void {
  let calls = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === command && ++calls === nth) throw error;
      return next(args);
    },
    { step: "initialize", name: `throw-${randomBytes(3).toString("hex")}` },
  );
}

/**
 * Makes PutRecords fail chosen entries the way Kinesis does under throttling: those entries are
 * NOT sent (so the real stream does not store them) and come back with an ErrorCode at their
 * place in the result, while the rest really go to kinesalite. `shouldFail` sees the entry's
 * data and how many times that data was sent before.
 */
export function failEntries(
  client: KinesisClient,
  shouldFail: (data: string, previousAttempts: number) => boolean,
): void {
  const attempts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "PutRecordsCommand") return next(args);
      const input = args.input as PutRecordsCommandInput;
      const entries = input.Records ?? [];
      const forced = entries.map((entry) => {
        const data = Buffer.from(entry.Data ?? []).toString("utf8");
        const previous = attempts.get(data) ?? 0;
        attempts.set(data, previous + 1);
        return shouldFail(data, previous);
      });
      const sent = entries.filter((_, i) => !forced[i]);
      let real: PutRecordsResultEntry[] = [];
      let response: unknown = {};
      if (sent.length > 0) {
        const result = await next({ ...args, input: { ...input, Records: sent } });
        real = (result.output as PutRecordsCommandOutput).Records ?? [];
        response = result.response;
      }
      let r = 0;
      const records = forced.map(
        (isForced): PutRecordsResultEntry =>
          isForced
            ? {
                ErrorCode: "ProvisionedThroughputExceededException",
                ErrorMessage: "forced by the test",
              }
            : real[r++]!,
      );
      const output: PutRecordsCommandOutput = {
        $metadata: {},
        FailedRecordCount: forced.filter(Boolean).length,
        Records: records,
      };
      return { output, response };
    },
    { step: "initialize", name: `fail-entries-${randomBytes(3).toString("hex")}` },
  );
}
