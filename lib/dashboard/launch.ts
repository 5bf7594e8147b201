import { rm } from "node:fs/promises";
import { DEFAULT_JOURNAL_DIRECTORY } from "../migration/journal.js";
import type { RunOptions } from "../migration/engine.js";
import type { MigrationReporter } from "../migration/events.js";
import { createRenderer, pickMode } from "../migration/render.js";
import type { StepContext } from "../migration/steps/context.js";
import { engineDriver } from "./engineDriver.js";
import { explorerFor } from "./explorer.js";
import { networkLabel } from "./networkName.js";
import { TOKEN_VARIABLE } from "./security.js";
import { startDashboardServer } from "./server.js";
import { MigrationSession } from "./session.js";
import { initialState } from "./state.js";
import { tailEvents, watchJournal, type Watcher } from "./watch.js";

/**
 * `migrate:dashboard` from plain inputs: the session (attached to another process's files, or
 * driving the engine here), then the server and the journal watcher, and what the terminal says.
 */

/** A session ready to serve: what it follows, and what to say and remove around it. */
export interface DashboardLaunch {
  session: MigrationSession;
  /** The journal root the session reads (and in run mode the engine writes). */
  journalDir: string;
  /** Already following (attach mode's events file). */
  watchers: Watcher[];
  /** Lines for the terminal after the URL. */
  notes: string[];
  /** Removed when the dashboard stops (the in-process chain's journal and snapshot). */
  scratch?: string | undefined;
}

/** `--attach`: read-only, from the other run's journal and (with `events`) its `--json` lines. */
export function attachDashboard(options: {
  journal: string;
  events: string;
  seed: boolean;
  /** --network as given: the other process's, named only (attach mode connects to nothing). */
  network: string | undefined;
  /** --chain-id (0 = not given): names the chain and gives the explorer for links. */
  chainId: number;
}): DashboardLaunch {
  if (options.seed) throw new Error("--seed starts a migration: it cannot be combined with --attach.");
  const chainId = options.chainId === 0 ? null : options.chainId;
  const journalDir = options.journal === "" ? DEFAULT_JOURNAL_DIRECTORY : options.journal;
  const session = new MigrationSession({
    initial: initialState({
      mode: "attach",
      network: networkLabel({ name: options.network, inProcess: false, chainId }),
      chainId,
      explorer: explorerFor(chainId),
    }),
    journalDir,
  });
  const launch: DashboardLaunch = { session, journalDir, watchers: [], notes: [] };
  const events = options.events;
  if (events !== "") {
    const ended = () =>
      session.apply({ type: "phase", at: Date.now(), phase: "attached", message: `the run in ${events} has ended` });
    launch.watchers.push(tailEvents(events, session.apply, ended));
    launch.notes.push(`Following the events in ${events}.`);
  }
  return launch;
}

/** Run mode: the engine with `migrate:all`'s steps, controlled from the page; the terminal keeps its log. */
export function runDashboard(options: {
  /** The steps' context but its reporter. */
  context: Omit<StepContext, "reporter">;
  run: RunOptions;
  /** ms between blocks on a paced development chain (0 = automine): the engine polls at a quarter of it. */
  blockTime: number;
  /** The terminal's log as --json lines (another dashboard can --attach to them) instead of plain lines. */
  json: boolean;
  /** Where the terminal's log goes (the task passes stdout). */
  write: (text: string) => void;
  /** The network's config name and whether it is Hardhat's in-process chain (see networkLabel). */
  network: { name: string; inProcess: boolean };
  chainId: number;
  /** Removed when the dashboard stops. */
  scratch?: string | undefined;
}): DashboardLaunch {
  const run: RunOptions = {
    ...options.run,
    dryRun: false,
    ...(options.blockTime > 0 ? { pollIntervalMs: Math.max(20, Math.floor(options.blockTime / 4)) } : {}),
  };
  const renderer = createRenderer({
    mode: pickMode({ json: options.json, isTTY: false }),
    write: options.write,
  });
  const tee =
    (reporter: MigrationReporter): MigrationReporter =>
    (event) => {
      reporter(event);
      renderer.report(event);
    };
  const { chainId } = options;
  const journalDir = run.journalDir ?? DEFAULT_JOURNAL_DIRECTORY;
  const session = new MigrationSession({
    initial: initialState({
      mode: "run",
      network: networkLabel({ ...options.network, chainId }),
      chainId,
      explorer: explorerFor(chainId),
    }),
    driver: engineDriver((reporter) => ({ ...options.context, reporter: tee(reporter) }), run),
    journalDir,
  });
  return { session, journalDir, watchers: [], notes: [], scratch: options.scratch };
}

/** What the terminal says at start: the URL, the token (once, when generated) or where it comes from, how to stop. */
export function startBanner(options: {
  url: string;
  controllable: boolean;
  token: string;
  source: "config" | "generated";
  journalDir: string;
  notes: readonly string[];
}): string {
  const { url, controllable, token } = options;
  const access = !controllable
    ? `Attached read-only to the journal in ${options.journalDir}.`
    : options.source === "generated"
      ? `Control token (shown once; the page is read-only without it): ${token}\nOpen with controls: ${url}#token=${encodeURIComponent(token)}`
      : `Controls need the token in ${TOKEN_VARIABLE}.`;
  const stop = controllable
    ? "Ctrl-C stops the dashboard and its run (an unconfirmed batch stays in the journal; the next run resumes it)."
    : "Ctrl-C stops the dashboard (the other process is not affected).";
  return [`Dashboard: ${url}`, ...options.notes, access, stop].join("\n");
}

/** A dashboard being served: `close` stops the watchers and the server and removes the scratch directory. */
export interface ServedDashboard {
  url: string;
  banner: string;
  close(): Promise<void>;
}

/** Serves `launch`'s session (watching its journal) with the token checks of security.ts. */
export async function serveDashboard(
  launch: DashboardLaunch,
  options: { token: string; source: "config" | "generated"; host: string; port: number; staticDir: string },
): Promise<ServedDashboard> {
  const { session, journalDir } = launch;
  const watchers = [
    ...launch.watchers,
    watchJournal(journalDir, (read) => session.apply({ type: "journal", at: Date.now(), ...read })),
  ];
  const { token, host, port, staticDir } = options;
  const server = await startDashboardServer({ session, token, host, port, staticDir });
  return {
    url: server.url,
    banner: startBanner({
      ...options,
      url: server.url,
      controllable: session.controllable,
      journalDir,
      notes: launch.notes,
    }),
    async close() {
      for (const watcher of watchers) watcher.stop();
      await server.close();
      // The seeded chain ends with this process: its scratch journal and snapshot go with it.
      if (launch.scratch !== undefined) await rm(launch.scratch, { recursive: true, force: true });
    },
  };
}

/** Resolves on Ctrl-C (SIGINT) or SIGTERM. */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}
