import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../context.ts";
import { encryptedLogGroup } from "../log-group.ts";
import { serviceRole } from "../service-role.ts";
import { subnetPlan } from "../subnets.ts";

export interface NetworkArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** Key for the flow-log group. */
  keyArn: pulumi.Input<string>;
}

/**
 * Interface endpoints private compute needs when there is no NAT gateway (NET-2): the stream,
 * secrets, logs and metrics, the key, image pulls, alert publishing and role credentials.
 */
export const INTERFACE_ENDPOINT_SERVICES = [
  "kinesis-streams",
  "secretsmanager",
  "logs",
  "monitoring",
  "kms",
  "ecr.api",
  "ecr.dkr",
  "sns",
  "sts",
  "sqs",
] as const;

/**
 * VPC with public and private subnets in two AZs, an internet gateway for the ALB, 0 or 1 NAT
 * gateway per preset, S3 and DynamoDB gateway endpoints, interface endpoints when there is no
 * NAT, flow logs to CloudWatch and a default security group that allows nothing (NET-1..3).
 */
export class Network extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly privateRouteTable: aws.ec2.RouteTable;
  /** The VPC's default group, with no rules: where a Lambda's interfaces go on destroy. */
  readonly defaultSecurityGroup: aws.ec2.DefaultSecurityGroup;
  readonly natGateways: aws.ec2.NatGateway[] = [];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:Network", name, {}, opts);
    const { context, keyArn } = args;
    const { settings } = context;
    const parent = { parent: this };

    this.vpc = new aws.ec2.Vpc(
      context.name("transaction-vpc"),
      { cidrBlock: settings.vpcCidr, enableDnsSupport: true, enableDnsHostnames: true },
      parent,
    );
    const vpcId = this.vpc.id;

    // Nothing may use the default group: no rules at all.
    this.defaultSecurityGroup = new aws.ec2.DefaultSecurityGroup(
      context.name("default-sg"),
      { vpcId, ingress: [], egress: [] },
      parent,
    );

    const igw = new aws.ec2.InternetGateway(context.name("igw"), { vpcId }, parent);
    const publicRouteTable = new aws.ec2.RouteTable(context.name("public-rt"), { vpcId }, parent);
    new aws.ec2.Route(
      context.name("public-default-route"),
      { routeTableId: publicRouteTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
      parent,
    );
    this.privateRouteTable = new aws.ec2.RouteTable(context.name("private-rt"), { vpcId }, parent);

    const publicSubnets: aws.ec2.Subnet[] = [];
    const privateSubnets: aws.ec2.Subnet[] = [];
    for (const [i, plan] of subnetPlan(settings.vpcCidr, context.region).entries()) {
      const n = i + 1;
      const pub = new aws.ec2.Subnet(
        context.name(`public-subnet-${n}`),
        {
          vpcId,
          cidrBlock: plan.publicCidr,
          availabilityZone: plan.az,
          mapPublicIpOnLaunch: false,
        },
        parent,
      );
      const priv = new aws.ec2.Subnet(
        context.name(`private-subnet-${n}`),
        {
          vpcId,
          cidrBlock: plan.privateCidr,
          availabilityZone: plan.az,
          mapPublicIpOnLaunch: false,
        },
        parent,
      );
      new aws.ec2.RouteTableAssociation(
        context.name(`public-rta-${n}`),
        { subnetId: pub.id, routeTableId: publicRouteTable.id },
        parent,
      );
      new aws.ec2.RouteTableAssociation(
        context.name(`private-rta-${n}`),
        { subnetId: priv.id, routeTableId: this.privateRouteTable.id },
        parent,
      );
      publicSubnets.push(pub);
      privateSubnets.push(priv);
    }
    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.privateSubnetIds = privateSubnets.map((s) => s.id);

    // One NAT at most (finserv: "only create 1"): its AZ is a single point for egress only.
    for (let i = 0; i < settings.natGateways; i++) {
      const eip = new aws.ec2.Eip(context.name(`nat-eip-${i + 1}`), { domain: "vpc" }, parent);
      const subnet = publicSubnets[i % publicSubnets.length] as aws.ec2.Subnet;
      const nat = new aws.ec2.NatGateway(
        context.name(`nat-${i + 1}`),
        { allocationId: eip.id, subnetId: subnet.id, connectivityType: "public" },
        { parent: this, dependsOn: [igw] },
      );
      this.natGateways.push(nat);
    }
    const firstNat = this.natGateways[0];
    if (firstNat !== undefined) {
      new aws.ec2.Route(
        context.name("private-default-route"),
        {
          routeTableId: this.privateRouteTable.id,
          destinationCidrBlock: "0.0.0.0/0",
          natGatewayId: firstNat.id,
        },
        parent,
      );
    }

    for (const service of ["s3", "dynamodb"]) {
      new aws.ec2.VpcEndpoint(
        context.name(`${service}-endpoint`),
        {
          vpcId,
          serviceName: `com.amazonaws.${context.region}.${service}`,
          vpcEndpointType: "Gateway",
          routeTableIds: [this.privateRouteTable.id],
        },
        parent,
      );
    }

    this.createFlowLogs(context, keyArn);
    this.registerOutputs({ vpcId });
  }

  /** Interface endpoints, created once the callers' security groups exist (NET-2). */
  addInterfaceEndpoints(context: StackContext, callerGroupIds: pulumi.Input<string>[]): void {
    if (context.settings.natGateways > 0) return;
    const parent = { parent: this };
    const endpointSg = new aws.ec2.SecurityGroup(
      context.name("endpoints-sg"),
      {
        name: context.name("endpoints-sg"),
        vpcId: this.vpc.id,
        description: "HTTPS from txwatch compute to AWS interface endpoints",
      },
      parent,
    );
    for (const [i, groupId] of callerGroupIds.entries()) {
      new aws.vpc.SecurityGroupIngressRule(
        context.name(`endpoints-https-in-${i + 1}`),
        {
          securityGroupId: endpointSg.id,
          referencedSecurityGroupId: groupId,
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
          description: "HTTPS from txwatch compute",
        },
        parent,
      );
    }
    for (const service of INTERFACE_ENDPOINT_SERVICES) {
      new aws.ec2.VpcEndpoint(
        context.name(`${service.replace(".", "-")}-endpoint`),
        {
          vpcId: this.vpc.id,
          serviceName: `com.amazonaws.${context.region}.${service}`,
          vpcEndpointType: "Interface",
          privateDnsEnabled: true,
          subnetIds: this.privateSubnetIds,
          securityGroupIds: [endpointSg.id],
        },
        parent,
      );
    }
  }

  private createFlowLogs(context: StackContext, keyArn: pulumi.Input<string>): void {
    const group = encryptedLogGroup(
      context,
      context.name("flow-logs"),
      `/txwatch/${context.name("flow-logs")}`,
      keyArn,
      this,
    );
    const { role, policy } = serviceRole(
      context,
      "flow-logs",
      "vpc-flow-logs.amazonaws.com",
      [
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          Resource: [group.arn, pulumi.interpolate`${group.arn}:*`],
        },
      ],
      this,
    );
    new aws.ec2.FlowLog(
      context.name("vpc-flow-log"),
      {
        vpcId: this.vpc.id,
        trafficType: "ALL",
        logDestinationType: "cloud-watch-logs",
        logDestination: group.arn,
        iamRoleArn: role.arn,
        maxAggregationInterval: 60,
      },
      { parent: this, dependsOn: [policy] },
    );
  }
}
