import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bundleLambda, LAMBDA_HANDLERS, REPOSITORY_ROOT } from "../build/processor-bundle.ts";
import type { RuntimeConnections, StackContext } from "../context.ts";
import { readSecretsStatements } from "../iam.ts";
import { vpcFunction } from "../vpc-function.ts";
import { MASTER_USERNAME } from "./ledger-database.ts";

export interface LedgerJobsArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** The stack's customer-managed key (SEC-1); required. */
  keyArn: pulumi.Input<string>;
  /** Private subnets, one per AZ; required. */
  subnetIds: pulumi.Input<string>[];
  /** The group the database admits (the processor's); required. */
  securityGroupId: pulumi.Input<string>;
  /** The VPC's default security group, the functions' on their way out (AWS-2). */
  defaultSecurityGroupId: pulumi.Input<string>;
  /** Data-store addresses and secret ARNs (never secret values, SEC-4); required. */
  connections: RuntimeConnections;
  /** The bucket the daily archive goes to (processed-transactions); required. */
  archiveBucketName: pulumi.Input<string>;
  archiveBucketArn: pulumi.Input<string>;
  /** What the migration waits for: database instances, endpoints, routes. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
  /** The bundle directory. @default a fresh esbuild bundle of src/handlers/ */
  codeDirectory?: string;
}

/** When the archive of the previous UTC day is written: 00:30 UTC, after the day has closed. */
export const ARCHIVE_SCHEDULE = "cron(30 0 * * ? *)";
/** Where the archive's objects go inside the bucket (src/archive). */
export const ARCHIVE_PREFIX = "ledger-archive";

/**
 * A digest of what the owner step applies: the SQL migrations and the application role's
 * grants. A change to either re-runs the step on the next deploy, before the new code rolls.
 */
export function ownerStepDigest(): string {
  const dir = join(REPOSITORY_ROOT, "src", "ledger", "migrations");
  const hash = createHash("sha256");
  for (const file of readdirSync(dir).sort()) {
    hash.update(file).update(readFileSync(join(dir, file)));
  }
  hash.update(readFileSync(join(REPOSITORY_ROOT, "src", "ledger", "roles.ts")));
  return hash.digest("hex");
}

/**
 * The ledger's one-off and scheduled work (AWS-3, AWS-6):
 * - `ledger-admin`, the owner step: the only function that reads the master secret. The
 *   deployment invokes it (`migrate`) before the API service and the stream mapping roll, and
 *   whenever the migrations change; a failed migration fails `pulumi up` there. Operators invoke
 *   it for the first API key (`create-key`), which comes back in the response, never in a log.
 * - `ledger-archive`, run daily by an EventBridge rule: the previous UTC day's decided
 *   transactions and a manifest into the processed-transactions bucket, as the application role.
 */
export class LedgerJobs extends pulumi.ComponentResource {
  readonly admin: aws.lambda.Function;
  readonly migration: aws.lambda.Invocation;
  readonly archive: aws.lambda.Function;

  constructor(name: string, args: LedgerJobsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:LedgerJobs", name, {}, opts);
    const { context, keyArn, connections } = args;
    const parent = { parent: this };
    const code = args.codeDirectory ?? bundleLambda();
    const common = {
      context,
      keyArn,
      code,
      subnetIds: args.subnetIds,
      securityGroupId: args.securityGroupId,
      defaultSecurityGroupId: args.defaultSecurityGroupId,
    };

    const admin = vpcFunction(
      {
        ...common,
        type: "ledger-admin",
        description: "txwatch ledger owner step: migrations, application role, API keys",
        handler: LAMBDA_HANDLERS.admin,
        memorySize: 512,
        timeout: 300,
        environment: {
          DB_HOST: connections.environment.DB_HOST,
          DB_PORT: connections.environment.DB_PORT,
          DB_NAME: connections.environment.DB_NAME,
          DB_USER: MASTER_USERNAME,
          DB_AUTH: "secret",
          DB_SECRET_ARN: connections.databaseSecretArn,
        },
        statements: readSecretsStatements(keyArn, [connections.databaseSecretArn]),
      },
      this,
    );
    this.admin = admin.function;
    this.migration = new aws.lambda.Invocation(
      context.name("ledger-migration"),
      {
        functionName: admin.function.name,
        input: JSON.stringify({ command: "migrate" }),
        triggers: { ownerStep: ownerStepDigest() },
      },
      { parent: this, dependsOn: [admin.policy, ...args.dependsOn] },
    );

    const archive = vpcFunction(
      {
        ...common,
        type: "ledger-archive",
        description: "txwatch daily ledger archive to the processed-transactions bucket",
        handler: LAMBDA_HANDLERS.archive,
        memorySize: 1024,
        timeout: 900,
        // The ledger as the application role, nothing else: no Redis, no secret.
        environment: {
          DB_HOST: connections.environment.DB_HOST,
          DB_PORT: connections.environment.DB_PORT,
          DB_NAME: connections.environment.DB_NAME,
          DB_USER: connections.environment.DB_USER,
          DB_AUTH: connections.environment.DB_AUTH,
          ARCHIVE_BUCKET: args.archiveBucketName,
        },
        dependsOn: [this.migration],
        statements: [
          {
            // The bucket is encrypted with the stack key (SSE-KMS).
            Sid: "UseTheStackKey",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: keyArn,
          },
          {
            Sid: "ConnectAsTheApplicationRole",
            Effect: "Allow",
            Action: ["rds-db:connect"],
            Resource: connections.databaseConnectArn,
          },
          {
            // Multipart uploads are PutObject too; a failed one is aborted, not left behind.
            Sid: "WriteTheArchive",
            Effect: "Allow",
            Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
            Resource: pulumi.interpolate`${args.archiveBucketArn}/${ARCHIVE_PREFIX}/*`,
          },
          {
            // Without it a missing manifest answers 403, not 404.
            Sid: "ListTheArchive",
            Effect: "Allow",
            Action: ["s3:ListBucket"],
            Resource: args.archiveBucketArn,
          },
        ],
      },
      this,
    );
    this.archive = archive.function;
    const schedule = new aws.cloudwatch.EventRule(
      context.name("ledger-archive-schedule"),
      {
        name: context.name("ledger-archive-schedule"),
        description: "Archives the previous UTC day of the ledger",
        scheduleExpression: ARCHIVE_SCHEDULE,
      },
      parent,
    );
    const permission = new aws.lambda.Permission(
      context.name("ledger-archive-invoke"),
      {
        action: "lambda:InvokeFunction",
        function: archive.function.name,
        principal: "events.amazonaws.com",
        sourceArn: schedule.arn,
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      context.name("ledger-archive-target"),
      { rule: schedule.name, arn: archive.function.arn },
      { parent: this, dependsOn: [permission, this.migration] },
    );
    this.registerOutputs({ adminFunctionName: admin.function.name });
  }
}
