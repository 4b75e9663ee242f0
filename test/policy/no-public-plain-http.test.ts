import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { T, UNKNOWN } from "../../policy/model.ts";
import { noPublicPlainHttp as policy } from "../../policy/policies/no-public-plain-http.ts";
import {
  ACCOUNT,
  compliantStack,
  resource,
  resourceAt,
  TARGET_GROUP_ARN,
  URN,
  update,
  urnOf,
  withProps,
  withResource,
} from "./fixtures.ts";

const FORWARD = [{ type: "forward", targetGroupArn: TARGET_GROUP_ARN }];
const WHAT_TO_DO =
  "set certificateArn to serve HTTPS (plain HTTP then only redirects to it), or leave the load balancer internal.";
const forwarding = (listener: string) =>
  `Listener ${listener} of internet-facing load balancer api-alb-pr42 must not forward plain HTTP: ${WHAT_TO_DO}`;
const REDIRECT_FORWARDS = [
  { urn: URN.httpRedirect, message: forwarding("api-http-redirect-pr42") },
];

/** The stack `publicHttp` gives: no certificate, one plain HTTP listener that forwards. */
function plainHttpOnly() {
  return withProps(compliantStack(), URN.httpsListener, {
    port: 80,
    protocol: "HTTP",
    sslPolicy: undefined,
    certificateArn: undefined,
  });
}

const RULE = "api-http-redirect-api-pr42";

/** A rule on the listener at `listenerUrn` that answers with `actions`. */
const rule = (listenerUrn: string, actions: unknown) =>
  resource(
    T.listenerRule,
    RULE,
    {
      listenerArn: `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:api-http-redirect-pr42`,
      priority: 10,
      conditions: [{ pathPattern: { values: ["/v1/*"] } }],
      actions,
    },
    { listenerArn: [listenerUrn] },
  );

describe("no-public-plain-http", () => {
  test("AWS-5 POL-1 no-public-plain-http: a compliant stack (HTTPS forwards, HTTP redirects to it) has no findings", () => {
    const stack = compliantStack();
    assert.deepEqual(
      [URN.httpsListener, URN.httpRedirect].map((urn) => {
        const { protocol, defaultActions } = resourceAt(stack, urn).props;
        return [protocol, (defaultActions as { type: string }[]).map((a) => a.type)];
      }),
      [
        ["HTTPS", ["forward"]],
        ["HTTP", ["redirect"]],
      ],
    );
    assert.equal(resourceAt(stack, URN.alb).props.internal, false);
    assert.deepEqual(policy.validate(stack), []);
  });

  test("AWS-5 POL-1 no-public-plain-http: an HTTP listener that forwards on an internet-facing load balancer is reported", () => {
    const stack = withProps(compliantStack(), URN.httpRedirect, { defaultActions: FORWARD });
    assert.deepEqual(policy.validate(stack), REDIRECT_FORWARDS);
  });

  test("AWS-5 POL-1 no-public-plain-http: the same listener on an internal load balancer passes", () => {
    let stack = withProps(compliantStack(), URN.httpRedirect, { defaultActions: FORWARD });
    stack = withProps(stack, URN.alb, { internal: true });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("AWS-5 POL-1 no-public-plain-http: internal unset is internet-facing (the provider's default) and is reported", () => {
    let stack = withProps(compliantStack(), URN.httpRedirect, { defaultActions: FORWARD });
    stack = withProps(stack, URN.alb, { internal: undefined });
    assert.deepEqual(policy.validate(stack), REDIRECT_FORWARDS);
  });

  test("AWS-5 POL-1 no-public-plain-http: plain HTTP without a certificate (the publicHttp opt-in) is reported", () => {
    assert.deepEqual(policy.validate(plainHttpOnly()), [
      { urn: URN.httpsListener, message: forwarding("api-https-pr42") },
    ]);
  });

  test("AWS-5 POL-1 no-public-plain-http: plain HTTP without a certificate on an internal load balancer passes", () => {
    const stack = withProps(plainHttpOnly(), URN.alb, { internal: true });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("AWS-5 POL-1 no-public-plain-http: an application load balancer listener without a protocol speaks HTTP and is reported", () => {
    const stack = withProps(compliantStack(), URN.httpRedirect, {
      protocol: undefined,
      defaultActions: FORWARD,
    });
    assert.deepEqual(policy.validate(stack), REDIRECT_FORWARDS);
  });

  test("AWS-5 POL-1 no-public-plain-http: a forward among several default actions is reported", () => {
    const stack = withProps(compliantStack(), URN.httpRedirect, {
      defaultActions: [
        { type: "fixed-response", order: 1, fixedResponse: { statusCode: "503" } },
        { type: "forward", order: 2, forward: { targetGroups: [{ arn: TARGET_GROUP_ARN }] } },
      ],
    });
    assert.deepEqual(policy.validate(stack), REDIRECT_FORWARDS);
  });

  test("AWS-5 POL-1 no-public-plain-http: a plain HTTP listener that only answers a fixed response forwards nothing and passes", () => {
    const stack = withProps(compliantStack(), URN.httpRedirect, {
      defaultActions: [{ type: "fixed-response", fixedResponse: { statusCode: "404" } }],
    });
    assert.deepEqual(policy.validate(stack), []);
  });

  test("AWS-5 POL-1 no-public-plain-http: a rule that forwards on the redirecting HTTP listener is reported", () => {
    const stack = withResource(compliantStack(), rule(URN.httpRedirect, FORWARD));
    assert.deepEqual(policy.validate(stack), [
      {
        urn: urnOf(T.listenerRule, RULE),
        message: `Listener rule api-http-redirect-api-pr42 on plain HTTP listener api-http-redirect-pr42 of internet-facing load balancer api-alb-pr42 must not forward: ${WHAT_TO_DO}`,
      },
    ]);
  });

  test("AWS-5 POL-1 no-public-plain-http: rules that forward on HTTPS, or answer 404 on HTTP, pass", () => {
    const stack = withResource(
      compliantStack(),
      rule(URN.httpsListener, FORWARD),
      rule(URN.httpRedirect, [{ type: "fixed-response", fixedResponse: { statusCode: "404" } }]),
    );
    assert.deepEqual(policy.validate(stack), []);
  });

  test("AWS-5 POL-1 no-public-plain-http: the aws:alb aliases are the same resources and are judged alike", () => {
    let stack = withProps(compliantStack(), URN.httpRedirect, { defaultActions: FORWARD });
    stack = update(stack, URN.alb, (r) => ({ ...r, type: "aws:alb/loadBalancer:LoadBalancer" }));
    stack = update(stack, URN.httpRedirect, (r) => ({ ...r, type: "aws:alb/listener:Listener" }));
    assert.deepEqual(policy.validate(stack), REDIRECT_FORWARDS);
  });

  test("AWS-5 POL-1 no-public-plain-http: a listener of a load balancer outside the stack cannot be judged and is not reported", () => {
    let stack = withProps(compliantStack(), URN.httpRedirect, { defaultActions: FORWARD });
    stack = update(stack, URN.httpRedirect, (r) => ({ ...r, references: {} }));
    assert.deepEqual(policy.validate(stack), []);
  });

  test("AWS-5 POL-1 no-public-plain-http: values unknown during a preview are never a finding", () => {
    const forwardingRedirect = () =>
      withProps(compliantStack(), URN.httpRedirect, { defaultActions: FORWARD });
    const cases: [string, ReturnType<typeof compliantStack>][] = [
      ["load balancer internal", withProps(forwardingRedirect(), URN.alb, { internal: UNKNOWN })],
      [
        "listener protocol",
        withProps(forwardingRedirect(), URN.httpRedirect, { protocol: UNKNOWN }),
      ],
      [
        "listener defaultActions",
        withProps(compliantStack(), URN.httpRedirect, { defaultActions: UNKNOWN }),
      ],
      [
        "action type",
        withProps(compliantStack(), URN.httpRedirect, {
          defaultActions: [{ type: UNKNOWN, targetGroupArn: UNKNOWN }],
        }),
      ],
      ["rule actions", withResource(compliantStack(), rule(URN.httpRedirect, UNKNOWN))],
    ];
    const found = Object.fromEntries(cases.map(([what, stack]) => [what, policy.validate(stack)]));
    assert.deepEqual(found, Object.fromEntries(cases.map(([what]) => [what, []])));
  });
});
