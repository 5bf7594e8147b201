import { exhaustive, type MigrationEvent, type MigrationReporter, type StepName } from "./events.js";
import { formatCompact, formatCount, formatDuration, formatRate, formatSummaryTable, stableJson } from "./report.js";
import { isCopyStep, SummaryCollector, type MigrationSummary } from "./summary.js";

/**
 * Turns migration events into output: live progress bars on a terminal, one line per batch for
 * logs and pipes, or JSON lines for machines. Pure: everything goes through the injected `write`,
 * and times come from the events (the clock is only read by `refresh`, between events).
 */

export type RenderMode = "tty" | "plain" | "json";

export interface RendererOptions {
  mode: RenderMode;
  write(text: string): void;
  /** The terminal's width (tty mode; default 80). Bar lines never exceed `columns - 1`. */
  columns?: number;
  /** The clock `refresh()` reads (default `Date.now`). */
  now?: () => number;
  /** ANSI colours for warnings, errors and finished steps in tty mode (default true). */
  color?: boolean;
}

export interface Renderer {
  /** Renders one event: hand this to the engine as its reporter. */
  readonly report: MigrationReporter;
  /** Redraws the bars at the clock's time, so elapsed time and ETA move between events (tty only). */
  refresh(): void;
  /** The terminal was resized (tty only). */
  resize(columns: number): void;
  /**
   * Ends the output with the run summary (by default, the summary of the events rendered): a
   * Markdown table after the last line in tty and plain mode, a `{ "type": "summary", … }` line
   * in json mode, which is then the last line. Rendering or ending again afterwards throws.
   * Returns the summary it ended with (for report files).
   */
  end(summary?: MigrationSummary): MigrationSummary;
  /** The summary of the events rendered so far (what `end()` ends with by default). */
  summary(): MigrationSummary;
}

/**
 * `--json` wins; otherwise bars on a terminal that can move its cursor, plain lines elsewhere
 * (pipes, CI logs, `TERM=dumb`).
 */
export function pickMode({ json, isTTY, term }: { json: boolean; isTTY: boolean; term?: string }): RenderMode {
  if (json) return "json";
  return isTTY && term !== "dumb" ? "tty" : "plain";
}

// ---------------------------------------------------------------- step progress

/** What the renderer knows about one running step. */
interface StepProgress {
  step: StepName;
  unit: string;
  total: number;
  done: number;
  startedAt: number;
  /** Records moved by this run's confirmed batches (copy steps), the basis of their rate. */
  moved: number;
  batches: number;
  gas: bigint;
  /** When the work behind the current rate was last reported. */
  workAt: number;
  /** Plain mode: the last tenth of progress logged (steps without batches). */
  tenth: number;
}

/**
 * Units per second since the step started. Copy steps count only what this run's batches moved,
 * so resuming at a cursor does not inflate the rate.
 */
function rateOf(progress: StepProgress): number | null {
  const work = isCopyStep(progress.step) ? progress.moved : progress.done;
  const seconds = (progress.workAt - progress.startedAt) / 1000;
  return work > 0 && seconds > 0 ? work / seconds : null;
}

/** Milliseconds left at `now`: the remaining work at the current rate, less the time since the last report. */
function etaOf(progress: StepProgress, now: number): number | null {
  const rate = rateOf(progress);
  if (rate === null || progress.total <= 0) return null;
  const remaining = Math.max(0, progress.total - progress.done);
  return Math.max(0, (remaining / rate) * 1000 - Math.max(0, now - progress.workAt));
}

function percent(progress: StepProgress): number {
  return Math.min(100, Math.floor((progress.done * 100) / progress.total));
}

const NAME_WIDTH = 8;
const MIN_BAR = 10;
const MAX_BAR = 30;

/**
 * One bar line of at most `width` characters: name, bar, percentage and count, then ETA, rate,
 * batches and gas. The bar takes a fifth of the width (so it does not jitter as numbers grow);
 * on a narrow terminal the trailing parts go first, then the bar, and what is left is cut.
 */
function barLine(progress: StepProgress, width: number, now: number): string {
  const known = progress.total > 0;
  const rate = rateOf(progress);
  const eta = etaOf(progress, now);
  const name = progress.step.padEnd(NAME_WIDTH);
  const head = known
    ? `${percent(progress).toString().padStart(3)}%  ${formatCount(progress.done)}/${formatCount(progress.total)} ${progress.unit}`
    : `${formatCount(progress.done)} ${progress.unit}`;
  const parts = [
    known ? `ETA ${eta === null ? "--" : formatDuration(eta)}` : "",
    rate === null ? "" : `${formatRate(rate)}/s`,
    progress.batches === 0 ? "" : `${formatCount(progress.batches)} batch${progress.batches === 1 ? "" : "es"}`,
    progress.gas === 0n ? "" : `${formatCompact(progress.gas)} gas`,
  ].filter((part) => part !== "");
  const barWidth = Math.min(MAX_BAR, Math.max(MIN_BAR, Math.floor(width / 5)));
  const filled = known ? Math.floor((barWidth * percent(progress)) / 100) : 0;
  const bar = `[${"█".repeat(filled)}${"░".repeat(barWidth - filled)}]`;
  for (const withBar of known ? [true, false] : [false]) {
    for (let keep = parts.length; keep >= 0; keep--) {
      const line = [[name, ...(withBar ? [bar] : []), head].join(" "), ...parts.slice(0, keep)].join("  ");
      if (line.length <= width) return line;
    }
  }
  return cut(`${name} ${head}`, width);
}

/** A line that does not fit, cut to `width` with an ellipsis. */
function cut(line: string, width: number): string {
  return width <= 1 ? line.slice(0, Math.max(0, width)) : `${line.slice(0, width - 1)}…`;
}

/** The line a finished step leaves behind. */
function finishedLine(progress: StepProgress, at: number, summary: Record<string, unknown>): string {
  const parts: string[] = [];
  if (isCopyStep(progress.step)) {
    parts.push(
      `${formatCount(progress.moved)} ${progress.unit} in ${formatCount(progress.batches)} batch${progress.batches === 1 ? "" : "es"}`,
      `${formatCount(progress.gas)} gas`,
    );
  } else if (progress.done > 0) {
    parts.push(`${formatCount(progress.done)} ${progress.unit}`);
  }
  const elapsed = at - progress.startedAt;
  parts.push(formatDuration(elapsed));
  const rate = rateOf(progress);
  if (isCopyStep(progress.step) && rate !== null) parts.push(`${formatRate(rate)} ${progress.unit}/s`);
  if (typeof summary.verified === "boolean") parts.push(summary.verified ? "verified" : "NOT verified");
  return parts.join(", ");
}

/** "finalizing the V2 registry: confirmed in block 12, 51,234 gas, tx 0x…" */
function callConfirmedText(event: Extract<MigrationEvent, { type: "call-confirmed" }>): string {
  return `${event.call}: confirmed in block ${event.blockNumber}, ${formatCount(event.gasUsed)} gas, tx ${event.txHash}`;
}

// ---------------------------------------------------------------- the renderer

const ESC = "\x1b[";

export function createRenderer(options: RendererOptions): Renderer {
  const { mode, write } = options;
  const clock = options.now ?? Date.now;
  const color = options.color ?? true;
  let columns = options.columns ?? 80;
  const collector = new SummaryCollector();
  const running = new Map<StepName, StepProgress>();
  let ended = false;
  /** Bar lines on screen below the cursor's line start (tty). */
  let drawn = 0;

  const paint = (code: string, text: string) => (color ? `${ESC}${code}m${text}${ESC}0m` : text);

  /** Clears the bars, prints `above` where they were, and draws the bars again below it. */
  function frame(above: string[], now: number): void {
    let out = drawn > 0 ? `${ESC}${drawn}A\r${ESC}J` : "";
    for (const line of above) out += `${line}\n`;
    const bars = [...running.values()].map((progress) => barLine(progress, Math.max(1, columns - 1), now));
    for (const line of bars) out += `${line}\n`;
    drawn = bars.length;
    if (out !== "") write(out);
  }

  function progressOf(event: MigrationEvent): StepProgress {
    let progress = running.get(event.step);
    if (progress === undefined) {
      // A step that reports before (or without) `step-started` still gets a bar.
      progress = {
        step: event.step,
        unit: "records",
        total: 0,
        done: 0,
        startedAt: event.at,
        moved: 0,
        batches: 0,
        gas: 0n,
        workAt: event.at,
        tenth: 0,
      };
      running.set(event.step, progress);
    }
    return progress;
  }

  /** Updates the step's progress from the event and returns it. */
  function track(event: MigrationEvent): StepProgress {
    const progress = progressOf(event);
    switch (event.type) {
      case "step-started":
        progress.unit = event.unit;
        progress.total = event.total;
        progress.startedAt = event.at;
        progress.workAt = event.at;
        break;
      case "batch-confirmed":
        progress.batches++;
        progress.moved += event.size;
        progress.done += event.size;
        progress.gas += BigInt(event.gasUsed);
        progress.workAt = event.at;
        break;
      case "progress":
        progress.done = event.done;
        progress.total = event.total;
        if (!isCopyStep(event.step)) progress.workAt = event.at;
        break;
    }
    return progress;
  }

  function renderTty(event: MigrationEvent): void {
    // Warnings, errors and single calls are printed above the bars; they start no bar of their own.
    switch (event.type) {
      case "warning":
        return frame([paint("33", `warning [${event.step}] ${event.message}`)], event.at);
      case "error":
        return frame([paint("31", `error [${event.step}] ${event.message}`)], event.at);
      case "call-confirmed":
        return frame([`${paint("32", "✔")} ${event.step.padEnd(NAME_WIDTH)} ${callConfirmedText(event)}`], event.at);
      case "call-sent":
        return; // nothing on screen changes until the call confirms
      case "batch-planned":
      case "batch-sent":
        track(event);
        return; // nothing on screen changes until the batch confirms
      case "step-finished": {
        const progress = track(event);
        running.delete(event.step);
        return frame(
          [`${paint("32", "✔")} ${event.step.padEnd(NAME_WIDTH)} ${finishedLine(progress, event.at, event.summary)}`],
          event.at,
        );
      }
      case "step-started":
      case "batch-confirmed":
      case "progress":
        track(event);
        return frame([], event.at);
      default:
        return exhaustive(event);
    }
  }

  function renderPlain(event: MigrationEvent): void {
    const step = event.step;
    const line = (text: string) => write(`${step}: ${text}\n`);
    switch (event.type) {
      case "warning":
        return line(`warning: ${event.message}`);
      case "error":
        return line(`error: ${event.message}`);
      case "call-sent":
        return line(`${event.call}: sent (nonce ${event.nonce}), tx ${event.txHash}`);
      case "call-confirmed":
        return line(callConfirmedText(event));
    }
    const progress = track(event);
    const status = () => {
      const parts = [
        `${formatCount(progress.done)}/${formatCount(progress.total)} ${progress.unit} (${percent(progress)}%)`,
      ];
      const rate = rateOf(progress);
      if (rate !== null) parts.push(`${formatRate(rate)} ${progress.unit}/s`);
      const eta = etaOf(progress, event.at);
      if (eta !== null) parts.push(`ETA ${formatDuration(eta)}`);
      return parts.join(", ");
    };
    switch (event.type) {
      case "step-started":
        return line(event.total > 0 ? `started, ${formatCount(event.total)} ${event.unit}` : "started");
      case "batch-confirmed":
        return line(
          `batch ${progress.batches} confirmed: ${formatCount(event.size)} ${progress.unit} from ${formatCount(event.start)}, ` +
            `${formatCount(event.gasUsed)} gas, block ${event.blockNumber}, tx ${event.txHash}` +
            (progress.total > 0 ? `; ${status()}` : ""),
        );
      case "progress": {
        // Steps without batches (reading, verifying) log each tenth of the way, not every page.
        if (isCopyStep(step) || progress.total <= 0) return;
        const tenth = Math.floor((progress.done * 10) / progress.total);
        if (tenth <= progress.tenth) return;
        progress.tenth = tenth;
        return line(status());
      }
      case "step-finished":
        running.delete(step);
        return line(`finished: ${finishedLine(progress, event.at, event.summary)}`);
      case "batch-planned":
      case "batch-sent":
        return; // the confirmation is the batch's line
      default:
        return exhaustive(event);
    }
  }

  const report: MigrationReporter = (event) => {
    if (ended) throw new Error(`The renderer has ended; cannot render a ${event.type} event.`);
    collector.add(event);
    if (mode === "json") write(`${stableJson(event)}\n`);
    else if (mode === "plain") renderPlain(event);
    else renderTty(event);
  };

  function refresh(): void {
    if (mode === "tty" && !ended && drawn + running.size > 0) frame([], clock());
  }

  return {
    report,
    refresh,
    resize(width) {
      columns = width;
      refresh();
    },
    summary: () => collector.summary(),
    end(summary = collector.summary()) {
      if (ended) throw new Error("The renderer has already ended.");
      ended = true;
      if (mode === "json") {
        write(`${stableJson({ type: "summary", ...summary })}\n`);
        return summary;
      }
      const stopped = [...running.values()].map(
        (progress) =>
          `${progress.step.padEnd(NAME_WIDTH)} stopped at ${formatCount(progress.done)}` +
          `${progress.total > 0 ? `/${formatCount(progress.total)}` : ""} ${progress.unit}`,
      );
      running.clear();
      const table = formatSummaryTable(summary);
      if (mode === "tty") frame([...stopped.map((line) => paint("31", `✖ ${line}`)), "", table.trimEnd()], clock());
      else write([...stopped.map((line) => `${line}\n`), "\n", table].join(""));
      return summary;
    },
  };
}
