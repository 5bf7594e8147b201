import { exhaustive, STEP_ORDER, type MigrationEvent, type StepName, type VerifiedKind } from "../migration/events.js";
import { parseVerifySummary, type VerifySummary } from "../migration/summary.js";
import { transactionUrl } from "./explorer.js";

/**
 * What the dashboard shows, folded from the engine's progress events (and the dashboard's own:
 * run phase changes and journal reads). Pure: `foldEvent(state, event)` returns a new state and
 * reads no clock, so the page, the HTTP API and the tests see the same figures for the same events.
 */

/** Where the run is, as the controls see it. */
export type RunPhase =
  /** Nothing started yet. */
  | "idle"
  | "running"
  /** Pause asked: the batch in flight finishes, then the run waits. */
  | "pausing"
  /** Waiting before its next batch. */
  | "paused"
  /** Stopped by the operator (before a rollback); resume starts again from the chain's cursors. */
  | "stopped"
  | "finished"
  | "failed"
  | "rolling-back"
  | "rolled-back"
  /** Attached to another process's run: its events and journal, no controls. */
  | "attached";

/** A dashboard-side event: the run's phase changed (why, in words). */
export interface PhaseEvent {
  type: "phase";
  at: number;
  phase: RunPhase;
  message: string;
}

/** One journal file as read from disk: the sent-but-unconfirmed batches of one contract. */
export interface JournalFileView {
  chainId: number;
  contract: string;
  pending: {
    step: string;
    cursor: number;
    size: number;
    nonce: number;
    txHash: string;
    sentAt: number;
    /** A single call's words (its cursor and size are 0). */
    call?: string;
  }[];
}

/** A dashboard-side event: the journal directory was read and differs from the last read. */
export interface JournalEvent {
  type: "journal";
  at: number;
  files: JournalFileView[];
  /** A file that could not be read or parsed, in words. */
  problems: string[];
}

export type DashboardEvent = MigrationEvent | PhaseEvent | JournalEvent;

/** "stopped": the run stopped inside the step; "rolled-back": what it moved is back in V1. */
export type StepStatus = "pending" | "running" | "finished" | "failed" | "stopped" | "rolled-back";

/** One step's bar and figures. */
export interface StepView {
  step: StepName;
  status: StepStatus;
  unit: string;
  total: number;
  done: number;
  /** `done / total` in percent (one decimal); 100 for a finished step with nothing to do. */
  percent: number;
  batches: number;
  /** Gas of this run's confirmed batches (decimal string). */
  gasUsed: string;
  l1FeeWei: string;
  /** Records moved by this run's batches per second since the step started; null before any. */
  ratePerSecond: number | null;
  /** What is left at that rate, in ms; null without a rate. */
  etaMs: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** Copy steps only: the figures come from batches. */
  moved: number;
}

export interface TransactionView {
  step: string;
  /** A single call (finalize, rollback, a handover grant…), in words; absent for a batch, whose `start` and `size` say what it is. */
  call?: string;
  txHash: string;
  /** The explorer's page for it, or null on a chain without one (local chains). */
  url: string | null;
  start: number;
  size: number;
  nonce: number | null;
  sentAt: number;
  confirmedAt: number | null;
  blockNumber: number | null;
  gasUsed: string | null;
}

export interface TimelineEntry {
  seq: number;
  at: number;
  kind: "phase" | "step" | "batch" | "call" | "warning" | "error";
  step: string | null;
  text: string;
}

export interface DashboardState {
  mode: "run" | "attach";
  network: { name: string; chainId: number | null; explorer: string | null };
  phase: RunPhase;
  phaseMessage: string;
  steps: StepView[];
  /** Sent and not yet confirmed. */
  inFlight: TransactionView[];
  /** The last confirmed batches and single calls, newest first. */
  recent: TransactionView[];
  warnings: { at: number; step: string; message: string }[];
  errors: { at: number; step: string; message: string }[];
  journal: { files: JournalFileView[]; problems: string[]; readAt: number | null };
  /** V1's commitments from the snapshot (or verify), V2's on-chain ones from verify. */
  commitments: {
    v1: Partial<Record<VerifiedKind, string>>;
    v2: Partial<Record<VerifiedKind, string>>;
  };
  verification: VerifySummary | null;
  finalized: boolean;
  timeline: TimelineEntry[];
  /** Events folded so far: a client compares it to know what is new. */
  seq: number;
  updatedAt: number | null;
}

/** Entries kept in the timeline and in the lists (the run may last hours). */
export const TIMELINE_LIMIT = 200;
export const RECENT_LIMIT = 10;
const LIST_LIMIT = 50;

const COPY_STEPS: readonly StepName[] = ["nodes", "jobs", "escrow"];
/** The steps whose work a rollback undoes: the copies, and the verification of what they moved. */
const UNDONE_BY_ROLLBACK: readonly StepName[] = [...COPY_STEPS, "verify"];
const KINDS: readonly VerifiedKind[] = ["nodes", "jobs", "deposits"];

export function initialState(options: {
  mode: "run" | "attach";
  network: string;
  chainId: number | null;
  explorer?: string | null;
}): DashboardState {
  return {
    mode: options.mode,
    network: { name: options.network, chainId: options.chainId, explorer: options.explorer ?? null },
    phase: options.mode === "attach" ? "attached" : "idle",
    phaseMessage: options.mode === "attach" ? "read-only: following another process's migration" : "not started",
    steps: [],
    inFlight: [],
    recent: [],
    warnings: [],
    errors: [],
    journal: { files: [], problems: [], readAt: null },
    commitments: { v1: {}, v2: {} },
    verification: null,
    finalized: false,
    timeline: [],
    seq: 0,
    updatedAt: null,
  };
}

function percentOf(done: number, total: number, finished: boolean): number {
  if (finished) return 100;
  if (total <= 0) return 0;
  return Math.min(100, Math.floor((done * 1000) / total) / 10);
}

function withRate(view: StepView, at: number): StepView {
  const work = COPY_STEPS.includes(view.step) ? view.moved : view.done;
  const seconds = view.startedAt === null ? 0 : (at - view.startedAt) / 1000;
  const rate = work > 0 && seconds > 0 ? Math.round((work / seconds) * 100) / 100 : null;
  const left = Math.max(0, view.total - view.done);
  return {
    ...view,
    percent: percentOf(view.done, view.total, view.status === "finished"),
    ratePerSecond: rate,
    etaMs: view.status === "finished" ? 0 : rate === null ? null : Math.round((left / rate) * 1000),
  };
}

function emptyStep(step: StepName): StepView {
  return {
    step,
    status: "pending",
    unit: "records",
    total: 0,
    done: 0,
    percent: 0,
    batches: 0,
    gasUsed: "0",
    l1FeeWei: "0",
    ratePerSecond: null,
    etaMs: null,
    startedAt: null,
    finishedAt: null,
    moved: 0,
  };
}

function sortSteps(steps: StepView[]): StepView[] {
  return steps.sort((a, b) => STEP_ORDER.indexOf(a.step) - STEP_ORDER.indexOf(b.step));
}

function capped<T>(list: T[], limit: number): T[] {
  return list.length > limit ? list.slice(list.length - limit) : list;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The snapshot step's V1 commitments (`{ nodes, jobs, deposits }`), when its summary has them. */
function snapshotCommitments(summary: Record<string, unknown>): Partial<Record<VerifiedKind, string>> {
  const out: Partial<Record<VerifiedKind, string>> = {};
  if (!isRecord(summary.commitments)) return out;
  for (const kind of KINDS) {
    const value = summary.commitments[kind];
    if (typeof value === "string") out[kind] = value;
  }
  return out;
}

function describe(event: MigrationEvent): string | null {
  switch (event.type) {
    case "step-started":
      return `${event.step} started: ${event.total} ${event.unit}`;
    case "batch-sent":
      return `${event.step} batch of ${event.size} at ${event.start} sent (nonce ${event.nonce}) ${event.txHash}`;
    case "batch-confirmed":
      return `${event.step} batch of ${event.size} at ${event.start} confirmed in block ${event.blockNumber}, ${event.gasUsed} gas`;
    case "call-sent":
      return `${event.step}: ${event.call} sent (nonce ${event.nonce}) ${event.txHash}`;
    case "call-confirmed":
      return `${event.step}: ${event.call} confirmed in block ${event.blockNumber}, ${event.gasUsed} gas ${event.txHash}`;
    case "warning":
      return `${event.step}: ${event.message}`;
    case "error":
      return `${event.step} failed: ${event.message}`;
    case "step-finished":
      if (event.step === "verify")
        return `verify finished: ${event.summary.verified === true ? "verified" : "NOT verified"}`;
      return `${event.step} finished`;
    case "progress":
    case "batch-planned":
      return null; // the bars show them
    default:
      exhaustive(event);
      return null;
  }
}

/** Where each event goes in the timeline (null: not there). A full record, so a new event type must be placed. */
const TIMELINE_KIND: Record<DashboardEvent["type"], TimelineEntry["kind"] | null> = {
  phase: "phase",
  journal: null,
  "step-started": "step",
  "step-finished": "step",
  "batch-planned": null,
  progress: null,
  "batch-sent": "batch",
  "batch-confirmed": "batch",
  "call-sent": "call",
  "call-confirmed": "call",
  warning: "warning",
  error: "error",
};

/** What a transaction is: a batch's records, or a single call's words. */
type TransactionWhat = Pick<TransactionView, "call" | "start" | "size">;

/** The in-flight list with the transaction `event` sent (a batch or a single call). */
function sentTransaction(
  state: DashboardState,
  event: { at: number; step: string; txHash: string; nonce: number },
  what: TransactionWhat,
): TransactionView[] {
  return capped(
    [
      ...state.inFlight.filter((tx) => tx.txHash !== event.txHash),
      {
        step: event.step,
        ...what,
        txHash: event.txHash,
        url: transactionUrl(state.network.explorer, event.txHash),
        nonce: event.nonce,
        sentAt: event.at,
        confirmedAt: null,
        blockNumber: null,
        gasUsed: null,
      },
    ],
    LIST_LIMIT,
  );
}

/** The transaction `event` confirmed moves from the in-flight list to the recent ones. */
function confirmedTransaction(
  state: DashboardState,
  event: { at: number; step: string; txHash: string; blockNumber: number; gasUsed: string },
  what: TransactionWhat,
): Pick<DashboardState, "inFlight" | "recent"> {
  const sent = state.inFlight.find((tx) => tx.txHash === event.txHash);
  return {
    inFlight: state.inFlight.filter((tx) => tx.txHash !== event.txHash),
    recent: [
      {
        step: event.step,
        ...what,
        txHash: event.txHash,
        url: transactionUrl(state.network.explorer, event.txHash),
        nonce: sent?.nonce ?? null,
        sentAt: sent?.sentAt ?? event.at,
        confirmedAt: event.at,
        blockNumber: event.blockNumber,
        gasUsed: event.gasUsed,
      },
      ...state.recent.filter((tx) => tx.txHash !== event.txHash),
    ].slice(0, RECENT_LIMIT),
  };
}

/** The state after `event`. Never mutates `state`. */
export function foldEvent(state: DashboardState, event: DashboardEvent): DashboardState {
  const seq = state.seq + 1;
  const next: DashboardState = { ...state, seq, updatedAt: Math.max(state.updatedAt ?? event.at, event.at) };
  const timeline = (text: string | null, step: string | null) => {
    const kind = TIMELINE_KIND[event.type];
    if (text === null || kind === null) return;
    next.timeline = capped([...state.timeline, { seq, at: event.at, kind, step, text }], TIMELINE_LIMIT);
  };

  if (event.type === "phase") {
    next.phase = event.phase;
    next.phaseMessage = event.message;
    // The bars say what the chain holds: a stopped run's step is no longer running, and after a
    // rollback V2 holds nothing the copy steps moved.
    if (event.phase === "stopped") {
      next.steps = state.steps.map((view) =>
        view.status === "running" ? { ...view, status: "stopped", etaMs: null, finishedAt: event.at } : view,
      );
    }
    if (event.phase === "rolled-back") {
      next.steps = state.steps.map((view) =>
        UNDONE_BY_ROLLBACK.includes(view.step)
          ? { ...view, status: "rolled-back", done: 0, percent: 0, etaMs: null, finishedAt: event.at }
          : view,
      );
    }
    timeline(`${event.phase}: ${event.message}`, null);
    return next;
  }
  if (event.type === "journal") {
    next.journal = { files: event.files, problems: event.problems, readAt: event.at };
    return next;
  }

  const index = state.steps.findIndex((view) => view.step === event.step);
  const current = index === -1 ? emptyStep(event.step) : state.steps[index]!;
  let view: StepView = current;
  switch (event.type) {
    case "step-started":
      // A step started again (a resumed or repeated run) starts its figures again.
      view = { ...emptyStep(event.step), status: "running", unit: event.unit, total: event.total, startedAt: event.at };
      break;
    case "progress":
      view = {
        ...current,
        done: event.done,
        total: event.total,
        status: current.status === "pending" ? "running" : current.status,
      };
      break;
    case "batch-sent":
      next.inFlight = sentTransaction(state, event, { start: event.start, size: event.size });
      break;
    case "call-sent":
      // A single call is a current transaction like a batch, but moves none of the step's figures.
      next.inFlight = sentTransaction(state, event, { call: event.call, start: 0, size: 0 });
      break;
    case "call-confirmed":
      Object.assign(next, confirmedTransaction(state, event, { call: event.call, start: 0, size: 0 }));
      break;
    case "batch-confirmed": {
      Object.assign(next, confirmedTransaction(state, event, { start: event.start, size: event.size }));
      view = {
        ...current,
        batches: current.batches + 1,
        moved: current.moved + event.size,
        gasUsed: (BigInt(current.gasUsed) + BigInt(event.gasUsed)).toString(),
        l1FeeWei: (BigInt(current.l1FeeWei) + BigInt(event.l1FeeWei)).toString(),
      };
      break;
    }
    case "warning":
      next.warnings = capped(
        [...state.warnings, { at: event.at, step: event.step, message: event.message }],
        LIST_LIMIT,
      );
      break;
    case "error":
      next.errors = capped([...state.errors, { at: event.at, step: event.step, message: event.message }], LIST_LIMIT);
      view = { ...current, status: "failed", finishedAt: event.at };
      // A failed step leaves nothing in flight that the dashboard can still follow.
      next.inFlight = state.inFlight.filter((tx) => tx.step !== event.step);
      break;
    case "step-finished":
      view = { ...current, status: "finished", finishedAt: event.at };
      // A finished step has done its work (steps without batches report no progress at the end).
      view.done = Math.max(current.done, current.total);
      if (event.step === "snapshot") {
        next.commitments = {
          ...state.commitments,
          v1: { ...state.commitments.v1, ...snapshotCommitments(event.summary) },
        };
      }
      if (event.step === "verify") {
        try {
          const verify = parseVerifySummary(event.summary);
          const rows = Object.fromEntries(
            KINDS.map((kind) => {
              const row = verify.commitments[kind];
              return [kind, { ...row, agree: row.v1 === row.v2OnChain && row.v2OnChain === row.v2ReadBack }];
            }),
          ) as VerifySummary["commitments"];
          const counts = Object.fromEntries(
            KINDS.map((kind) => {
              const row = verify.counts[kind];
              return [kind, { ...row, agree: row.v1 === row.v2OnChain && row.v2OnChain === row.v2ReadBack }];
            }),
          ) as VerifySummary["counts"];
          const agree = KINDS.every((kind) => rows[kind].agree && counts[kind].agree);
          next.verification = {
            v1Block: verify.v1Block,
            v2Block: verify.v2Block,
            commitments: rows,
            counts,
            findings: [...verify.findings],
            verified: verify.verified && agree,
          };
          next.commitments = {
            v1: Object.fromEntries(KINDS.map((kind) => [kind, verify.commitments[kind].v1])),
            v2: Object.fromEntries(KINDS.map((kind) => [kind, verify.commitments[kind].v2OnChain])),
          };
        } catch {
          // A malformed summary (another tool's output) shows as unverified, never as verified.
          next.verification = null;
        }
      }
      if (event.step === "finalize") next.finalized = true;
      break;
    case "batch-planned":
      break;
    default:
      exhaustive(event);
  }
  view = withRate(view, event.at);
  const steps = [...state.steps];
  if (index === -1) steps.push(view);
  else steps[index] = view;
  next.steps = sortSteps(steps);
  timeline(describe(event), event.step);
  return next;
}

/** The state after every event of `events`, from `start`. */
export function foldEvents(start: DashboardState, events: Iterable<DashboardEvent>): DashboardState {
  let state = start;
  for (const event of events) state = foldEvent(state, event);
  return state;
}
