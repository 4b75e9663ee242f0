import { loadConfig } from "../../config.ts";
import { createLogger } from "../../observability/logger.ts";
import { installFatalHandlers } from "../../runtime/fatal.ts";
import { startMonitor } from "../../runtime/monitor.ts";

export async function startCommand(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  installFatalHandlers(log);
  const monitor = await startMonitor(config, log);
  const ledger =
    config.DATABASE_URL === undefined
      ? `embedded (${config.TXWATCH_DATA_DIR}/ledger)`
      : "PostgreSQL (DATABASE_URL)";
  const history = config.REDIS_URL === undefined ? "in-process" : "Redis (REDIS_URL)";
  const stream =
    config.TXWATCH_STREAM === "kinesis"
      ? `Kinesis ${config.KINESIS_STREAM_NAME}`
      : "in-process log";
  process.stdout.write(`txwatch listening on ${monitor.url}\n`);
  process.stdout.write(
    `ledger: ${ledger} · history: ${history} · stream: ${stream} · ruleset: ${monitor.runtime.ruleset.name} ${monitor.runtime.ruleset.version}\n`,
  );
  if (monitor.firstApiKey !== undefined) {
    process.stdout.write(`API key: ${monitor.firstApiKey}\n`);
    process.stdout.write('(merchant "demo"; shown once: only its hash is stored)\n');
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping: finishing the batch in flight");
    monitor.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "unclean stop");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}
