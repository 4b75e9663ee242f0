import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { REPOSITORY_ROOT } from "../build/processor-bundle.ts";
import { isInternetFacing } from "../config.ts";
import type { RuntimeConnections, StackContext } from "../context.ts";
import { readSecretsStatements, type Statement } from "../iam.ts";
import { encryptedLogGroup } from "../log-group.ts";
import { serviceRole } from "../service-role.ts";
import { API_PORT } from "./security-groups.ts";
import { ALB_LOG_PREFIX } from "./storage.ts";

export interface ApiServiceArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** The stack's customer-managed key (SEC-1); required: nothing here is encrypted with an AWS-owned key. */
  keyArn: pulumi.Input<string>;
  /** The stack's VPC; required. */
  vpcId: pulumi.Input<string>;
  /** Public subnets, where an internet-facing ALB goes; required. */
  publicSubnetIds: pulumi.Input<string>[];
  /** Private subnets for the tasks (no public IP) and an internal ALB; required. */
  privateSubnetIds: pulumi.Input<string>[];
  /** The ALB's group, the only one open to the internet (SEC-2); required. */
  albSecurityGroupId: pulumi.Input<string>;
  /** The tasks' group, reachable from the ALB only (SEC-2); required. */
  apiSecurityGroupId: pulumi.Input<string>;
  /** The transaction stream, the only one the role may touch (SEC-3); required. */
  streamArn: pulumi.Input<string>;
  /** The stream name the runtime reads as KINESIS_STREAM_NAME; required. */
  streamName: pulumi.Input<string>;
  /** Data-store addresses and secret ARNs for the runtime (never secret values, SEC-4); required. */
  connections: RuntimeConnections;
  /** The secret holding the card-token HMAC key (TXWATCH_TOKEN_KEY). */
  tokenKeySecretArn: pulumi.Input<string>;
  /** The fraud-alert topic the tasks' alert outbox delivers to (ALERT_TOPIC_ARN, REL-6). */
  alertTopicArn: pulumi.Input<string>;
  /** The bucket ALB access logs go to (CMP-2); required. */
  appLogsBucket: pulumi.Input<string>;
  /** That bucket's policy: AWS refuses access logs until it lets ELB write (AWS-2); required. */
  appLogsPolicy: pulumi.Resource;
  /** What the service waits for before its tasks roll: the ledger's migration (AWS-3). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export const CONTAINER_NAME = "api";
export const HEALTH_CHECK_PATH = "/healthz";
/** The image's unprivileged user (`node` in the official Node.js images). */
export const CONTAINER_USER = "1000:1000";
/**
 * Seconds ECS ignores failing health checks after a task starts: the bundled server listens
 * within seconds, after reading its secrets; the ALB then needs 2 checks 15 s apart.
 */
export const HEALTH_CHECK_GRACE_SECONDS = 90;
/** Paths the load balancer never forwards: Prometheus metrics stay inside the VPC (AWS-5). */
export const PRIVATE_PATHS = ["/metrics", "/metrics/*"];
/** TLS 1.3 with TLS 1.2 fallback, forward secrecy only. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/**
 * The ingest and query API (CMP-2): the repository's Dockerfile built for ARM64 and pushed to an
 * encrypted ECR repository (or an image from config), Fargate tasks in the private subnets
 * behind an ALB, `/healthz` health checks, access logs to the logs bucket. The ALB faces the
 * internet only over HTTPS with a certificate (or by the explicit `publicHttp` opt-in); without
 * one it is internal (AWS-5). Tasks run the bundled server as a non-root user on a read-only
 * root filesystem with no writable path at all (AWS-1).
 */
export class ApiService extends pulumi.ComponentResource {
  readonly cluster: aws.ecs.Cluster;
  readonly service: aws.ecs.Service;
  readonly loadBalancer: aws.lb.LoadBalancer;
  readonly targetGroup: aws.lb.TargetGroup;
  readonly image: pulumi.Output<string>;

  constructor(name: string, args: ApiServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:ApiService", name, {}, opts);
    const { context, keyArn } = args;
    const { settings } = context;
    const parent = { parent: this };

    const logGroup = encryptedLogGroup(
      context,
      context.name("api-logs"),
      `/ecs/${context.name("api")}`,
      keyArn,
      this,
    );
    const { image, pullStatements } = this.image_(context, keyArn);
    this.image = image;

    const { role: executionRole, policy: executionPolicy } = serviceRole(
      context,
      "api-execution",
      "ecs-tasks.amazonaws.com",
      [
        ...pullStatements,
        {
          Sid: "WriteContainerLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: pulumi.interpolate`${logGroup.arn}:*`,
        },
      ],
      this,
    );
    const { role: taskRole, policy: taskPolicy } = serviceRole(
      context,
      "api-task",
      "ecs-tasks.amazonaws.com",
      [
        {
          Sid: "ProduceToTheStream",
          Effect: "Allow",
          Action: [
            "kinesis:PutRecord",
            "kinesis:PutRecords",
            "kinesis:DescribeStreamSummary",
            "kinesis:ListShards",
          ],
          Resource: args.streamArn,
        },
        ...readSecretsStatements(keyArn, [
          args.connections.redisAuthSecretArn,
          args.tokenKeySecretArn,
        ]),
        {
          Sid: "ConnectAsTheApplicationRole",
          Effect: "Allow",
          Action: ["rds-db:connect"],
          Resource: args.connections.databaseConnectArn,
        },
        {
          // PublishBatch is authorised as sns:Publish; the topic's key is the stack key, which
          // the secrets statement already lets the task use.
          Sid: "PublishAlerts",
          Effect: "Allow",
          Action: ["sns:Publish"],
          Resource: args.alertTopicArn,
        },
      ],
      this,
    );

    const clusterName = context.name("api-cluster");
    // Container Insights writes here; created first so it has the key and the retention.
    const insights = encryptedLogGroup(
      context,
      context.name("api-insights-logs"),
      `/aws/ecs/containerinsights/${clusterName}/performance`,
      keyArn,
      this,
    );
    this.cluster = new aws.ecs.Cluster(
      clusterName,
      {
        name: clusterName,
        // Task ephemeral storage (the /tmp volume) under the stack key too.
        ...(context.dataKey(keyArn) !== undefined && {
          configuration: {
            managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: keyArn },
          },
        }),
        settings: [{ name: "containerInsights", value: "enabled" }],
      },
      { parent: this, dependsOn: [insights] },
    );
    const taskDefinition = new aws.ecs.TaskDefinition(
      context.name("api-task"),
      {
        family: context.name("api"),
        cpu: String(settings.apiCpu),
        memory: String(settings.apiMemoryMb),
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        containerDefinitions: pulumi.jsonStringify([
          {
            name: CONTAINER_NAME,
            image,
            essential: true,
            user: CONTAINER_USER,
            // The bundled server writes no file: no volume, nothing writable (AWS-1).
            readonlyRootFilesystem: true,
            portMappings: [{ containerPort: API_PORT, protocol: "tcp" }],
            environment: Object.entries({
              ...args.connections.environment,
              TXWATCH_STREAM: "kinesis",
              KINESIS_STREAM_NAME: args.streamName,
              // Lambda sets AWS_REGION itself (and refuses it as a variable); ECS does not.
              AWS_REGION: context.region,
              // The app fetches the key itself at run time (SEC-4): only the ARN is in the task.
              TXWATCH_TOKEN_KEY_SECRET_ARN: args.tokenKeySecretArn,
              // The tasks deliver the ledger's alerts to SNS (the alert outbox, REL-6).
              ALERT_TOPIC_ARN: args.alertTopicArn,
              PORT: String(API_PORT),
              HOST: "0.0.0.0",
              LOG_LEVEL: "info",
            }).map(([name, value]) => ({ name, value })),
            logConfiguration: {
              logDriver: "awslogs",
              options: {
                "awslogs-group": logGroup.name,
                "awslogs-region": context.region,
                "awslogs-stream-prefix": "api",
              },
            },
          },
        ]),
      },
      parent,
    );

    const internetFacing = isInternetFacing(settings);
    this.loadBalancer = new aws.lb.LoadBalancer(
      context.name("api-alb"),
      {
        name: context.name("api-alb"),
        loadBalancerType: "application",
        internal: !internetFacing,
        securityGroups: [args.albSecurityGroupId],
        subnets: internetFacing ? args.publicSubnetIds : args.privateSubnetIds,
        enableDeletionProtection: false,
        dropInvalidHeaderFields: true,
        accessLogs: {
          bucket: args.appLogsBucket,
          prefix: ALB_LOG_PREFIX,
          enabled: settings.albAccessLogs,
        },
      },
      // ELB checks it may write to the bucket when logs are enabled: the policy comes first.
      { parent: this, dependsOn: [args.appLogsPolicy] },
    );
    this.targetGroup = new aws.lb.TargetGroup(
      context.name("api-tg"),
      {
        name: context.name("api-tg"),
        port: API_PORT,
        protocol: "HTTP",
        targetType: "ip",
        vpcId: args.vpcId,
        deregistrationDelay: 30,
        healthCheck: {
          path: HEALTH_CHECK_PATH,
          matcher: "200",
          interval: 15,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
      },
      parent,
    );
    const listeners = this.listeners(context);

    this.service = new aws.ecs.Service(
      context.name("api-service"),
      {
        name: context.name("api"),
        cluster: this.cluster.arn,
        taskDefinition: taskDefinition.arn,
        desiredCount: settings.apiDesiredCount,
        launchType: "FARGATE",
        networkConfiguration: {
          subnets: args.privateSubnetIds,
          securityGroups: [args.apiSecurityGroupId],
          assignPublicIp: false,
        },
        loadBalancers: [
          {
            targetGroupArn: this.targetGroup.arn,
            containerName: CONTAINER_NAME,
            containerPort: API_PORT,
          },
        ],
        healthCheckGracePeriodSeconds: HEALTH_CHECK_GRACE_SECONDS,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        propagateTags: "SERVICE",
        // `pulumi up` succeeds only once the tasks run and pass their health checks; a task
        // that cannot start fails the update instead of crash-looping unseen.
        waitForSteadyState: true,
      },
      // Tasks start only once their roles carry their policies (image pull, logs, secrets, the
      // database) and the ledger is migrated.
      {
        parent: this,
        dependsOn: [...listeners, executionPolicy, taskPolicy, ...(args.dependsOn ?? [])],
      },
    );
    this.registerOutputs({ albDnsName: this.loadBalancer.dnsName });
  }

  /** Answers 404 for PRIVATE_PATHS on a listener that forwards, before the default action. */
  private blockPrivatePaths(context: StackContext, listener: aws.lb.Listener, type: string): void {
    new aws.lb.ListenerRule(
      context.name(`${type}-private-paths`),
      {
        listenerArn: listener.arn,
        priority: 1,
        conditions: [{ pathPattern: { values: PRIVATE_PATHS } }],
        actions: [
          {
            type: "fixed-response",
            fixedResponse: {
              statusCode: "404",
              contentType: "application/json",
              messageBody: JSON.stringify({
                error: { code: "TXW_ERR_NOT_FOUND", message: "not found" },
              }),
            },
          },
        ],
      },
      { parent: this },
    );
  }

  /** HTTPS with the configured certificate (HTTP then redirects), else plain HTTP. */
  private listeners(context: StackContext): aws.lb.Listener[] {
    const parent = { parent: this };
    const forward = [{ type: "forward", targetGroupArn: this.targetGroup.arn }];
    const { certificateArn } = context.settings;
    if (certificateArn === "") {
      const http = new aws.lb.Listener(
        context.name("api-http"),
        {
          loadBalancerArn: this.loadBalancer.arn,
          port: 80,
          protocol: "HTTP",
          defaultActions: forward,
        },
        parent,
      );
      this.blockPrivatePaths(context, http, "api-http");
      return [http];
    }
    const https = new aws.lb.Listener(
      context.name("api-https"),
      {
        loadBalancerArn: this.loadBalancer.arn,
        port: 443,
        protocol: "HTTPS",
        sslPolicy: TLS_POLICY,
        certificateArn,
        defaultActions: forward,
      },
      parent,
    );
    this.blockPrivatePaths(context, https, "api-https");
    return [
      https,
      new aws.lb.Listener(
        context.name("api-http-redirect"),
        {
          loadBalancerArn: this.loadBalancer.arn,
          port: 80,
          protocol: "HTTP",
          defaultActions: [
            {
              type: "redirect",
              redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" },
            },
          ],
        },
        parent,
      ),
    ];
  }

  /** The image to run: from config, or the repository's Dockerfile built for ARM64 into ECR. */
  private image_(
    context: StackContext,
    keyArn: pulumi.Input<string>,
  ): { image: pulumi.Output<string>; pullStatements: Statement[] } {
    const parent = { parent: this };
    const tokenStatement: Statement = {
      // GetAuthorizationToken has no resource-level permissions: "*" is the only scope.
      Sid: "EcrLogin",
      Effect: "Allow",
      Action: ["ecr:GetAuthorizationToken"],
      Resource: "*",
    };
    const pull = (resource: pulumi.Input<string>): Statement => ({
      Sid: "PullTheApiImage",
      Effect: "Allow",
      Action: [
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
      ],
      Resource: resource,
    });
    if (context.settings.apiImageUri !== "") {
      return {
        image: pulumi.output(context.settings.apiImageUri),
        pullStatements: [
          tokenStatement,
          pull(pulumi.interpolate`arn:aws:ecr:${context.region}:${context.accountId}:repository/*`),
        ],
      };
    }
    const repository = new aws.ecr.Repository(
      context.name("api"),
      {
        name: context.name("api"),
        forceDelete: true,
        imageTagMutability: "MUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [
          context.dataKey(keyArn) === undefined
            ? { encryptionType: "AES256" }
            : { encryptionType: "KMS", kmsKey: keyArn },
        ],
      },
      parent,
    );
    new aws.ecr.LifecyclePolicy(
      context.name("api-image-lifecycle"),
      {
        repository: repository.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: "keep the last 10 images",
              selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 },
              action: { type: "expire" },
            },
          ],
        }),
      },
      parent,
    );
    const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, parent);
    const built = new dockerBuild.Image(
      context.name("api-image"),
      {
        context: { location: REPOSITORY_ROOT },
        dockerfile: { location: `${REPOSITORY_ROOT}Dockerfile` },
        platforms: ["linux/arm64"],
        // A preview shows the image to come; only `pulumi up` builds and pushes it.
        buildOnPreview: false,
        push: true,
        tags: [pulumi.interpolate`${repository.repositoryUrl}:latest`],
        registries: [
          {
            address: repository.repositoryUrl,
            username: auth.userName,
            password: pulumi.secret(auth.password),
          },
        ],
      },
      parent,
    );
    return { image: built.ref, pullStatements: [tokenStatement, pull(repository.arn)] };
  }
}
