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
}): Promise<void> {
  const { runPlan } = await import("../../../infra/plan/plan-command.ts");
  process.stdout.write(await runPlan(options));
}
