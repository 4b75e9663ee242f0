import {
  type CheckedResource,
  type Finding,
  isKnown,
  label,
  list,
  record,
  type StackView,
  T,
  type TxwatchPolicy,
} from "../model.ts";

/** The load balancer types and their `aws:alb` aliases (the same resources under another name). */
const LOAD_BALANCERS = [T.loadBalancer, "aws:alb/loadBalancer:LoadBalancer"];
const LISTENERS = [T.listener, "aws:alb/listener:Listener"];
const LISTENER_RULES = [T.listenerRule, "aws:alb/listenerRule:ListenerRule"];

const WHAT_TO_DO =
  "set certificateArn to serve HTTPS (plain HTTP then only redirects to it), or leave the load balancer internal.";

/** The load balancer a listener belongs to, when it is internet-facing (`internal` not true). */
function internetFacing(stack: StackView, listener: CheckedResource): CheckedResource | undefined {
  return stack
    .referenced(listener, "loadBalancerArn")
    .find(
      (lb) =>
        LOAD_BALANCERS.includes(lb.type) &&
        lb.props.internal !== true &&
        isKnown(lb.props.internal),
    );
}

/** Whether a listener speaks plain HTTP (an application load balancer's default protocol). */
function plainHttp(listener: CheckedResource, lb: CheckedResource): boolean {
  const { protocol } = listener.props;
  if (protocol === undefined) {
    const type = lb.props.loadBalancerType;
    return type === undefined || type === "application";
  }
  return protocol === "HTTP";
}

/** Whether any of the actions forwards requests to targets (unknown types are judged later). */
function forwards(actions: unknown): boolean {
  return list(actions).some((action) => record(action).type === "forward");
}

/**
 * AWS-5: on the internet, plain HTTP may only redirect to HTTPS. A listener on HTTP of an
 * internet-facing load balancer must not forward, by its default actions nor by a rule.
 */
function plainHttpForwarding(stack: StackView): Finding[] {
  const findings: Finding[] = [];
  for (const listener of stack.ofType(...LISTENERS)) {
    const lb = internetFacing(stack, listener);
    if (lb === undefined || !plainHttp(listener, lb)) continue;
    if (forwards(listener.props.defaultActions)) {
      findings.push({
        urn: listener.urn,
        message: `Listener ${label(listener)} of internet-facing load balancer ${label(lb)} must not forward plain HTTP: ${WHAT_TO_DO}`,
      });
    }
    for (const rule of stack.ofType(...LISTENER_RULES)) {
      if (!(rule.references.listenerArn ?? []).includes(listener.urn)) continue;
      if (forwards(rule.props.actions)) {
        findings.push({
          urn: rule.urn,
          message: `Listener rule ${label(rule)} on plain HTTP listener ${label(listener)} of internet-facing load balancer ${label(lb)} must not forward: ${WHAT_TO_DO}`,
        });
      }
    }
  }
  return findings;
}

export const noPublicPlainHttp: TxwatchPolicy = {
  name: "no-public-plain-http",
  description:
    "Checks whether an internet-facing load balancer serves the API only over HTTPS: a plain HTTP listener may redirect, never forward.",
  scope: "stack",
  validate: plainHttpForwarding,
};
