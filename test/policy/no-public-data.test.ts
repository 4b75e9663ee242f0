import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { T, UNKNOWN } from "../../policy/model.ts";
import { noPublicData as policy } from "../../policy/policies/no-public-data.ts";
import {
  compliantStack,
  denyInsecureTransport,
  resource,
  URN,
  withoutResource,
  withProps,
  withReferences,
  withResource,
  withStatements,
} from "./fixtures.ts";

const DB_SUBNETS =
  "Subnet group ledger-subnets-pr42 must hold only private subnets (no route to an internet gateway, no public IPs).";
const CACHE_SUBNETS =
  "Subnet group cache-subnets-pr42 must hold only private subnets (no route to an internet gateway, no public IPs).";
const BOTH_GROUPS = [
  { urn: URN.dbSubnets, message: DB_SUBNETS },
  { urn: URN.cacheSubnets, message: CACHE_SUBNETS },
];
const BLOCK =
  "S3 bucket processed-transactions-pr42 must block all public access (a public access block with all four settings true).";
const ANONYMOUS =
  'S3 bucket processed-transactions-pr42 must not allow anonymous access in its bucket policy (Principal "*" without a condition).';
const DATA_BUCKET = "processed-transactions-pr42";

const acl = (value: string) =>
  resource(
    T.bucketAcl,
    "processed-transactions-acl-pr42",
    { bucket: "processed-transactions-pr42-id", acl: value },
    { bucket: [URN.dataBucket] },
  );

describe("no-public-data-stores", () => {
  test("POL-1 STO-1 DB-1 no-public-data-stores: a compliant stack has no findings", () => {
    assert.deepEqual(policy.validate(compliantStack()), []);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: a publicly accessible RDS instance is reported", () => {
    const stack = withProps(compliantStack(), URN.db, { publiclyAccessible: true });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.db,
        message:
          "Database ledger-db-pr42 must not be publicly accessible (publiclyAccessible false).",
      },
    ]);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: a publicly accessible Aurora instance is reported", () => {
    const stack = withProps(compliantStack(), URN.reader, { publiclyAccessible: true });
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.reader,
        message:
          "Database ledger-reader-pr42 must not be publicly accessible (publiclyAccessible false).",
      },
    ]);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: a DB subnet group holding a public subnet is reported", () => {
    const stack = withReferences(compliantStack(), URN.dbSubnets, {
      subnetIds: [URN.privateSubnet1, URN.publicSubnet2],
    });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.dbSubnets, message: DB_SUBNETS }]);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: a cache subnet group holding a public subnet is reported", () => {
    const stack = withReferences(compliantStack(), URN.cacheSubnets, {
      subnetIds: [URN.publicSubnet1, URN.privateSubnet2],
    });
    assert.deepEqual(policy.validate(stack), [{ urn: URN.cacheSubnets, message: CACHE_SUBNETS }]);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: a private subnet that maps public IPs makes its subnet groups public", () => {
    const stack = withProps(compliantStack(), URN.privateSubnet1, { mapPublicIpOnLaunch: true });
    assert.deepEqual(policy.validate(stack), BOTH_GROUPS);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: a private subnet associated with the public route table is reported", () => {
    const stack = withReferences(compliantStack(), URN.privateAssociation2, {
      routeTableId: [URN.publicRouteTable],
    });
    assert.deepEqual(policy.validate(stack), BOTH_GROUPS);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: a private route table whose default route goes to the internet gateway is reported", () => {
    const stack = withReferences(compliantStack(), URN.privateRoute, {
      natGatewayId: undefined,
      gatewayId: [URN.igw],
    });
    assert.deepEqual(policy.validate(stack), BOTH_GROUPS);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: an IPv6 default route to an existing igw- gateway is reported", () => {
    const stack = withProps(compliantStack(), URN.privateRoute, {
      destinationCidrBlock: undefined,
      destinationIpv6CidrBlock: "::/0",
      natGatewayId: undefined,
      gatewayId: "igw-0123456789abcdef0",
    });
    assert.deepEqual(policy.validate(stack), BOTH_GROUPS);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: an inline default route to the internet gateway is reported", () => {
    let stack = withProps(compliantStack(), URN.privateRouteTable, {
      routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: "igw-pr42-id" }],
    });
    stack = withReferences(stack, URN.privateRouteTable, { routes: [URN.igw] });
    assert.deepEqual(policy.validate(stack), BOTH_GROUPS);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: a default route through NAT keeps subnets private", () => {
    let stack = withoutResource(compliantStack(), URN.privateRoute);
    stack = withProps(stack, URN.privateRouteTable, {
      routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: "nat-1-pr42-id" }],
    });
    stack = withReferences(stack, URN.privateRouteTable, { routes: [URN.nat] });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: a bucket without a public access block is reported", () => {
    const stack = withoutResource(compliantStack(), URN.dataAccessBlock);
    assert.deepEqual(policy.validate(stack), [{ urn: URN.dataBucket, message: BLOCK }]);
  });

  for (const flag of [
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
  ]) {
    test(`POL-1 STO-1 DB-1 no-public-data-stores: a public access block with ${flag} false is reported`, () => {
      const stack = withProps(compliantStack(), URN.dataAccessBlock, { [flag]: false });
      assert.deepEqual(policy.validate(stack), [{ urn: URN.dataBucket, message: BLOCK }]);
    });
  }

  test("POL-1 STO-1 DB-1 no-public-data-stores: a public-read bucket ACL is reported", () => {
    const stack = withResource(compliantStack(), acl("public-read"));
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.dataBucket,
        message: "S3 bucket processed-transactions-pr42 must not grant a public ACL.",
      },
    ]);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: an authenticated-read bucket ACL is reported", () => {
    const stack = withResource(compliantStack(), acl("authenticated-read"));
    assert.deepEqual(policy.validate(stack), [
      {
        urn: URN.dataBucket,
        message: "S3 bucket processed-transactions-pr42 must not grant a public ACL.",
      },
    ]);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: a private bucket ACL passes", () => {
    const stack = withResource(compliantStack(), acl("private"));
    assert.deepEqual(policy.validate(stack), []);
  });

  test('POL-1 STO-1 DB-1 no-public-data-stores: a bucket policy allowing Principal "*" without a condition is reported', () => {
    const stack = withStatements(
      compliantStack(),
      URN.dataPolicy,
      denyInsecureTransport(DATA_BUCKET),
      {
        Sid: "PublicRead",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: `arn:aws:s3:::${DATA_BUCKET}/*`,
      },
    );
    assert.deepEqual(policy.validate(stack), [{ urn: URN.dataBucket, message: ANONYMOUS }]);
  });

  test('POL-1 STO-1 DB-1 no-public-data-stores: a bucket policy allowing Principal {"AWS": "*"} is reported', () => {
    const stack = withStatements(
      compliantStack(),
      URN.dataPolicy,
      denyInsecureTransport(DATA_BUCKET),
      {
        Effect: "Allow",
        Principal: { AWS: ["*"] },
        Action: "s3:GetObject",
        Resource: `arn:aws:s3:::${DATA_BUCKET}/*`,
      },
    );
    assert.deepEqual(policy.validate(stack), [{ urn: URN.dataBucket, message: ANONYMOUS }]);
  });

  test('POL-1 STO-1 DB-1 no-public-data-stores: Principal "*" limited by a condition passes, and so does the TLS deny', () => {
    const stack = withStatements(
      compliantStack(),
      URN.dataPolicy,
      denyInsecureTransport(DATA_BUCKET),
      {
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: `arn:aws:s3:::${DATA_BUCKET}/*`,
        Condition: { StringEquals: { "aws:SourceVpce": "vpce-0123456789abcdef0" } },
      },
    );
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: the load balancer in the public subnets is not a data store", () => {
    const stack = compliantStack();
    const alb = stack.resources.find((r) => r.urn === URN.alb);
    assert.deepEqual(alb?.references.subnets, [URN.publicSubnet1, URN.publicSubnet2]);
    assert.deepEqual(policy.validate(stack), []);
  });

  test("POL-1 STO-1 DB-1 no-public-data-stores: values unknown during a preview are never a finding", () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ["db publiclyAccessible", URN.db, { publiclyAccessible: UNKNOWN }],
      ["subnet mapPublicIpOnLaunch", URN.privateSubnet1, { mapPublicIpOnLaunch: UNKNOWN }],
      ["access block flag", URN.dataAccessBlock, { restrictPublicBuckets: UNKNOWN }],
      ["bucket policy", URN.dataPolicy, { policy: UNKNOWN }],
    ];
    const found = Object.fromEntries(
      cases.map(([what, urn, patch]) => [
        what,
        policy.validate(withProps(compliantStack(), urn, patch)),
      ]),
    );
    assert.deepEqual(found, Object.fromEntries(cases.map(([what]) => [what, []])));
  });
});
