import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { freePort } from "./loopback.ts";

const PRISM = createRequire(import.meta.url).resolve("@stoplight/prism-cli/dist/index.js");

export interface Prism {
  /** The proxy's base URL: requests to it are forwarded to the upstream and checked. */
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Starts Stoplight Prism as a validating proxy (OPS-3) in front of `upstream`, checking every
 * answer against the OpenAPI document at `document` (a path or URL). With `errors`, a request or
 * answer that breaks the document is answered by Prism itself with application/problem+json
 * (422 or 500); without, the request is forwarded regardless and violations are only listed in
 * the `sl-violations` header, which is how deliberately invalid requests get through.
 */
export async function startPrism(
  document: string,
  upstream: string,
  options: { errors: boolean },
  timeoutMs = 30_000,
): Promise<Prism> {
  const port = await freePort();
  const args = [PRISM, "proxy", document, upstream, "--host", "127.0.0.1", "--port", String(port)];
  if (options.errors) args.push("--errors");
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
  });
  let out = "";
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`prism did not start within ${timeoutMs} ms: ${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk;
      if (/Prism is listening/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`prism exited with ${code}: ${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface Checked {
  status: number;
  headers: Headers;
  text: string;
  /** The answer's violations of the document, as Prism reports them. */
  violations: unknown[];
}

/**
 * A request through Prism, with what Prism says of the answer: its own problem answer (it
 * refused the request or the answer under --errors) or the answer's violations in
 * `sl-violations`. The request's own violations are not counted: some requests break the
 * document on purpose.
 */
export async function throughPrism(prism: Prism, path: string, init: RequestInit = {}) {
  const res = await fetch(`${prism.url}${path}`, init);
  const text = await res.text();
  const header = res.headers.get("sl-violations") ?? "[]";
  let violations: unknown[];
  try {
    const listed = JSON.parse(header) as { location?: string[] }[];
    violations = listed.filter((v) => v.location?.[0] === "response");
  } catch {
    // Prism cuts a long list short ("Too many violations! [..."): any answer's is counted.
    violations = header.includes('"location":["response"') ? [header] : [];
  }
  if ((res.headers.get("content-type") ?? "").startsWith("application/problem+json")) {
    violations.push({ prism: JSON.parse(text) as unknown });
  }
  return { status: res.status, headers: res.headers, text, violations } satisfies Checked;
}
