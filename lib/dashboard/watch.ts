import { open, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { isAddress } from "ethers";
import { MigrationJournal } from "../migration/journal.js";
import type { MigrationEvent } from "../migration/events.js";
import type { JournalFileView } from "./state.js";

/**
 * What the dashboard reads from disk, never from the chain: the journal directory (every
 * `<chainId>/<contract>.json`, read and checked as the engine reads it) and, when attached to a
 * run in another process, that run's `--json` event lines as they are appended to a file.
 */

export interface JournalRead {
  files: JournalFileView[];
  problems: string[];
}

/** Reads every journal file under `directory` (none when it does not exist yet). */
export async function readJournalDirectory(directory: string): Promise<JournalRead> {
  const files: JournalFileView[] = [];
  const problems: string[] = [];
  let chains: string[];
  try {
    chains = (await readdir(directory, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory() && /^\d+$/.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { files, problems };
    throw error;
  }
  for (const chain of chains) {
    const names = (await readdir(path.join(directory, chain))).filter(
      (name) => name.endsWith(".json") && isAddress(name.slice(0, -5)),
    );
    for (const name of names.sort()) {
      try {
        const journal = await MigrationJournal.open({ directory, chainId: Number(chain), contract: name.slice(0, -5) });
        files.push({
          chainId: journal.chainId,
          contract: journal.contract,
          pending: journal.entries.map((entry) => ({
            step: entry.step,
            cursor: entry.cursor,
            size: entry.size,
            nonce: entry.nonce,
            txHash: entry.txHash,
            sentAt: entry.sentAt,
            ...(entry.call === undefined ? {} : { call: entry.call }),
          })),
        });
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
  }
  return { files, problems };
}

export interface Watcher {
  /** Reads once more now (and reports a change), then resolves. */
  poll(): Promise<void>;
  stop(): void;
}

/**
 * Runs `read` now and every `intervalMs`, one at a time (a slow read is never overlapped by the next),
 * until stopped. `poll()` runs one more read after any in flight.
 */
function pollEvery(read: () => Promise<void>, intervalMs: number): Watcher {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const poll = () => {
    running = running.then(() => (stopped ? undefined : read()));
    return running;
  };
  const timer = setInterval(() => void poll(), intervalMs);
  timer.unref();
  void poll();
  return {
    poll,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** Calls `onChange` with the journal directory's contents whenever they differ from the last read. */
export function watchJournal(directory: string, onChange: (read: JournalRead) => void, intervalMs = 500): Watcher {
  let last = "";
  return pollEvery(async () => {
    let read: JournalRead;
    try {
      read = await readJournalDirectory(directory);
    } catch (error) {
      read = {
        files: [],
        problems: [`could not read the journal directory ${directory}: ${(error as Error).message}`],
      };
    }
    const key = JSON.stringify(read);
    if (key !== last) {
      last = key;
      onChange(read);
    }
  }, intervalMs);
}

/** Every engine event type: a full record, so a new type must be listed (or attach drops it). */
const EVENT_TYPE_RECORD: Record<MigrationEvent["type"], true> = {
  "step-started": true,
  "batch-planned": true,
  "batch-sent": true,
  "batch-confirmed": true,
  "call-sent": true,
  "call-confirmed": true,
  progress: true,
  warning: true,
  "step-finished": true,
  error: true,
};
const EVENT_TYPES = new Set<string>(Object.keys(EVENT_TYPE_RECORD));

/** One `--json` line as a migration event; undefined for the summary line or anything else. */
export function parseEventLine(line: string): MigrationEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const event = value as { type?: unknown; at?: unknown; step?: unknown };
  if (typeof event.type !== "string" || !EVENT_TYPES.has(event.type)) return undefined;
  if (typeof event.at !== "number" || typeof event.step !== "string") return undefined;
  return value as MigrationEvent;
}

/** Whether a `--json` line is the run's closing summary. */
function isSummaryLine(line: string): boolean {
  try {
    return (JSON.parse(line) as { type?: unknown } | null)?.type === "summary";
  } catch {
    return false;
  }
}

/**
 * Follows a file of `--json` lines (`npx hardhat migrate:all --json > run.jsonl`) from its start:
 * every complete line that is a migration event goes to `onEvent`; the summary line, which ends a
 * run, goes to `onEnd`. A file that shrinks (a new run) is read again from its start.
 */
export function tailEvents(
  file: string,
  onEvent: (event: MigrationEvent) => void,
  onEnd: () => void,
  intervalMs = 250,
): Watcher {
  let offset = 0;
  let partial = "";
  return pollEvery(async () => {
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      return; // not written yet
    }
    if (size < offset) {
      offset = 0;
      partial = "";
    }
    if (size === offset) return;
    const handle = await open(file, "r");
    try {
      const buffer = Buffer.alloc(size - offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      offset += bytesRead;
      const lines = (partial + buffer.subarray(0, bytesRead).toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line.trim() === "") continue;
        const event = parseEventLine(line);
        if (event !== undefined) onEvent(event);
        else if (isSummaryLine(line)) onEnd();
      }
    } finally {
      await handle.close();
    }
  }, intervalMs);
}
