import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
} from "@aws-sdk/client-kinesis";

const require = createRequire(import.meta.url);

interface KinesaliteOptions {
  createStreamMs?: number;
  deleteStreamMs?: number;
  updateStreamMs?: number;
  shardLimit?: number;
}

/** kinesalite is CommonJS without types: a factory returning a plain node:http server. */
const kinesalite = require("kinesalite") as (options: KinesaliteOptions) => Server;

export interface Kinesalite {
  /** http://127.0.0.1:<port>, for kinesisClientFrom({ region, endpoint }). */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * A real, in-memory Kinesis API (kinesalite) in this process on a free port of 127.0.0.1.
 * Stream state changes are instant (createStreamMs: 0), so a new stream is ACTIVE at once.
 */
export async function startKinesalite(): Promise<Kinesalite> {
  const server = kinesalite({
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 50,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // Port 0: the OS picks a free port, so parallel test files never collide.
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Keep-alive sockets of clients would otherwise hold server.close() open.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Creates a stream and waits until it is ACTIVE (the SDK waiter polls every 10 s at least). */
export async function createKinesisStream(
  client: KinesisClient,
  streamName: string,
  shardCount: number,
): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  for (let attempt = 0; attempt < 500; attempt++) {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (summary.StreamDescriptionSummary?.StreamStatus === "ACTIVE") return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`stream ${streamName} did not become ACTIVE`);
}
