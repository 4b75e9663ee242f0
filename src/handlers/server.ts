import { safeErrorFields } from "../errors.ts";
import { startApiServer } from "./api-server.ts";

/** The container entry on AWS: starts the API, stops it on SIGTERM / SIGINT. */
try {
  const server = await startApiServer();
  const stop = async () => {
    await server.stop();
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
