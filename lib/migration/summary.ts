import type {
  CopyStep,
  FinalizeStepSummary,
  FinalizedContract,
  MigrationEvent,
  StepName,
  ThreeWay,
  VerifiedKind,
  VerifyStepSummary,
} from "./events.js";

/**
 * The run summary: what a migration run did, computed from its progress events alone, so the CLI,
 * `--json`, the report files and a dashboard replaying the stream all state the same figures.
 */

/** A `step-finished` summary that does not have the shape events.ts documents for its step. */
export class SummaryError extends Error {
  override name = "SummaryError";
}

/** One copy step (nodes, jobs, escrow) in this run. Records are counted in the step's `unit`. */
export interface CopyStepSummary {
  step: CopyStep;
  unit: string;
  /** Records moved by confirmed batches (a batch rolled back and sent again counts twice). */
  records: number;
  /** Confirmed batches: one transaction each. */
  batches: number;
  /** Confirmed plus failed transactions. */
  transactions: number;
  /**
   * Nonces whose transaction was sent but never confirmed: reverted, dropped, or still pending
   * when the summary was taken. A replacement that confirms under the same nonce is no failure.
   */
  failedTransactions: number;
  /** Gas of the confirmed transactions, in gas units (decimal string). */
  gasUsed: string;
  /** `gasUsed / records`, rounded; null when no record moved. */
  gasPerRecord: number | null;
  largestTransactionGas: string;
  /** The mean of the planner's fills over the step's planned batches (4 decimals); null if none. */
  meanFill: number | null;
  /** OP-stack L1 data fees of the confirmed transactions, in wei. */
  l1FeeWei: string;
  /** From `step-started` to `step-finished` (or to the step's last event if it did not finish). */
  wallTimeMs: number;
  /** `records` per second of wall time (2 decimals); null when no time passed. */
  recordsPerSecond: number | null;
  finished: boolean;
}

/** A three-way row and whether its three values agree. */
export type Agreement<T> = ThreeWay<T> & { agree: boolean };

/** The verify step's result as reported: its figures, and whether they agree. */
export interface VerifySummary {
  v1Block: number;
  v2Block: number;
  commitments: Record<VerifiedKind, Agreement<string>>;
  counts: Record<VerifiedKind, Agreement<number>>;
  findings: string[];
  /** The step's verdict and every commitment and count row agreeing. */
  verified: boolean;
}

export interface FinalizeSummary {
  contracts: FinalizeStepSummary["contracts"];
  /** Every V2 contract is finalized. */
  finalized: boolean;
}

/**
 * What the V1 addresses answered with V1's ABI after the cut-over to the adapters (lib/adapterCheck.ts),
 * when the run cut over. Deterministic for a seed: no times, no transaction hashes.
 */
export interface AdapterCheckSummary {
  /** Snapshot records read back through the V1 addresses. */
  nodes: number;
  jobs: number;
  balances: number;
  /** Records answered differently from the snapshot. */
  mismatches: number;
  /** The first differences (and a round trip's failure), in words. */
  findings: string[];
  /** The job posted, claimed and completed with V1's ABI; null when it did not complete. */
  roundTrip: {
    jobId: string;
    model: string;
    renter: string;
    host: string;
    /** Wei. */
    price: string;
    feeBps: string;
    /** What the host's `balanceOf` grew by (wei): the price less the fee. */
    hostCredit: string;
  } | null;
  /** Every record identical and the round trip completed. */
  passed: boolean;
}

/**
 * A proposal the run passed through the Governor and the timelock (the demo's freeze and
 * cut-over), with the simulation's post-checks when it was rehearsed with them.
 */
export interface GovernanceProposalSummary {
  title: string;
  proposalId: string;
  calls: number;
  /** Each post-check's verdict, in the simulation's order; empty when it ran without them. */
  checks: { id: string; status: "pass" | "fail" | "skip" }[];
  /** Executed, and no post-check failed. */
  passed: boolean;
}

export interface MigrationSummary {
  /** The copy steps in the order they first reported. */
  steps: CopyStepSummary[];
  /** Summed over the copy steps (records are not: their units differ). */
  totals: {
    batches: number;
    transactions: number;
    failedTransactions: number;
    gasUsed: string;
    l1FeeWei: string;
  };
  /** The last verify step's result in this run, if one finished. */
  verify: VerifySummary | null;
  /** The last finalize step's result in this run, if one finished. */
  finalize: FinalizeSummary | null;
  warnings: number;
  errors: { step: StepName; message: string }[];
  /** From the first event to the last. */
  wallTimeMs: number;
  /** The V1 API through the adapters, when the run ended with the cut-over (the demo does). */
  adapters?: AdapterCheckSummary;
  /** The governance proposals the run executed, in order (the demo's freeze and cut-over). */
  governance?: GovernanceProposalSummary[];
}

const COPY_STEPS: readonly StepName[] = ["nodes", "jobs", "escrow"];
const VERIFIED_KINDS: readonly VerifiedKind[] = ["nodes", "jobs", "deposits"];
const FINALIZED_CONTRACTS: readonly FinalizedContract[] = ["registry", "marketplace", "escrow"];

export function isCopyStep(step: StepName): step is CopyStep {
  return COPY_STEPS.includes(step);
}

interface CopyTally {
  step: CopyStep;
  unit: string;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  firstAt: number;
  lastAt: number;
  /** txHash → nonce of every transaction sent. */
  sent: Map<string, number>;
  /** txHash → the confirmed batch (a re-reported confirmation, e.g. after a reorg, replaces it). */
  confirmed: Map<string, { size: number; gasUsed: bigint; l1FeeWei: bigint }>;
  fills: number[];
}

/**
 * Folds events into a run summary one at a time, so a long run never keeps its event history.
 * `summary()` may be called at any point and again later.
 */
export class SummaryCollector {
  readonly #copy = new Map<CopyStep, CopyTally>();
  #verify: VerifyStepSummary | null = null;
  #finalize: FinalizeStepSummary | null = null;
  #warnings = 0;
  readonly #errors: { step: StepName; message: string }[] = [];
  #firstAt: number | undefined;
  #lastAt: number | undefined;

  add(event: MigrationEvent): void {
    this.#firstAt = Math.min(this.#firstAt ?? event.at, event.at);
    this.#lastAt = Math.max(this.#lastAt ?? event.at, event.at);
    switch (event.type) {
      case "warning":
        this.#warnings++;
        break;
      case "error":
        this.#errors.push({ step: event.step, message: event.message });
        break;
      case "step-finished":
        if (event.step === "verify") this.#verify = parseVerifySummary(event.summary);
        if (event.step === "finalize") this.#finalize = parseFinalizeSummary(event.summary);
        break;
    }
    if (!isCopyStep(event.step)) return;
    const tally = this.#tally(event.step, event.at);
    tally.lastAt = Math.max(tally.lastAt, event.at);
    switch (event.type) {
      case "step-started":
        tally.unit = event.unit;
        tally.startedAt ??= event.at;
        break;
      case "step-finished":
        tally.finishedAt = event.at;
        break;
      case "batch-planned":
        tally.fills.push(event.fill);
        break;
      case "batch-sent":
        tally.sent.set(event.txHash, event.nonce);
        break;
      case "batch-confirmed":
        tally.confirmed.set(event.txHash, {
          size: event.size,
          gasUsed: BigInt(event.gasUsed),
          l1FeeWei: BigInt(event.l1FeeWei),
        });
        break;
    }
  }

  #tally(step: CopyStep, at: number): CopyTally {
    let tally = this.#copy.get(step);
    if (tally === undefined) {
      tally = {
        step,
        unit: "records",
        startedAt: undefined,
        finishedAt: undefined,
        firstAt: at,
        lastAt: at,
        sent: new Map(),
        confirmed: new Map(),
        fills: [],
      };
      this.#copy.set(step, tally);
    }
    return tally;
  }

  summary(): MigrationSummary {
    const steps = [...this.#copy.values()].map(copyStepSummary);
    const sum = (pick: (step: CopyStepSummary) => number) => steps.reduce((total, step) => total + pick(step), 0);
    const sumBig = (pick: (step: CopyStepSummary) => string) =>
      steps.reduce((total, step) => total + BigInt(pick(step)), 0n).toString();
    return {
      steps,
      totals: {
        batches: sum((step) => step.batches),
        transactions: sum((step) => step.transactions),
        failedTransactions: sum((step) => step.failedTransactions),
        gasUsed: sumBig((step) => step.gasUsed),
        l1FeeWei: sumBig((step) => step.l1FeeWei),
      },
      verify: this.#verify === null ? null : verifySummary(this.#verify),
      finalize: this.#finalize === null ? null : finalizeSummary(this.#finalize),
      warnings: this.#warnings,
      errors: this.#errors.map((error) => ({ ...error })),
      wallTimeMs: this.#firstAt === undefined ? 0 : this.#lastAt! - this.#firstAt,
    };
  }
}

/** The summary of a whole event sequence. */
export function summarize(events: Iterable<MigrationEvent>): MigrationSummary {
  const collector = new SummaryCollector();
  for (const event of events) collector.add(event);
  return collector.summary();
}

function copyStepSummary(tally: CopyTally): CopyStepSummary {
  let records = 0;
  let gasUsed = 0n;
  let largest = 0n;
  let l1FeeWei = 0n;
  const confirmedNonces = new Set<number>();
  for (const [txHash, batch] of tally.confirmed) {
    records += batch.size;
    gasUsed += batch.gasUsed;
    l1FeeWei += batch.l1FeeWei;
    if (batch.gasUsed > largest) largest = batch.gasUsed;
    const nonce = tally.sent.get(txHash);
    if (nonce !== undefined) confirmedNonces.add(nonce);
  }
  const failedNonces = new Set<number>();
  for (const [txHash, nonce] of tally.sent) {
    if (!tally.confirmed.has(txHash) && !confirmedNonces.has(nonce)) failedNonces.add(nonce);
  }
  const batches = tally.confirmed.size;
  const wallTimeMs = (tally.finishedAt ?? tally.lastAt) - (tally.startedAt ?? tally.firstAt);
  const meanFill =
    tally.fills.length === 0 ? null : round(tally.fills.reduce((a, b) => a + b, 0) / tally.fills.length, 4);
  return {
    step: tally.step,
    unit: tally.unit,
    records,
    batches,
    transactions: batches + failedNonces.size,
    failedTransactions: failedNonces.size,
    gasUsed: gasUsed.toString(),
    // Rounded half up in integers: (2g + r) / 2r.
    gasPerRecord: records === 0 ? null : Number((2n * gasUsed + BigInt(records)) / (2n * BigInt(records))),
    largestTransactionGas: largest.toString(),
    meanFill,
    l1FeeWei: l1FeeWei.toString(),
    wallTimeMs,
    recordsPerSecond: wallTimeMs <= 0 ? null : round((records * 1000) / wallTimeMs, 2),
    finished: tally.finishedAt !== undefined,
  };
}

function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

function agreement<T>(row: ThreeWay<T>): Agreement<T> {
  return { ...row, agree: row.v1 === row.v2OnChain && row.v2OnChain === row.v2ReadBack };
}

function verifySummary(step: VerifyStepSummary): VerifySummary {
  const commitments = {} as Record<VerifiedKind, Agreement<string>>;
  const counts = {} as Record<VerifiedKind, Agreement<number>>;
  for (const kind of VERIFIED_KINDS) {
    commitments[kind] = agreement(step.commitments[kind]);
    counts[kind] = agreement(step.counts[kind]);
  }
  const agree = VERIFIED_KINDS.every((kind) => commitments[kind].agree && counts[kind].agree);
  return {
    v1Block: step.v1Block,
    v2Block: step.v2Block,
    commitments,
    counts,
    findings: [...step.findings],
    verified: step.verified && agree,
  };
}

function finalizeSummary(step: FinalizeStepSummary): FinalizeSummary {
  const contracts = [...step.contracts].sort(
    (a, b) => FINALIZED_CONTRACTS.indexOf(a.contract) - FINALIZED_CONTRACTS.indexOf(b.contract),
  );
  const done = new Set(contracts.map((entry) => entry.contract));
  return {
    contracts: contracts.map((entry) => ({ ...entry })),
    finalized: FINALIZED_CONTRACTS.every((contract) => done.has(contract)),
  };
}

// ---------------------------------------------------------------- building and checking step summaries

/** The figures of one record set as V1 reports them. */
interface V1Figures {
  commitment: string;
  count: number;
}

/** The figures of one record set as V2 read back reports them (lib/v2State.ts `ReadBack`). */
interface V2Figures extends V1Figures {
  onChain: { commitment: string; count: number };
}

/**
 * The verify step's `step-finished` summary from V1 at the pinned block (lib/v1State.ts
 * `V1State`), V2 read back (lib/v2State.ts `V2State`) and `compareStates`' findings.
 */
export function verifyStepSummary(
  v1: { blockNumber: number } & Record<VerifiedKind, V1Figures>,
  v2: { blockNumber: number } & Record<VerifiedKind, V2Figures>,
  findings: readonly { message: string }[],
): VerifyStepSummary {
  const commitments = {} as Record<VerifiedKind, ThreeWay<string>>;
  const counts = {} as Record<VerifiedKind, ThreeWay<number>>;
  for (const kind of VERIFIED_KINDS) {
    commitments[kind] = {
      v1: v1[kind].commitment,
      v2OnChain: v2[kind].onChain.commitment,
      v2ReadBack: v2[kind].commitment,
    };
    counts[kind] = { v1: v1[kind].count, v2OnChain: v2[kind].onChain.count, v2ReadBack: v2[kind].count };
  }
  return {
    v1Block: v1.blockNumber,
    v2Block: v2.blockNumber,
    commitments,
    counts,
    findings: findings.map((finding) => finding.message),
    verified: findings.length === 0,
  };
}

type Check = (value: unknown, path: string) => void;

function fail(path: string, expected: string, value: unknown): never {
  const got =
    value === undefined
      ? "nothing"
      : value === null
        ? "null"
        : Array.isArray(value)
          ? "an array"
          : typeof value === "object"
            ? "an object"
            : typeof value === "bigint"
              ? `${value}n`
              : JSON.stringify(value);
  throw new SummaryError(`${path} must be ${expected}, got ${got}.`);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const string: Check = (value, path) => {
  if (typeof value !== "string") fail(path, "a string", value);
};
const count: Check = (value, path) => {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail(path, "a non-negative integer", value);
};
const boolean: Check = (value, path) => {
  if (typeof value !== "boolean") fail(path, "a boolean", value);
};
const decimal: Check = (value, path) => {
  if (typeof value !== "string" || !/^(0|[1-9][0-9]*)$/.test(value)) fail(path, "a decimal string", value);
};

function object(value: unknown, path: string, fields: Record<string, Check>): void {
  if (!isRecord(value)) fail(path, "an object", value);
  for (const [key, check] of Object.entries(fields)) check(value[key], `${path}.${key}`);
}

function threeWay(check: Check): Check {
  return (value, path) => object(value, path, { v1: check, v2OnChain: check, v2ReadBack: check });
}

function perKind(check: Check): Check {
  return (value, path) => object(value, path, Object.fromEntries(VERIFIED_KINDS.map((kind) => [kind, check])));
}

/** The verify step's summary, checked against the shape events.ts documents. */
export function parseVerifySummary(value: unknown): VerifyStepSummary {
  object(value, "verify summary", {
    v1Block: count,
    v2Block: count,
    commitments: perKind(threeWay(string)),
    counts: perKind(threeWay(count)),
    findings: (findings, path) => {
      if (!Array.isArray(findings)) fail(path, "an array", findings);
      findings.forEach((finding, i) => string(finding, `${path}[${i}]`));
    },
    verified: boolean,
  });
  return value as VerifyStepSummary;
}

/** The finalize step's summary, checked against the shape events.ts documents. */
export function parseFinalizeSummary(value: unknown): FinalizeStepSummary {
  object(value, "finalize summary", {
    contracts: (contracts, path) => {
      if (!Array.isArray(contracts)) fail(path, "an array", contracts);
      contracts.forEach((entry, i) =>
        object(entry, `${path}[${i}]`, {
          contract: (name, at) => {
            if (!FINALIZED_CONTRACTS.includes(name as FinalizedContract))
              fail(at, `one of ${FINALIZED_CONTRACTS.join(", ")}`, name);
          },
          commitment: string,
          count,
          txHash: (hash, at) => {
            if (hash !== null) string(hash, at);
          },
          gasUsed: decimal,
        }),
      );
    },
  });
  return value as FinalizeStepSummary;
}
