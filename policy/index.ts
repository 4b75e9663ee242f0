import { PolicyPack } from "@pulumi/policy";
import { toCrossGuard } from "./crossguard.ts";
import { POLICIES } from "./policies.ts";

// `pulumi preview --policy-pack policy`: the same rule functions `txwatch plan --check` runs.
new PolicyPack("txwatch-compliance", {
  description:
    "txwatch compliance guardrails: encrypted, private, least-privilege, monitored and destroyable.",
  enforcementLevel: "mandatory",
  policies: POLICIES.map(toCrossGuard),
});
