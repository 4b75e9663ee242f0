import type { PlanOptions } from "../../../infra/cli-entry.ts";

/** The platform's entry for the CLI, by type only: nothing of infra/ loads until `plan` runs. */
type InfraCliEntry = typeof import("../../../infra/cli-entry.ts");

/**
 * `txwatch plan`: the offline plan of the AWS deployment. The platform code (Pulumi, esbuild)
 * is a development dependency, loaded only here, so `txwatch start` never pays for it.
 */
export async function planCommand(options: PlanOptions): Promise<void> {
  const { runPlan, runPlanCheck }: InfraCliEntry = await import("../../../infra/cli-entry.ts");
  if (options.check === true) {
    const { report, violations } = await runPlanCheck(options);
    process.stdout.write(report);
    // Non-zero on any violation, so CI can gate a configuration before `pulumi up`.
    if (violations > 0) process.exitCode = 1;
    return;
  }
  process.stdout.write(await runPlan(options));
}
