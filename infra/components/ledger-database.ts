import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../context.ts";
import { assumeRolePolicy } from "../iam.ts";
import { encryptedLogGroup } from "../log-group.ts";
import { DB_PORT } from "./security-groups.ts";

export interface LedgerDatabaseArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** The stack's customer-managed key (SEC-1); required: nothing here is encrypted with an AWS-owned key. */
  keyArn: pulumi.Input<string>;
  /** Private subnets, one per AZ; required, so the data tier is never placed in a public subnet. */
  subnetIds: pulumi.Input<string>[];
  /** Its security group, whose rules admit only the callers (SEC-2); required. */
  securityGroupId: pulumi.Input<string>;
}

export const DATABASE_NAME = "txwatch";
export const MASTER_USERNAME = "txwatch_admin";
export const BACKUP_WINDOW = "17:00-18:00"; // 02:00-03:00 JST, 14:00-15:00 BRT: quiet hours
export const MAINTENANCE_WINDOW = "sun:18:30-sun:19:30";

interface MonitoringRole {
  role: aws.iam.Role;
  attachment: aws.iam.RolePolicyAttachment;
}

/** What the rest of the stack needs from either engine. */
export interface DatabaseEndpoint {
  address: pulumi.Output<string>;
  port: pulumi.Output<number>;
  /** The RDS-managed master secret (rotated by RDS, encrypted with the stack key). */
  secretArn: pulumi.Output<string>;
  /**
   * The instance's `DbiResourceId` or the cluster's `DbClusterResourceId`: what an IAM policy
   * names in `rds-db:connect` (`arn:aws:rds-db:<region>:<account>:dbuser:<id>/<user>`).
   */
  resourceId: pulumi.Output<string>;
  /** The instances, which what connects to the database waits for. */
  instances: pulumi.Resource[];
  /** CloudWatch dimensions: `DBInstanceIdentifier` values, or the cluster's `DBClusterIdentifier`. */
  instanceIdentifiers: string[];
  clusterIdentifier: string | undefined;
}

/**
 * The ledger's PostgreSQL (DB-1, DB-2): RDS Multi-AZ or Aurora Serverless v2 with a writer and a
 * reader, always private, encrypted with the stack key, TLS forced by parameter group, an
 * RDS-managed master password (rotation without a Lambda, SEC-4), automated backups, log exports
 * into pre-created 30-day groups, Enhanced Monitoring and Performance Insights, and destroyable:
 * no deletion protection, no final snapshot (GEN-2).
 */
export class LedgerDatabase extends pulumi.ComponentResource {
  readonly endpoint: DatabaseEndpoint;

  constructor(name: string, args: LedgerDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:LedgerDatabase", name, {}, opts);
    const { context } = args;
    const parent = { parent: this };
    const subnetGroup = new aws.rds.SubnetGroup(
      context.name("ledger-subnets"),
      {
        name: context.name("ledger-subnets"),
        subnetIds: args.subnetIds,
        description: "private subnets",
      },
      parent,
    );
    const monitoringRole =
      context.settings.monitoringIntervalSeconds > 0 ? this.monitoringRole(context) : undefined;
    this.endpoint =
      context.settings.databaseEngine === "aurora-postgres-serverless"
        ? this.aurora(context, args, subnetGroup, monitoringRole)
        : this.rds(context, args, subnetGroup, monitoringRole);
    this.registerOutputs({ address: this.endpoint.address });
  }

  /** The Enhanced Monitoring role, with its policy attached (RDS checks it at create time). */
  private monitoringRole(context: StackContext): MonitoringRole {
    const role = new aws.iam.Role(
      context.name("rds-monitoring-role"),
      {
        name: context.name("rds-monitoring-role"),
        assumeRolePolicy: assumeRolePolicy("monitoring.rds.amazonaws.com", context.accountId),
      },
      { parent: this },
    );
    const attachment = new aws.iam.RolePolicyAttachment(
      context.name("rds-monitoring-policy"),
      {
        role: role.name,
        policyArn: "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
      },
      { parent: this },
    );
    return { role, attachment };
  }

  private logGroups(
    context: StackContext,
    kind: "instance" | "cluster",
    id: string,
    exports: string[],
    keyArn: pulumi.Input<string>,
  ) {
    // RDS writes to these fixed names; creating them first sets retention and the key.
    return exports.map((logType) =>
      encryptedLogGroup(
        context,
        context.name(`ledger-${kind}-${logType}-logs`),
        `/aws/rds/${kind}/${id}/${logType}`,
        keyArn,
        this,
      ),
    );
  }

  private rds(
    context: StackContext,
    args: LedgerDatabaseArgs,
    subnetGroup: aws.rds.SubnetGroup,
    monitoringRole: MonitoringRole | undefined,
  ): DatabaseEndpoint {
    const { settings } = context;
    const identifier = context.name("ledger-db");
    const major = settings.databaseMajorVersion;
    const parameters = new aws.rds.ParameterGroup(
      context.name("ledger-params"),
      {
        name: context.name("ledger-params"),
        family: `postgres${major}`,
        description: "txwatch ledger: TLS only",
        parameters: [
          { name: "rds.force_ssl", value: "1" },
          { name: "log_min_duration_statement", value: "1000" },
        ],
      },
      { parent: this },
    );
    const exports = ["postgresql", "upgrade"];
    const groups = this.logGroups(context, "instance", identifier, exports, args.keyArn);
    const instance = new aws.rds.Instance(
      identifier,
      {
        identifier,
        engine: "postgres",
        engineVersion: major,
        autoMinorVersionUpgrade: true,
        allowMajorVersionUpgrade: false,
        instanceClass: settings.databaseInstanceClass,
        allocatedStorage: settings.databaseStorageGb,
        maxAllocatedStorage: settings.databaseStorageGb * 4,
        storageType: "gp3",
        storageEncrypted: true,
        kmsKeyId: context.dataKey(args.keyArn),
        multiAz: true,
        dbSubnetGroupName: subnetGroup.name,
        vpcSecurityGroupIds: [args.securityGroupId],
        publiclyAccessible: false,
        port: DB_PORT,
        dbName: DATABASE_NAME,
        username: MASTER_USERNAME,
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: args.keyArn,
        // The services connect as the application role with IAM tokens: nothing to rotate.
        iamDatabaseAuthenticationEnabled: true,
        parameterGroupName: parameters.name,
        backupRetentionPeriod: settings.backupRetentionDays,
        backupWindow: BACKUP_WINDOW,
        maintenanceWindow: MAINTENANCE_WINDOW,
        copyTagsToSnapshot: true,
        enabledCloudwatchLogsExports: exports,
        monitoringInterval: settings.monitoringIntervalSeconds,
        ...(monitoringRole && { monitoringRoleArn: monitoringRole.role.arn }),
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: context.dataKey(args.keyArn),
        performanceInsightsRetentionPeriod: 7,
        deletionProtection: false,
        skipFinalSnapshot: true,
        deleteAutomatedBackups: true,
        applyImmediately: true,
      },
      {
        parent: this,
        dependsOn: [...groups, ...(monitoringRole ? [monitoringRole.attachment] : [])],
      },
    );
    return {
      address: instance.address,
      port: instance.port,
      secretArn: instance.masterUserSecrets.apply((s) => s?.[0]?.secretArn ?? ""),
      resourceId: instance.resourceId,
      instances: [instance],
      instanceIdentifiers: [identifier],
      clusterIdentifier: undefined,
    };
  }

  private aurora(
    context: StackContext,
    args: LedgerDatabaseArgs,
    subnetGroup: aws.rds.SubnetGroup,
    monitoringRole: MonitoringRole | undefined,
  ): DatabaseEndpoint {
    const { settings } = context;
    const clusterIdentifier = context.name("ledger-cluster");
    const major = settings.databaseMajorVersion;
    // Aurora takes a full version, and AWS retires old minors for new clusters: the major is
    // pinned, the minor is the one AWS offers as default for it when the stack is deployed.
    const engineVersion = aws.rds
      .getEngineVersionOutput(
        { engine: "aurora-postgresql", version: major, defaultOnly: true, latest: true },
        { parent: this },
      )
      .apply((found) => found.versionActual || found.version || major);
    const parameters = new aws.rds.ClusterParameterGroup(
      context.name("ledger-cluster-params"),
      {
        name: context.name("ledger-cluster-params"),
        family: `aurora-postgresql${major}`,
        description: "txwatch ledger: TLS only",
        parameters: [{ name: "rds.force_ssl", value: "1" }],
      },
      { parent: this },
    );
    const exports = ["postgresql"];
    const groups = this.logGroups(context, "cluster", clusterIdentifier, exports, args.keyArn);
    const cluster = new aws.rds.Cluster(
      clusterIdentifier,
      {
        clusterIdentifier,
        engine: "aurora-postgresql",
        engineMode: "provisioned",
        engineVersion,
        allowMajorVersionUpgrade: false,
        serverlessv2ScalingConfiguration: {
          minCapacity: settings.auroraMinCapacity,
          maxCapacity: settings.auroraMaxCapacity,
        },
        storageEncrypted: true,
        kmsKeyId: context.dataKey(args.keyArn),
        dbSubnetGroupName: subnetGroup.name,
        vpcSecurityGroupIds: [args.securityGroupId],
        port: DB_PORT,
        databaseName: DATABASE_NAME,
        masterUsername: MASTER_USERNAME,
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: args.keyArn,
        iamDatabaseAuthenticationEnabled: true,
        dbClusterParameterGroupName: parameters.name,
        backupRetentionPeriod: settings.backupRetentionDays,
        preferredBackupWindow: BACKUP_WINDOW,
        preferredMaintenanceWindow: MAINTENANCE_WINDOW,
        copyTagsToSnapshot: true,
        enabledCloudwatchLogsExports: exports,
        deletionProtection: false,
        skipFinalSnapshot: true,
        applyImmediately: true,
      },
      // AWS moves the minor version forward by itself; a diff back to the pinned one would fail.
      { parent: this, dependsOn: groups, ignoreChanges: ["engineVersion"] },
    );
    // Writer first (promotion tier 0); the reader, created only once the writer exists, so the
    // first instance up (which Aurora makes the writer) is the one named writer.
    const instanceIdentifiers = ["writer", "reader"].map((role) => context.name(`ledger-${role}`));
    const instances: aws.rds.ClusterInstance[] = [];
    instanceIdentifiers.forEach((identifier, tier) => {
      const instance = new aws.rds.ClusterInstance(
        identifier,
        {
          identifier,
          clusterIdentifier: cluster.id,
          instanceClass: "db.serverless",
          engine: "aurora-postgresql",
          engineVersion: cluster.engineVersion,
          dbSubnetGroupName: subnetGroup.name,
          publiclyAccessible: false,
          promotionTier: tier,
          autoMinorVersionUpgrade: true,
          monitoringInterval: settings.monitoringIntervalSeconds,
          ...(monitoringRole && { monitoringRoleArn: monitoringRole.role.arn }),
          performanceInsightsEnabled: true,
          performanceInsightsKmsKeyId: context.dataKey(args.keyArn),
          applyImmediately: true,
        },
        {
          parent: this,
          ignoreChanges: ["engineVersion"],
          dependsOn: [...(monitoringRole ? [monitoringRole.attachment] : []), ...instances],
        },
      );
      instances.push(instance);
    });
    return {
      address: cluster.endpoint,
      port: cluster.port,
      secretArn: cluster.masterUserSecrets.apply((s) => s?.[0]?.secretArn ?? ""),
      resourceId: cluster.clusterResourceId,
      instances,
      instanceIdentifiers,
      clusterIdentifier,
    };
  }
}
