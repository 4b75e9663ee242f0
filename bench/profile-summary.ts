/**
 * Summarises V8 CPU profiles (node --cpu-prof, or `npm run bench -- --profile`, which profiles
 * the monitor into bench/results/profile/): where the samples fall, by file and by function,
 * self time and inclusive time, idle and GC included, so what bounds the run is visible.
 *
 *   node --import tsx bench/profile-summary.ts bench/results/profile [lines]
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [dir = "bench/results/profile", lines = "25"] = process.argv.slice(2);
const limit = Number(lines);

const where = (node: ProfileNode) =>
  node.callFrame.url
    .replace(/^file:\/\/.*?\/node_modules\/((@[^/]+\/)?[^/]+)\/.*/, "npm:$1")
    .replace(/^file:\/\/.*?\/(src|bench|test)\//, "$1/") || node.callFrame.functionName;
const named = (node: ProfileNode) =>
  `${node.callFrame.functionName || "(anonymous)"} ${where(node)}${node.callFrame.lineNumber > 0 ? `:${node.callFrame.lineNumber + 1}` : ""}`;

for (const file of readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"))) {
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const selfByFile = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  const add = (map: Map<string, number>, key: string, us: number) =>
    map.set(key, (map.get(key) ?? 0) + us);
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const node = byId.get(id)!;
    add(selfByFile, where(node), us);
    add(selfByFunction, named(node), us);
    // A function counts once per sample however deep its recursion.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = named(byId.get(at)!);
      if (!seen.has(key)) add(inclusive, key, us);
      seen.add(key);
    }
  });
  const top = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([key, us]) => `${((us / total) * 100).toFixed(1).padStart(6)}%  ${key}`)
      .join("\n");
  console.log(`== ${file}: ${(total / 1e6).toFixed(1)} s sampled`);
  console.log(`-- self time by file\n${top(selfByFile)}`);
  console.log(`-- self time by function\n${top(selfByFunction)}`);
  console.log(`-- inclusive time by function\n${top(inclusive)}`);
}
