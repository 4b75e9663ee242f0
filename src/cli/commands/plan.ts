/**
 * `txwatch plan`: the offline plan of the AWS deployment. The platform code (Pulumi, esbuild)
 * is a development dependency, loaded only here, so `txwatch start` never pays for it.
 */
export async function planCommand(options: {
  preset?: string;
  environmentSuffix?: string;
  stackConfig?: string;
  set?: string[];
  json?: boolean;
  check?: boolean;
}): Promise<void> {
  const { runPlan, runPlanCheck } = await import("../../../infra/plan/plan-command.ts");
  if (options.check === true) {
    const { report, violations } = await runPlanCheck(options);
    process.stdout.write(report);
    // Non-zero on any violation, so CI can gate a configuration before `pulumi up`.
    if (violations > 0) process.exitCode = 1;
    return;
  }
  process.stdout.write(await runPlan(options));
}
