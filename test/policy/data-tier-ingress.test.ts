import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { T, UNKNOWN } from "../../policy/model.ts";
import { dataTierIngress as policy } from "../../policy/policies/data-tier-ingress.ts";
import {
  compliantStack,
  resource,
  URN,
  withProps,
  withReferences,
  withResource,
} from "./fixtures.ts";

const ingress = (group: string, rule: string, from: string) =>
  `Security group rule ${rule} must admit the data tier (${group}) only from a security group, not from ${from}.`;

/** The rule `rds-from-api` with its source group replaced by `props`. */
function rdsRuleFrom(props: Record<string, unknown>) {
  const stack = withProps(compliantStack(), URN.rdsFromApi, {
    referencedSecurityGroupId: undefined,
    ...props,
  });
  return withReferences(stack, URN.rdsFromApi, { referencedSecurityGroupId: undefined });
}

const legacyRule = (props: Record<string, unknown>) =>
  resource(
    T.securityGroupRule,
    "rds-legacy-in-pr42",
    {
      securityGroupId: "rds-sg-pr42-id",
      fromPort: 5432,
      toPort: 5432,
      protocol: "tcp",
      ...props,
    },
    { securityGroupId: [URN.rdsSg] },
  );

describe("data-tier-ingress-from-security-groups", () => {
  test("POL-1 SEC-2 data-tier-ingress: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 SEC-2 data-tier-ingress: a database rule from an IPv4 range is reported", () => {
    const stack = rdsRuleFrom({ cidrIpv4: "10.0.0.0/16" });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.rdsFromApi, message: ingress("rds-sg-pr42", "rds-from-api-pr42", "10.0.0.0/16") },
    ]);
  });

  test("POL-1 SEC-2 data-tier-ingress: a cache rule from an IPv6 range is reported", () => {
    let stack = withProps(compliantStack(), URN.cacheFromApi, {
      referencedSecurityGroupId: undefined,
      cidrIpv6: "::/0",
    });
    stack = withReferences(stack, URN.cacheFromApi, { referencedSecurityGroupId: undefined });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cacheFromApi,
        message: ingress("elasticache-sg-pr42", "elasticache-from-api-pr42", "::/0"),
      },
    ]);
  });

  test("POL-1 SEC-2 data-tier-ingress: a database rule from a prefix list is reported", () => {
    const stack = rdsRuleFrom({ prefixListId: "pl-0123456789abcdef0" });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.rdsFromApi,
        message: ingress("rds-sg-pr42", "rds-from-api-pr42", "pl-0123456789abcdef0"),
      },
    ]);
  });

  test("POL-1 SEC-2 data-tier-ingress: a database rule with a range besides its source group is reported", () => {
    const stack = withProps(compliantStack(), URN.rdsFromApi, { cidrIpv4: "0.0.0.0/0" });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.rdsFromApi, message: ingress("rds-sg-pr42", "rds-from-api-pr42", "0.0.0.0/0") },
    ]);
  });

  test("POL-1 SEC-2 data-tier-ingress: a database rule without any source is reported", () => {
    const stack = rdsRuleFrom({});
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.rdsFromApi,
        message:
          "Security group rule rds-from-api-pr42 must name the security group it admits to the data tier (rds-sg-pr42) in referencedSecurityGroupId.",
      },
    ]);
  });

  test("POL-1 SEC-2 data-tier-ingress: a SecurityGroupRule ingress from ranges is reported", () => {
    const stack = withResource(
      compliantStack(),
      legacyRule({ type: "ingress", cidrBlocks: ["10.0.0.0/16", "10.1.0.0/16"] }),
    );
    assert.deepEqual(policy.validate(stack), [
      {
        urn: legacyRule({}).urn,
        message: ingress("rds-sg-pr42", "rds-legacy-in-pr42", "10.0.0.0/16, 10.1.0.0/16"),
      },
    ]);
  });

  test("POL-1 SEC-2 data-tier-ingress: a SecurityGroupRule ingress from an IPv6 range or prefix list is reported", () => {
    const stack = withResource(
      compliantStack(),
      legacyRule({ type: "ingress", ipv6CidrBlocks: ["::/0"], prefixListIds: ["pl-1"] }),
    );
    assert.deepEqual(policy.validate(stack), [
      {
        urn: legacyRule({}).urn,
        message: ingress("rds-sg-pr42", "rds-legacy-in-pr42", "::/0, pl-1"),
      },
    ]);
  });

  test("POL-1 SEC-2 data-tier-ingress: SecurityGroupRule egress to a range, and ingress from a group, pass", () => {
    const egress = legacyRule({ type: "egress", cidrBlocks: ["0.0.0.0/0"] });
    const fromGroup = {
      ...legacyRule({ type: "ingress", sourceSecurityGroupId: "api-sg-pr42-id" }),
      urn: `${legacyRule({}).urn}-2`,
    };
    const stack = withResource(compliantStack(), egress, fromGroup);
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 SEC-2 data-tier-ingress: an inline ingress block from a range on a data-tier group is reported", () => {
    const stack = withProps(compliantStack(), URN.cacheSg, {
      ingress: [
        { protocol: "tcp", fromPort: 6379, toPort: 6379, securityGroups: ["api-sg-pr42-id"] },
        { protocol: "tcp", fromPort: 6379, toPort: 6379, cidrBlocks: ["0.0.0.0/0"] },
      ],
    });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.cacheSg,
        message: ingress(
          "elasticache-sg-pr42",
          "elasticache-sg-pr42 (inline ingress)",
          "0.0.0.0/0",
        ),
      },
    ]);
  });

  test("POL-1 SEC-2 data-tier-ingress: the load balancer's group may take the internet", () => {
    const stack = withProps(compliantStack(), URN.albSg, {
      ingress: [{ protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"] }],
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 SEC-2 data-tier-ingress: a standalone cache cluster's group is data tier too", () => {
    let stack = withResource(
      compliantStack(),
      resource(
        T.cacheCluster,
        "sessions-pr42",
        { clusterId: "sessions-pr42", engine: "memcached", securityGroupIds: ["api-sg-pr42-id"] },
        { securityGroupIds: [URN.apiSg] },
      ),
    );
    stack = withReferences(stack, URN.apiFromAlb, { referencedSecurityGroupId: undefined });
    stack = withProps(stack, URN.apiFromAlb, {
      referencedSecurityGroupId: undefined,
      cidrIpv4: "0.0.0.0/0",
    });
    assert.deepEqual(policy.validate(stack), [
      { urn: URN.apiFromAlb, message: ingress("api-sg-pr42", "api-from-alb-pr42", "0.0.0.0/0") },
    ]);
  });

  test("POL-1 SEC-2 data-tier-ingress: a source group unknown during a preview is not a finding", () => {
    const stack = withProps(compliantStack(), URN.rdsFromApi, {
      referencedSecurityGroupId: UNKNOWN,
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 SEC-2 data-tier-ingress: a range unknown during a preview is not a finding (nor a missing source group)", () => {
    const stack = rdsRuleFrom({ cidrIpv4: UNKNOWN });
    assert.deepEqual(policy.validate(stack), []);
  });
});
