/**
 * The one module of infra/ that src/ may load: what `txwatch plan` calls. The rest of infra/ is
 * the Pulumi program's own business, free to be reshaped without the CLI noticing; a change of
 * these signatures fails the type check of src/cli, not a run (test/policy/borders.test.ts
 * keeps src/ from reaching past this file).
 */
export {
  type PlanCheckResult,
  type PlanOptions,
  runPlan,
  runPlanCheck,
} from "./plan/plan-command.ts";
