/**
 * Subnet layout inside the VPC's /16: two public and two private /20s, one of each per AZ
 * (NET-1; finserv asks for exactly these four). 4,096 addresses per private subnet leave room for
 * Lambda ENIs and Fargate tasks without renumbering.
 */
export interface SubnetPlan {
  az: string;
  publicCidr: string;
  privateCidr: string;
}

export function subnetPlan(vpcCidr: string, region: string): SubnetPlan[] {
  const [a, b] = vpcCidr.split(".");
  return ["a", "b"].map((letter, i) => ({
    az: `${region}${letter}`,
    publicCidr: `${a}.${b}.${i * 16}.0/20`,
    privateCidr: `${a}.${b}.${128 + i * 16}.0/20`,
  }));
}
