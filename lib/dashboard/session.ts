import { mkdir } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomically } from "../files.js";
import {
  STEP_ORDER,
  type CopyStep,
  type MigrationEvent,
  type MigrationReporter,
  type StepName,
} from "../migration/events.js";
import { foldEvent, type DashboardEvent, type DashboardState, type RunPhase } from "./state.js";
import { readJournalDirectory, type JournalRead } from "./watch.js";

/**
 * One dashboard's migration: the state folded from its events, and the controls. In run mode it
 * drives the engine through a `MigrationDriver`: pause closes a gate the engine awaits before each
 * batch (the batch in flight is confirmed first, nothing more is sent), resume opens it (or, after
 * a stop or a failure, runs again from the chain's cursors), rollback stops a paused run and runs
 * the engine's rollback step. In attach mode it only folds what it is given.
 */

/** What the session runs: the engine's migration and its rollback step, with the session's reporter. */
export interface MigrationDriver {
  /** Runs the migration; `beforeBatch` goes to the engine (RunOptions.beforeBatch). */
  run(reporter: MigrationReporter, beforeBatch: (step: CopyStep, cursor: number) => Promise<void>): Promise<unknown>;
  /** Runs the engine's rollback step. */
  rollback(reporter: MigrationReporter): Promise<unknown>;
}

/** A control asked in a phase that does not allow it (HTTP 409), or in attach mode. */
export class ControlRefused extends Error {
  override name = "ControlRefused";
}

/** How a paused run is stopped before a rollback: the gate rejects with this. */
export class StoppedByOperator extends Error {
  override name = "StoppedByOperator";
  constructor() {
    super("stopped by the operator before its next batch");
  }
}

export interface Checkpoint {
  at: number;
  phase: RunPhase;
  /** Each copy step's on-chain cursor as last reported, and its total. */
  steps: { step: string; done: number; total: number; batches: number }[];
  /** The journal as read now: the sent-but-unconfirmed batches per contract. */
  journal: JournalRead;
  /** Where it was written (run mode), or null (attach mode records nothing). */
  file: string | null;
}

export interface SessionOptions {
  initial: DashboardState;
  /** Undefined in attach mode: no controls. */
  driver?: MigrationDriver;
  /** The journal root the engine writes (what checkpoint reads). */
  journalDir: string;
  now?: () => number;
}

type Listener = (state: DashboardState, event: DashboardEvent) => void;

export class MigrationSession {
  #state: DashboardState;
  readonly #driver: MigrationDriver | undefined;
  readonly #journalDir: string;
  readonly #now: () => number;
  readonly #listeners = new Set<Listener>();
  #gateOpen = true;
  #waiters: { resolve(): void; reject(error: Error): void }[] = [];
  /** The run or rollback in progress (settles when it ends; never rejects). */
  #busy: Promise<void> = Promise.resolve();

  constructor(options: SessionOptions) {
    this.#state = options.initial;
    this.#driver = options.driver;
    this.#journalDir = options.journalDir;
    this.#now = options.now ?? Date.now;
  }

  get state(): DashboardState {
    return this.#state;
  }

  /** Whether this session has controls (run mode). */
  get controllable(): boolean {
    return this.#driver !== undefined;
  }

  /** Calls `listener` after every event; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Folds one event (the engine's reporter, the journal watcher, an attached run's lines). */
  readonly apply = (event: DashboardEvent): void => {
    this.#state = foldEvent(this.#state, event);
    for (const listener of this.#listeners) listener(this.#state, event);
  };

  /** Settles when the current run or rollback has ended. */
  settled(): Promise<void> {
    return this.#busy;
  }

  #phase(phase: RunPhase, message: string): void {
    this.apply({ type: "phase", at: this.#now(), phase, message });
  }

  #driverOrRefuse(): MigrationDriver {
    if (this.#driver === undefined) {
      throw new ControlRefused(
        "This dashboard is attached read-only: the controls belong to the process running the migration.",
      );
    }
    return this.#driver;
  }

  /** Starts the run; with `paused`, it runs its checks and snapshot and waits before its first batch. */
  start(options: { paused?: boolean } = {}): RunPhase {
    const driver = this.#driverOrRefuse();
    const busy = ["running", "pausing", "paused", "rolling-back"] as RunPhase[];
    if (busy.includes(this.#state.phase)) throw new ControlRefused(`The migration is ${this.#state.phase}.`);
    this.#gateOpen = options.paused !== true;
    if (this.#gateOpen) this.#phase("running", "migrating");
    else this.#phase("pausing", "will wait before its first batch");
    this.#busy = (async () => {
      try {
        await driver.run(this.apply, (step, cursor) => this.#beforeBatch(step, cursor));
        const verified = this.#state.verification?.verified === true;
        this.#phase("finished", verified ? "verified" : "done");
      } catch (error) {
        if (error instanceof StoppedByOperator) {
          this.#phase("stopped", error.message);
        } else {
          this.#reportFailure(error, "check");
          this.#phase("failed", (error as Error).message ?? String(error));
        }
      }
    })();
    return this.#state.phase;
  }

  #beforeBatch(step: CopyStep, cursor: number): Promise<void> {
    if (this.#gateOpen) return Promise.resolve();
    this.#phase("paused", `before the ${step} batch at ${cursor}`);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #release(error?: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }

  /** The engine threw: its error event, as the CLI's renderer would report it. */
  #reportFailure(error: unknown, fallback: StepName): void {
    const step = (error as { step?: unknown }).step;
    const event: MigrationEvent = {
      type: "error",
      at: this.#now(),
      step:
        typeof step === "string" && (STEP_ORDER as readonly string[]).includes(step) ? (step as StepName) : fallback,
      message: error instanceof Error ? error.message : String(error),
    };
    this.apply(event);
  }

  /** Finish the batch in flight, send no more. */
  pause(): RunPhase {
    this.#driverOrRefuse();
    const phase = this.#state.phase;
    if (phase === "pausing" || phase === "paused") return phase;
    if (phase !== "running") throw new ControlRefused(`Nothing to pause: the migration is ${phase}.`);
    this.#gateOpen = false;
    this.#phase("pausing", "finishing the batch in flight");
    return this.#state.phase;
  }

  /** Continue a paused run; after a stop, a failure or a rollback, run again from the chain's cursors. */
  resume(): RunPhase {
    this.#driverOrRefuse();
    const phase = this.#state.phase;
    if (phase === "running") return phase;
    if (phase === "pausing" || phase === "paused") {
      this.#gateOpen = true;
      this.#phase("running", "resumed");
      this.#release();
      return this.#state.phase;
    }
    if (phase === "idle" || phase === "stopped" || phase === "failed" || phase === "rolled-back") return this.start();
    throw new ControlRefused(`Cannot resume: the migration is ${phase}.`);
  }

  /**
   * Takes every batch back to V1 (the engine's rollback step). Only while paused (the run is
   * stopped first), stopped or failed: never with a batch in flight.
   */
  rollback(): RunPhase {
    const driver = this.#driverOrRefuse();
    const phase = this.#state.phase;
    if (phase !== "paused" && phase !== "stopped" && phase !== "failed") {
      throw new ControlRefused(`Roll back only while paused or stopped: the migration is ${phase}.`);
    }
    const previous = this.#busy;
    this.#phase("rolling-back", "taking every batch back to V1");
    this.#release(new StoppedByOperator());
    this.#busy = (async () => {
      await previous;
      // The stopped run reported "stopped"; the rollback is what happens now.
      this.#phase("rolling-back", "taking every batch back to V1");
      try {
        await driver.rollback(this.apply);
        this.#phase("rolled-back", "every batch is back in V1");
      } catch (error) {
        this.#reportFailure(error, "rollback");
        this.#phase("failed", (error as Error).message ?? String(error));
      }
    })();
    return this.#state.phase;
  }

  /**
   * The journal position now: each copy step's cursor and the journal read from disk. In run mode
   * it is also written to `<journal>/checkpoint.json` (atomically), next to the journal it describes.
   */
  async checkpoint(): Promise<Checkpoint> {
    const journal = await readJournalDirectory(this.#journalDir);
    const steps = this.#state.steps
      .filter((view) => view.step === "nodes" || view.step === "jobs" || view.step === "escrow")
      .map((view) => ({ step: view.step, done: view.done, total: view.total, batches: view.batches }));
    const checkpoint: Checkpoint = { at: this.#now(), phase: this.#state.phase, steps, journal, file: null };
    if (this.controllable) {
      const file = path.join(this.#journalDir, "checkpoint.json");
      await mkdir(this.#journalDir, { recursive: true });
      checkpoint.file = file;
      await writeFileAtomically(file, `${JSON.stringify(checkpoint, null, 2)}\n`);
    }
    return checkpoint;
  }
}
