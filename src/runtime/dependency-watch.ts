import { type ConnectionObserver, observeCall } from "../observability/dependency-state.ts";
import type { RedisClient } from "../redis-client.ts";
import type { PutResult, Stream } from "../stream/types.ts";

/**
 * Feeds a tracker from an ioredis client's connection events (REL-2). Its "error" listener also
 * keeps ioredis from printing raw "[ioredis] Unhandled error event" stacks outside the JSON log
 * while it reconnects; commands that fail meanwhile still reject to their callers.
 */
export function watchRedis<R extends RedisClient>(redis: R, observer: ConnectionObserver): R {
  redis.on("error", (error: Error) => observer.failed(error));
  // A server that goes away closes the connection before any error: a restart quicker than the
  // first reconnection attempt would otherwise go unreported. "reconnecting" follows every
  // closed connection at once except one closed on purpose (quit), which is no outage: the
  // AWS entries close their client without first silencing its tracker.
  redis.on("reconnecting", () => observer.failed(new Error("connection to Redis lost")));
  redis.on("ready", () => observer.ok());
  return redis;
}

/**
 * The stream, reporting to a tracker: a put or ping that fails is down, one that works (or a
 * batch read and handed to the consumer) is up. The stream's own onError (failed appends, reads,
 * checkpoints) is the caller's to report too.
 */
export function watchStream(stream: Stream, observer: ConnectionObserver): Stream {
  return {
    async put(records) {
      const startedAt = Date.now();
      let result: PutResult;
      try {
        result = await stream.put(records);
      } catch (error) {
        observer.failed(error, startedAt);
        throw error;
      }
      // Some records refused (throttling) is no outage; none of them taken is.
      if (records.length > 0 && result.failed.length === records.length) {
        observer.failed(new Error(`the stream took none of ${records.length} records`), startedAt);
      } else {
        observer.ok();
      }
      return result;
    },
    consume(handler, options) {
      return stream.consume((records) => {
        if (records.length > 0) observer.ok();
        return handler(records);
      }, options);
    },
    ...(stream.progress !== undefined && { progress: () => stream.progress!() }),
    ping: () => observeCall(observer, () => stream.ping()),
    close: () => stream.close(),
  };
}
