import cliProgress from "cli-progress";

/** What the CLI passes to runSimulation's io, and stops once the run returns. */
export interface ProgressReporter {
  onProgress(sent: number, total: number): void;
  /** onProgress with the total given at creation as the default. */
  update(sent: number, total?: number): void;
  onDecisions(decided: number, expected: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** @default process.stderr: stdout stays clean for the summary (and for --json). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Minimum spacing of the one-line updates when the stream is not a terminal. @default 2000 */
  intervalMs?: number;
  now?: () => number;
}

type Phase = "sending" | "decisions";

/** The CLI's shorthand: a reporter (on stderr by default) whose update() defaults to `total`. */
export function createProgress(total: number, options: ProgressOptions = {}): ProgressReporter {
  return createProgressReporter(options, total);
}

/**
 * A progress bar on a terminal; otherwise a line every few seconds, because a redrawn bar in a
 * CI log or a file is an unreadable run of carriage returns.
 */
export function createProgressReporter(options: ProgressOptions = {}, total = 0): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const phases = stream.isTTY === true ? barReporter(stream) : lineReporter(stream, options);
  let knownTotal = total;
  return {
    ...phases,
    onProgress: (sent, of) => {
      knownTotal = of;
      phases.onProgress(sent, of);
    },
    update: (sent, of = knownTotal) => phases.onProgress(sent, of),
  };
}

function barReporter(stream: NodeJS.WritableStream): Omit<ProgressReporter, "update"> {
  let phase: Phase | undefined;
  let bar: cliProgress.SingleBar | undefined;
  const show = (next: Phase, value: number, total: number) => {
    if (phase !== next) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${next.padEnd(9)} |{bar}| {value}/{total} tx · {percentage}% · {duration}s`,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, value);
      phase = next;
    }
    bar?.setTotal(total);
    bar?.update(value);
  };
  return {
    onProgress: (sent, total) => show("sending", sent, total),
    onDecisions: (decided, expected) => show("decisions", decided, expected),
    stop: () => {
      bar?.stop();
      bar = undefined;
      phase = undefined;
    },
  };
}

function lineReporter(
  stream: NodeJS.WritableStream,
  options: ProgressOptions,
): Omit<ProgressReporter, "update"> {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 2000;
  let lastAt = Number.NEGATIVE_INFINITY;
  let lastLine = "";
  const line = (phase: Phase, value: number, total: number) => {
    const text = `simulate: ${phase === "sending" ? "sent" : "decided"} ${value}/${total} (${total === 0 ? 100 : Math.floor((100 * value) / total)}%)`;
    // Always report the end of a phase; in between, at most one line per interval.
    if (text === lastLine || (value < total && now() - lastAt < intervalMs)) return;
    stream.write(`${text}\n`);
    lastAt = now();
    lastLine = text;
  };
  return {
    onProgress: (sent, total) => line("sending", sent, total),
    onDecisions: (decided, expected) => line("decisions", decided, expected),
    stop: () => undefined,
  };
}
