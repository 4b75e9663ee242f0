import { Command, InvalidArgumentError } from "commander";
import { ApiError } from "../errors.ts";
import { FieldError } from "../validation.ts";
import { archiveCommand, verifyArchiveCommand } from "./commands/archive.ts";
import {
  keysCreateCommand,
  keysListCommand,
  keysRevokeCommand,
  keysRotateCommand,
  migrateCommand,
  verifyLedgerCommand,
} from "./commands/ledger-admin.ts";
import { planCommand } from "./commands/plan.ts";
import { quarantineCommand } from "./commands/quarantine.ts";
import { replayCommand } from "./commands/replay.ts";
import { simulateCommand } from "./commands/simulate.ts";
import { smokeCommand } from "./commands/smoke.ts";
import { startCommand } from "./commands/start.ts";

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number");
  return n;
}

const program = new Command()
  .name("txwatch")
  .description(
    "Real-time transaction monitoring: ingest, 24 h history, fraud rules, ledger, alerts.",
  )
  .showHelpAfterError();

program
  .command("start")
  .description("run the API and the processor (embedded defaults, or REDIS_URL / DATABASE_URL)")
  .action(startCommand);

program
  .command("simulate")
  .description("send synthetic traffic with injected fraud patterns and summarize what was flagged")
  .option("--url <url>", "monitor base URL", process.env.TXWATCH_URL ?? "http://127.0.0.1:8080")
  .option("--api-key <key>", "API key (or TXWATCH_API_KEY)", process.env.TXWATCH_API_KEY)
  .option("--merchant <id>", "merchant id of the key", "demo")
  .option("--currency <code>", "JPY (a Japanese marketplace) or BRL (a Brazilian shop)", "JPY")
  .option("--rate <tx/s>", "transactions per second", positiveNumber, 20)
  .option("--duration <seconds>", "how long to send", positiveNumber, 30)
  .option("--fraud-ratio <ratio>", "share of bursts that are fraud patterns", positiveNumber, 0.03)
  .option("--seed <n>", "random seed (same seed, same traffic)", positiveNumber, 42)
  .option("--json", "print the summary as JSON")
  .action(simulateCommand);

program.command("migrate").description("apply pending ledger migrations").action(migrateCommand);

const keys = program.command("keys").description("manage API keys (SEC-7)");
keys
  .command("create")
  .description("create an API key for a merchant; prints it once")
  .requiredOption("--merchant <id>", "merchant id")
  .option("--expires-in <duration>", "the key stops working after this long, e.g. 30d, 12h")
  .action(keysCreateCommand);
keys
  .command("list")
  .description("list a merchant's keys: id, created, expiry, revocation (never the key)")
  .requiredOption("--merchant <id>", "merchant id")
  .option("--json", "print the keys as JSON")
  .action(keysListCommand);
keys
  .command("revoke")
  .description("revoke a key now; running monitors refuse it within seconds")
  .requiredOption("--id <id>", "key id (from keys list)")
  .option("--json", "print the result as JSON")
  .action(keysRevokeCommand);
keys
  .command("rotate")
  .description(
    "create a new key for a merchant; its earlier keys keep working for the grace period (default 24h), then are revoked",
  )
  .requiredOption("--merchant <id>", "merchant id")
  .option("--expires-in <duration>", "the new key stops working after this long, e.g. 30d")
  .option("--grace <duration>", "how long the earlier keys keep working (0s to 30d)", "24h")
  .action(keysRotateCommand);

program
  .command("replay")
  .description("backtest a ruleset over the ledger and report how decisions would change")
  .requiredOption("--ruleset <file>", "ruleset file (.yaml, .yml or .json)")
  .requiredOption("--from <time>", "start of the period (RFC 3339), inclusive")
  .requiredOption("--to <time>", "end of the period (RFC 3339), exclusive")
  .option("--merchant <id>", "only this merchant")
  .option("--json", "print the report as JSON")
  .action(replayCommand);

program
  .command("verify-ledger")
  .description(
    "recompute the ledger's hash chains and checkpoints; exits 1 if any row was altered or removed",
  )
  .option("--json", "print the result as JSON")
  .option("--archive <dir|s3://bucket/prefix>", "verify the daily archive there instead (AWS-6)")
  .option("--day <YYYY-MM-DD>", "with --archive: only this UTC day (default: every archived day)")
  .option("--against-ledger", "with --archive: also compare each row with the configured ledger")
  .action(
    async (options: {
      json?: boolean;
      archive?: string;
      day?: string;
      againstLedger?: boolean;
    }) => {
      process.exitCode =
        options.archive === undefined
          ? await verifyLedgerCommand(options)
          : await verifyArchiveCommand({ ...options, archive: options.archive });
    },
  );

program
  .command("quarantine")
  .description(
    "list the stream records set aside (malformed, or refused by the ledger), newest first",
  )
  .option("--limit <n>", "how many (1-1000)", "50")
  .option("--json", "print them as JSON, with their payloads (card numbers masked)")
  .action(quarantineCommand);

program
  .command("archive")
  .description(
    "export one UTC day of the ledger as a verifiable archive (what the daily function writes)",
  )
  .requiredOption("--day <YYYY-MM-DD>", "the UTC day")
  .requiredOption("--to <dir|s3://bucket/prefix>", "a directory or an S3 bucket")
  .action(async (options: { day: string; to: string }) => {
    process.exitCode = await archiveCommand(options);
  });

program
  .command("smoke")
  .description("smoke-test a deployed monitor: health, a transaction decided, its alert visible")
  .option("--url <url>", "monitor base URL", process.env.TXWATCH_URL)
  .option("--api-key <key>", "API key (or TXWATCH_API_KEY)", process.env.TXWATCH_API_KEY)
  .option("--merchant <id>", "merchant id of the key", "demo")
  .option("--timeout <seconds>", "how long the decision and the alert may take", positiveNumber, 60)
  .action(async (options: { url?: string; apiKey?: string; merchant: string; timeout: number }) => {
    if (options.url === undefined)
      throw new InvalidArgumentError("--url (or TXWATCH_URL) is required");
    process.exitCode = await smokeCommand({ ...options, url: options.url });
  });

program
  .command("plan")
  .description("print what a preset would deploy on AWS, offline (Pulumi program under mocks)")
  .option("--preset <name>", "japancart | fastshop | finserv (or from --stack-config)")
  .option("--environment-suffix <suffix>", "suffix of every resource name", undefined)
  .option("--stack-config <file>", "a Pulumi.<stack>.yaml whose txwatch: settings apply")
  .option(
    "--set <key=value>",
    "override a setting, e.g. natGateways=1 (repeatable)",
    (v: string, all: string[] = []) => [...all, v],
  )
  .option("--json", "print every resource with all its inputs as JSON")
  .option(
    "--check",
    "run the policy pack's rules over the plan; list violations and exit 1 if there are any",
  )
  .action(planCommand);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Configuration and input errors (coded, or a domain module's field error, such as a ruleset
  // that breaks its schema) name their field and exit 2; anything else is reported without
  // internals.
  const usage = error instanceof ApiError || error instanceof FieldError;
  const message = usage || error instanceof Error ? error.message : String(error);
  process.stderr.write(`txwatch: ${message}\n`);
  process.exit(usage ? 2 : 1);
}
