/** What the tests read of a running `txwatch start`: /readyz, /metrics and its JSON log. */

export interface Readiness {
  status: number;
  body: { status: string; dependencies?: Record<string, string>; checks?: unknown };
}

export async function readyz(url: string): Promise<Readiness | undefined> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: (await res.json()) as Readiness["body"] };
  } catch {
    return undefined;
  }
}

/** One Prometheus sample's value (the sum over label sets when `name` has labels), or undefined. */
export async function metricValue(url: string, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    let total: number | undefined;
    for (const line of text.split("\n")) {
      if (line.startsWith("#")) continue;
      const match = /^([A-Za-z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (match?.[1] !== name) continue;
      total = (total ?? 0) + Number(match[3]);
    }
    return total;
  } catch {
    return undefined;
  }
}

/** Every JSON log line of the monitor's output (the banner and other plain lines skipped). */
export function jsonLines(output: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const text of output.split("\n")) {
    if (!text.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      // a line cut by a kill -9
    }
  }
  return lines;
}

export interface StateLine {
  dependency: string;
  state: string;
  reason?: string;
  downMs?: number;
  msg: string;
}

/** The monitor's JSON log lines that record a change of a dependency's state. */
export function stateLines(output: string, dependency: string): StateLine[] {
  return jsonLines(output).filter(
    (line) => line.dependency === dependency && line.state !== undefined,
  ) as unknown as StateLine[];
}
