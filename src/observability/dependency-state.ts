import { Gauge, type Registry } from "prom-client";
import type { Logger } from "./logger.ts";

/** The services a monitor depends on, as /readyz and the logs name them (REL-2). */
export const DEPENDENCIES = ["ledger", "history", "stream"] as const;
export type DependencyName = (typeof DEPENDENCIES)[number];
export type DependencyState = "up" | "down";

/**
 * What a driver tells a tracker: an operation that worked (the service is reachable) or one that
 * failed because the service is not. A failure that is the caller's (a constraint violated, a
 * script error) is neither, and is not reported.
 */
export interface ConnectionObserver {
  ok(): void;
  /**
   * @param startedAt when the failed operation started (ms since the epoch): a failure of an
   *   operation started before the service last came back reports the outage that ended, and is
   *   ignored.
   */
  failed(reason: unknown, startedAt?: number): void;
}

/**
 * Runs one operation and tells the observer how it went: `ok` when it worked, `failed` when it
 * threw an error `reachability` says is the service's (by default every error).
 */
export async function observeCall<T>(
  observer: ConnectionObserver,
  call: () => Promise<T>,
  reachability: (error: unknown) => boolean = () => true,
): Promise<T> {
  const startedAt = Date.now();
  try {
    const result = await call();
    observer.ok();
    return result;
  } catch (error) {
    if (reachability(error)) observer.failed(error, startedAt);
    throw error;
  }
}

/** Short, single-line text of a failure for a log field: never a stack. */
export function reasonText(reason: unknown): string {
  if (reason instanceof Error) {
    const code = (reason as { code?: unknown }).code;
    const message = reason.message.split("\n")[0] ?? "";
    if (typeof code !== "string" || code === "" || message.includes(code)) {
      return message || reason.name;
    }
    return message === "" ? code : `${code}: ${message}`;
  }
  return String(reason).split("\n")[0]!;
}

/**
 * The state of one dependency, fed by its driver's events and by the outcome of its commands.
 * Logs one line per change of state (up -> down with the reason, down -> up with how long it was
 * down), never one per failed command.
 */
export class DependencyTracker implements ConnectionObserver {
  private current: DependencyState = "up";
  private since: number;
  private closed = false;

  constructor(
    readonly name: DependencyName,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
  }

  get state(): DependencyState {
    return this.current;
  }

  ok(): void {
    if (this.closed || this.current === "up") return;
    const at = this.now();
    const downMs = at - this.since;
    this.current = "up";
    this.since = at;
    this.log.info(
      { dependency: this.name, state: "up", downMs },
      `dependency ${this.name} is up again after ${(downMs / 1000).toFixed(1)} s`,
    );
  }

  failed(reason: unknown, startedAt?: number): void {
    if (this.closed || this.current === "down") return;
    if (startedAt !== undefined && startedAt < this.since) return;
    const text = reasonText(reason);
    this.current = "down";
    this.since = this.now();
    this.log.warn(
      { dependency: this.name, state: "down", reason: text },
      `dependency ${this.name} is down: ${text}`,
    );
  }

  /** Stops reporting: what fails while the process closes its connections is no outage. */
  close(): void {
    this.closed = true;
  }
}

export type DependencyStates = Record<DependencyName, DependencyTracker>;

export function trackDependencies(log: Logger, now?: () => number): DependencyStates {
  return {
    ledger: new DependencyTracker("ledger", log, now),
    history: new DependencyTracker("history", log, now),
    stream: new DependencyTracker("stream", log, now),
  };
}

/**
 * txwatch_dependency_up{dependency}: 1 while up, 0 while down, read from the trackers at each
 * scrape. Registered on the runtime's registry (created by createMetrics).
 */
export function registerDependencyGauge(registry: Registry, states: DependencyStates): Gauge {
  return new Gauge({
    name: "txwatch_dependency_up",
    help: "1 while the dependency (ledger, history, stream) is reachable, 0 while it is down.",
    labelNames: ["dependency"] as const,
    registers: [registry],
    collect() {
      for (const name of DEPENDENCIES) {
        this.set({ dependency: name }, states[name].state === "up" ? 1 : 0);
      }
    },
  });
}
