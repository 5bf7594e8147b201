/**
 * `platform:history` without Hardhat: a user's stored jobs (imported and native) as rows with their
 * totals, and with an escrow the user's migration credits. The task gives the options as typed and,
 * for `--escrow`, a way to reach the network (connected only then).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Provider } from "ethers";
import { DEFAULT_STORE_PATH, openStore, storeVersion } from "../store/database.js";
import { jobsOfUser } from "../store/jobs.js";
import { LATEST_VERSION } from "../store/migrations/index.js";
import { ImportError } from "./importError.js";
import { parseUser } from "./importPlan.js";
import { loadModelMap } from "./models.js";
import { creditsOfUser } from "./platformImport.js";
import { formatUsd18, parseUsd } from "./pricing.js";
import { historyRow, historyTable, isV3, type HistoryRow } from "./report.js";

/** The task's options as typed ("" = not given). */
export interface PlatformHistoryOptions {
  user: string;
  store: string;
  models: string;
  limit: string;
  escrow: string;
  /** The project root: default paths (models/map.json, .fabstir/store.db) are relative to it. */
  root: string;
}

export interface HistoryTotals {
  jobs: number;
  /** The priced rows' USD, 18 decimals trimmed. */
  costUsd: string;
  costWei: string;
  /** Rows without a USD value (counted as 0 USD). */
  unpriced: number;
}

export type UserCredits = Awaited<ReturnType<typeof creditsOfUser>>;

export interface PlatformHistory {
  user: string;
  /** The store read (absolute). */
  store: string;
  rows: HistoryRow[];
  totals: HistoryTotals;
  /** With an escrow: the user's live credits on it; otherwise null. */
  credits: UserCredits | null;
}

/** The network, asked for only with an escrow (the caller connects lazily and closes). */
export interface HistoryChain {
  provider(): Promise<Provider>;
}

function parseLimit(text: string): number | undefined {
  if (text === "") return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(text)) throw new ImportError(`--limit must be a whole number above 0 (got "${text}")`);
  return Number(text);
}

/** The rows' totals; a row without a USD value adds its wei and no USD. */
export function historyTotals(rows: readonly HistoryRow[]): HistoryTotals {
  return {
    jobs: rows.length,
    costUsd: formatUsd18(
      rows.reduce((sum, r) => sum + (r.costUsd === null ? 0n : parseUsd(r.costUsd, "usdValue")), 0n),
    ),
    costWei: rows.reduce((sum, r) => sum + BigInt(r.costWei), 0n).toString(),
    unpriced: rows.filter((r) => r.costUsd === null).length,
  };
}

/**
 * Reads the user's jobs from the store (read-only), oldest first, at most `limit`. Every refusal is
 * an ImportError saying what to do; the network is asked for only with `escrow`, after the store.
 */
export async function platformHistory(options: PlatformHistoryOptions, chain?: HistoryChain): Promise<PlatformHistory> {
  if (options.user === "") throw new ImportError("pass --user 0x… (whose jobs to list)");
  const user = parseUser(options.user);
  const limit = parseLimit(options.limit);
  const map = loadModelMap(path.resolve(options.root, options.models === "" ? "models/map.json" : options.models));
  const file = path.resolve(options.root, options.store === "" ? DEFAULT_STORE_PATH : options.store);
  if (!existsSync(file))
    throw new ImportError(`no store at ${file}; \`npx hardhat platform:import --apply\` creates it`);
  const db = openStore(file, { readOnly: true });
  let records;
  try {
    // Checked before reading: an older store has no jobs table or a record shape the rows do not know.
    const version = storeVersion(db);
    if (version !== LATEST_VERSION) {
      throw new ImportError(
        `the store ${file} is at schema version ${version}; run \`npx hardhat schema:migrate --to ${LATEST_VERSION} --store ${file}\` first`,
      );
    }
    records = jobsOfUser(db, user, limit).jobs;
  } finally {
    db.close();
  }
  const rows = records.filter(isV3).map((record) => historyRow(record, map));
  let credits: UserCredits | null = null;
  if (options.escrow !== "") {
    if (chain === undefined) throw new ImportError("--escrow reads PaymentEscrowV2: it needs a network connection");
    credits = await creditsOfUser(await chain.provider(), options.escrow, user);
  }
  return { user, store: file, rows, totals: historyTotals(rows), credits };
}

/** `--json`: one line (the shape scripts read: user, rows, totals, credits). */
export function platformHistoryJson(history: PlatformHistory): string {
  const { user, rows, totals, credits } = history;
  return JSON.stringify({ user, rows, totals, credits });
}

/** The table, the totals line and, with an escrow, the credits line. */
export function platformHistoryLines(history: PlatformHistory): string[] {
  const { user, rows, totals, credits } = history;
  const creditLines =
    credits === null
      ? []
      : [
          `Live credits on PaymentEscrowV2 ${credits.escrow}: ${credits.liveWei} wei` +
            (credits.expiresAt === 0
              ? ""
              : ` (expire${credits.liveWei === "0" ? "d" : "s"} ${new Date(credits.expiresAt * 1000).toISOString()})`),
        ];
  if (rows.length === 0) return [`No jobs for ${user} in ${history.store}`, ...creditLines];
  return [
    ...historyTable(rows),
    `${totals.jobs} job(s) for ${user}: ${totals.costUsd} USD, ${totals.costWei} wei${totals.unpriced === 0 ? "" : ` (${totals.unpriced} unpriced)`}`,
    ...creditLines,
  ];
}
