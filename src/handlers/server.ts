import { safeErrorFields } from "../errors.ts";
import { createLogger } from "../observability/logger.ts";
import { startApiServer } from "../runtime/aws-api.ts";
import { installFatalHandlers } from "../runtime/fatal.ts";

// A defect that escapes (an unhandled rejection in the outbox, say) ends the task with one
// masked JSON line, and ECS starts another: nothing accepted is lost (REL-2).
installFatalHandlers(createLogger(process.env.LOG_LEVEL ?? "info"));

/** The container entry on AWS: starts the API, stops it on SIGTERM / SIGINT. */
try {
  const server = await startApiServer();
  const stop = async () => {
    try {
      await server.stop();
    } catch (error) {
      // A failed shutdown is reported, as one line like a failed start, and is not a clean
      // exit; never an unhandled rejection.
      process.stderr.write(`txwatch api: cannot stop cleanly: ${safeErrorFields(error).message}\n`);
      process.exit(1);
    }
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
} catch (error) {
  // One line naming what is wrong (a configuration error names its variable), no stack, and
  // nothing a driver might have quoted from a connection string.
  process.stderr.write(`txwatch api: cannot start: ${safeErrorFields(error).message}\n`);
  process.exit(1);
}
