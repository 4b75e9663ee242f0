import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cidrList, databaseAccessCidrs, isInternetFacing } from "../config.ts";
import type { StackContext } from "../context.ts";

export interface SecurityGroupsArgs {
  /** The stack's preset, settings and naming; required, so no component invents its own names. */
  context: StackContext;
  /** The stack's VPC; required. */
  vpcId: pulumi.Input<string>;
  /** Port the API container listens on. @default 8080 */
  apiPort?: number;
}

export const DB_PORT = 5432;
export const REDIS_PORT = 6379;
export const API_PORT = 8080;

/**
 * The security groups and every rule between them (SEC-2). Rules are separate resources that
 * reference groups, never CIDRs, on the data tier: the database and the cache accept only the
 * processor and the API; API tasks accept only the ALB; only the ALB faces the internet. The one
 * exception is `databaseAccessCidrs`, a waiver the policy pack reports.
 */
export class SecurityGroups extends pulumi.ComponentResource {
  readonly alb: aws.ec2.SecurityGroup;
  readonly api: aws.ec2.SecurityGroup;
  readonly processor: aws.ec2.SecurityGroup;
  readonly database: aws.ec2.SecurityGroup;
  readonly cache: aws.ec2.SecurityGroup;

  constructor(name: string, args: SecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("txwatch:platform:SecurityGroups", name, {}, opts);
    const { context, vpcId } = args;
    const apiPort = args.apiPort ?? API_PORT;
    const group = (type: string, description: string) =>
      new aws.ec2.SecurityGroup(
        context.name(type),
        { name: context.name(type), vpcId, description, revokeRulesOnDelete: true },
        { parent: this },
      );
    this.alb = group("alb-sg", "Internet to the txwatch API load balancer");
    this.api = group("api-sg", "txwatch API tasks");
    this.processor = group("processor-sg", "txwatch stream processor Lambda");
    this.database = group("rds-sg", "txwatch ledger database");
    this.cache = group("elasticache-sg", "txwatch history cache");

    const ingress = (
      rule: string,
      to: aws.ec2.SecurityGroup,
      port: number,
      from: aws.ec2.SecurityGroup,
    ) =>
      new aws.vpc.SecurityGroupIngressRule(
        context.name(rule),
        {
          securityGroupId: to.id,
          referencedSecurityGroupId: from.id,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          description: `${port} from ${rule}`,
        },
        { parent: this },
      );
    const egressTo = (
      rule: string,
      from: aws.ec2.SecurityGroup,
      port: number,
      to: aws.ec2.SecurityGroup,
    ) =>
      new aws.vpc.SecurityGroupEgressRule(
        context.name(rule),
        {
          securityGroupId: from.id,
          referencedSecurityGroupId: to.id,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          description: `${port} to ${rule}`,
        },
        { parent: this },
      );

    // An internet-facing ALB (a certificate, or the publicHttp opt-in) takes the internet on the
    // ports it listens on; an internal one takes only the VPC and the networks connected to it
    // (albIngressCidrs), on HTTP (AWS-5).
    const { certificateArn } = context.settings;
    const sources: (readonly [string, string])[] = isInternetFacing(context.settings)
      ? [
          ["ipv4", "0.0.0.0/0"],
          ["ipv6", "::/0"],
        ]
      : [
          ["vpc", context.settings.vpcCidr],
          ...cidrList(context.settings, "albIngressCidrs").map(
            (cidr, i) => [`connected-${i + 1}`, cidr] as const,
          ),
        ];
    const ports = certificateArn === "" ? [80] : [80, 443];
    for (const [i, cidr] of sources) {
      for (const port of ports) {
        new aws.vpc.SecurityGroupIngressRule(
          context.name(`alb-${port}-${i}-in`),
          {
            securityGroupId: this.alb.id,
            ...(i === "ipv6" ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            description: `HTTP${port === 443 ? "S" : ""} from ${i.startsWith("ipv") ? "the internet" : cidr}`,
          },
          { parent: this },
        );
      }
    }
    egressTo("alb-to-api", this.alb, apiPort, this.api);
    ingress("api-from-alb", this.api, apiPort, this.alb);

    for (const [label, caller] of [
      ["api", this.api],
      ["processor", this.processor],
    ] as const) {
      ingress(`rds-from-${label}`, this.database, DB_PORT, caller);
      ingress(`elasticache-from-${label}`, this.cache, REDIS_PORT, caller);
      egressTo(`${label}-to-rds`, caller, DB_PORT, this.database);
      egressTo(`${label}-to-elasticache`, caller, REDIS_PORT, this.cache);
      // AWS APIs (through the interface endpoints or the NAT gateway) and webhooks over TLS.
      new aws.vpc.SecurityGroupEgressRule(
        context.name(`${label}-https-out`),
        {
          securityGroupId: caller.id,
          cidrIpv4: "0.0.0.0/0",
          ipProtocol: "tcp",
          fromPort: 443,
          toPort: 443,
          description: "HTTPS to AWS APIs",
        },
        { parent: this },
      );
    }
    for (const [i, cidr] of databaseAccessCidrs(context.settings).entries()) {
      new aws.vpc.SecurityGroupIngressRule(
        context.name(`rds-from-cidr-${i + 1}`),
        {
          securityGroupId: this.database.id,
          cidrIpv4: cidr,
          ipProtocol: "tcp",
          fromPort: DB_PORT,
          toPort: DB_PORT,
          description: `${DB_PORT} from ${cidr} (databaseAccessCidrs)`,
        },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}
