/**
 * The neutral model every policy judges: a resource with its inputs, its options and which
 * other resources each input came from. Two adapters build it: `crossguard.ts` from what the
 * Pulumi engine hands a policy pack, and `infra/plan/policy-check.ts` from the offline plan.
 * Policies are pure functions of it, so the same code runs under `pulumi preview` and in tests.
 */

/** A value Pulumi cannot know during a preview (an ID not yet created). Never a violation. */
export const UNKNOWN: unique symbol = Symbol.for("txwatch.policy.unknown");

export interface CheckedResource {
  /** Unique in the stack: the URN under Pulumi, `type::name` in an offline plan. */
  urn: string;
  type: string;
  /** The logical name the program gave it. */
  name: string;
  /** Inputs; values unknown during a preview are `UNKNOWN`. */
  props: Readonly<Record<string, unknown>>;
  /** Resource options; undefined where the engine does not report one. */
  protect?: boolean;
  retainOnDelete?: boolean;
  /** For each top-level input, the URNs of the resources its value came from. */
  references: Readonly<Record<string, readonly string[]>>;
}

/** One violation: the resource and the sentence that says what it must do. */
export interface Finding {
  urn: string;
  message: string;
}

export interface TxwatchPolicy {
  /** kebab-case, unique in the pack. */
  name: string;
  /** "Checks whether ..." */
  description: string;
  /**
   * "resource": judges each resource alone, by the inputs the program gives it, so under Pulumi
   * it runs before the resource is created or changed, and sees a setting the program leaves
   * out as absent. "stack": follows references between resources; under Pulumi it judges the
   * stack's state (in a preview, before anything changes).
   */
  scope: "resource" | "stack";
  /** Pure: the same stack gives the same findings. */
  validate(stack: StackView): Finding[];
}

/** The whole stack, with lookups along references. */
export class StackView {
  readonly resources: readonly CheckedResource[];
  /** The suffix every name must carry; undefined when the caller cannot tell. */
  readonly environmentSuffix: string | undefined;
  private readonly byUrn: ReadonlyMap<string, CheckedResource>;

  constructor(resources: readonly CheckedResource[], environmentSuffix?: string) {
    this.resources = resources;
    this.environmentSuffix = environmentSuffix;
    this.byUrn = new Map(resources.map((r) => [r.urn, r]));
  }

  ofType(...types: string[]): CheckedResource[] {
    return this.resources.filter((r) => types.includes(r.type));
  }

  /** The resources that `resource`'s input `property` came from, optionally of one type. */
  referenced(resource: CheckedResource, property: string, type?: string): CheckedResource[] {
    return (resource.references[property] ?? [])
      .map((urn) => this.byUrn.get(urn))
      .filter(
        (r): r is CheckedResource => r !== undefined && (type === undefined || r.type === type),
      );
  }

  /** The resources of `type` whose input `property` came from `target`. */
  referencing(target: CheckedResource, type: string, property: string): CheckedResource[] {
    return this.ofType(type).filter((r) => (r.references[property] ?? []).includes(target.urn));
  }
}

export const T = {
  bucket: "aws:s3/bucket:Bucket",
  bucketAcl: "aws:s3/bucketAcl:BucketAcl",
  bucketEncryption:
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  bucketLogging: "aws:s3/bucketLogging:BucketLogging",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  bucketPublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  cacheCluster: "aws:elasticache/cluster:Cluster",
  cacheSubnetGroup: "aws:elasticache/subnetGroup:SubnetGroup",
  clusterInstance: "aws:rds/clusterInstance:ClusterInstance",
  clusterParameterGroup: "aws:rds/clusterParameterGroup:ClusterParameterGroup",
  dbCluster: "aws:rds/cluster:Cluster",
  dbInstance: "aws:rds/instance:Instance",
  dbParameterGroup: "aws:rds/parameterGroup:ParameterGroup",
  dbSubnetGroup: "aws:rds/subnetGroup:SubnetGroup",
  dynamoTable: "aws:dynamodb/table:Table",
  ecrRepository: "aws:ecr/repository:Repository",
  iamGroupPolicy: "aws:iam/groupPolicy:GroupPolicy",
  iamPolicy: "aws:iam/policy:Policy",
  iamPolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
  iamUserPolicy: "aws:iam/userPolicy:UserPolicy",
  internetGateway: "aws:ec2/internetGateway:InternetGateway",
  kinesisStream: "aws:kinesis/stream:Stream",
  kmsKey: "aws:kms/key:Key",
  listener: "aws:lb/listener:Listener",
  listenerRule: "aws:lb/listenerRule:ListenerRule",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  replicationGroup: "aws:elasticache/replicationGroup:ReplicationGroup",
  route: "aws:ec2/route:Route",
  routeTable: "aws:ec2/routeTable:RouteTable",
  routeTableAssociation: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  secret: "aws:secretsmanager/secret:Secret",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  snsTopic: "aws:sns/topic:Topic",
  sqsQueue: "aws:sqs/queue:Queue",
  subnet: "aws:ec2/subnet:Subnet",
  vpcIngressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
} as const;

/** How a finding names a resource: its logical name, which carries the environment suffix. */
export function label(resource: CheckedResource): string {
  return resource.name;
}

export function isKnown(value: unknown): boolean {
  return value !== UNKNOWN;
}

/** An input as a list (AWS accepts one value or many in policy documents). */
export function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** A record input, or an empty one (absent, unknown or not an object). */
export function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Runs `check` on every resource of the given types; each sentence becomes a finding. */
export function eachOf(
  stack: StackView,
  types: readonly string[],
  check: (resource: CheckedResource) => (string | undefined)[],
): Finding[] {
  return stack.ofType(...types).flatMap((resource) =>
    check(resource)
      .filter((message): message is string => message !== undefined)
      .map((message) => ({ urn: resource.urn, message })),
  );
}

/** A JSON policy document input, parsed; undefined while unknown or unreadable. */
export function policyDocument(value: unknown): { Statement?: unknown } | undefined {
  if (typeof value === "string") {
    try {
      return JSON.parse(value) as { Statement?: unknown };
    } catch {
      return undefined;
    }
  }
  return typeof value === "object" && value !== null
    ? (value as { Statement?: unknown })
    : undefined;
}

export interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export function statementsOf(value: unknown): PolicyStatement[] {
  return list(policyDocument(value)?.Statement).filter(
    (s): s is PolicyStatement => typeof s === "object" && s !== null,
  );
}
