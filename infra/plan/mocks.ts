import type * as pulumi from "@pulumi/pulumi";

export const MOCK_ACCOUNT_ID = "123456789012";

type State = Record<string, unknown>;

function serviceOf(type: string): string {
  if (type === "aws:cloudwatch/eventRule:EventRule") return "events";
  const module = type.split(":")[1]?.split("/")[0] ?? "unknown";
  return (
    { cloudwatch: "logs", lb: "elasticloadbalancing", vpc: "ec2", elasticache: "elasticache" }[
      module
    ] ?? module
  );
}

/**
 * What AWS would compute for a resource, so outputs that other resources consume (ARNs,
 * endpoints, names) are concrete in an offline plan. Only shapes, never real values.
 */
export function computedState(type: string, name: string, inputs: State, region: string): State {
  const arn = `arn:aws:${serviceOf(type)}:${region}:${MOCK_ACCOUNT_ID}:${name}`;
  const base: State = { arn, name: inputs.name ?? name, ...inputs };
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return {
        ...base,
        arn: `arn:aws:s3:::${inputs.bucket ?? name}`,
        bucket: inputs.bucket ?? name,
      };
    case "aws:kms/key:Key":
      return {
        ...base,
        keyId: `${name}-key-id`,
        arn: `arn:aws:kms:${region}:${MOCK_ACCOUNT_ID}:key/${name}`,
      };
    case "aws:elasticache/replicationGroup:ReplicationGroup":
      // Cluster mode has a configuration endpoint and no primary endpoint, as on AWS.
      return inputs.numNodeGroups === undefined
        ? {
            ...base,
            primaryEndpointAddress: `master.${inputs.replicationGroupId}.cache.amazonaws.com`,
            port: inputs.port ?? 6379,
          }
        : {
            ...base,
            configurationEndpointAddress: `clustercfg.${inputs.replicationGroupId}.cache.amazonaws.com`,
            port: inputs.port ?? 6379,
          };
    case "aws:rds/instance:Instance":
      return {
        ...base,
        address: `${inputs.identifier}.rds.amazonaws.com`,
        port: inputs.port ?? 5432,
        resourceId: `db-${String(inputs.identifier).toUpperCase()}`,
        masterUserSecrets: [
          {
            secretArn: `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT_ID}:secret:rds!db-${name}`,
          },
        ],
      };
    case "aws:rds/cluster:Cluster":
      return {
        ...base,
        endpoint: `${inputs.clusterIdentifier}.cluster.rds.amazonaws.com`,
        readerEndpoint: `${inputs.clusterIdentifier}.cluster-ro.rds.amazonaws.com`,
        port: inputs.port ?? 5432,
        clusterResourceId: `cluster-${String(inputs.clusterIdentifier).toUpperCase()}`,
        masterUserSecrets: [
          {
            secretArn: `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT_ID}:secret:rds!cluster-${name}`,
          },
        ],
      };
    case "aws:lb/loadBalancer:LoadBalancer":
      return {
        ...base,
        dnsName: `${inputs.name}.${region}.elb.amazonaws.com`,
        arnSuffix: `app/${inputs.name}/0123456789abcdef`,
      };
    case "aws:lb/targetGroup:TargetGroup":
      return { ...base, arnSuffix: `targetgroup/${inputs.name}/0123456789abcdef` };
    case "aws:ecr/repository:Repository":
      return {
        ...base,
        repositoryUrl: `${MOCK_ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com/${inputs.name}`,
        registryId: MOCK_ACCOUNT_ID,
      };
    case "aws:cloudwatch/dashboard:Dashboard":
      return { ...base, dashboardName: inputs.dashboardName };
    case "random:index/randomPassword:RandomPassword":
      return { ...base, result: "offline-plan-placeholder" };
    case "docker-build:index:Image":
      return {
        ...base,
        ref: `${String((inputs.tags as string[] | undefined)?.[0] ?? name)}@sha256:0`,
        digest: "sha256:0",
      };
    default:
      return base;
  }
}

/** Invokes the program makes; anything else is a mistake and fails loudly. */
export function invokeResult(token: string, region: string, inputs: State = {}): State {
  switch (token) {
    case "aws:rds/getEngineVersion:getEngineVersion":
      // The plan cannot know AWS's default minor: it shows the pinned major and "x".
      return {
        engine: inputs.engine,
        version: `${String(inputs.version)}.x`,
        versionActual: `${String(inputs.version)}.x`,
        parameterGroupFamily: `${String(inputs.engine)}${String(inputs.version)}`,
      };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        accountId: MOCK_ACCOUNT_ID,
        arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/plan`,
        userId: "plan",
        id: MOCK_ACCOUNT_ID,
      };
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
      return {
        userName: "AWS",
        password: "offline-plan-placeholder",
        proxyEndpoint: `https://${MOCK_ACCOUNT_ID}.dkr.ecr.${region}.amazonaws.com`,
      };
    default:
      throw new Error(`the offline plan has no answer for invoke ${token}`);
  }
}

export type MockResourceArgs = pulumi.runtime.MockResourceArgs;
