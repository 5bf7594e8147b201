import { depositLeaf, jobLeaf, nodeLeaf, type DepositRecord, type JobRecord, type NodeRecord } from "../commitment.js";
import type { V1State } from "../v1State.js";
import { compareStates, type V2State } from "../v2State.js";

/**
 * The verdict on one trial: given V1 as it was pinned before the migration, V2 read back at the
 * end, what every account and contract held before and after, and the commitments of an
 * uninterrupted reference run, how many records were lost, how many wei, how many records are in
 * V2 twice, and everything else that is wrong (lib/v2State.ts `compareStates` findings, a
 * commitment other than the reference's, a migration left unfinalized). Pure: the chain is read
 * by lib/reliability/holdings.ts and the V1/V2 readers.
 */

export type RecordKind = "nodes" | "jobs" | "deposits";
export const RECORD_KINDS: readonly RecordKind[] = ["nodes", "jobs", "deposits"];

export type Commitments = Record<RecordKind, string>;

/**
 * Wei per account and per custody: `accounts` keys are `node:<operator>` (stake) and
 * `deposit:<user>:<token>` (free balance), summed over V1 and V2; `custody` keys are tokens (ETH
 * as the zero address), the contracts' holdings summed over both generations.
 */
export interface Holdings {
  accounts: Map<string, bigint>;
  custody: Map<string, bigint>;
}

export interface OutcomeInput {
  v1: V1State;
  v2: V2State;
  before: Holdings;
  after: Holdings;
  /** The uninterrupted run's final on-chain commitments; omitted for the reference run itself. */
  reference?: Commitments;
  /** The migration is expected to be finalized (migrate:all ran to its end). */
  expectFinalized?: boolean;
}

export interface Outcome {
  recordsLost: number;
  weiLost: bigint;
  duplicates: number;
  commitments: Commitments;
  /** Everything else wrong, one sentence each; empty when the trial passed. */
  problems: string[];
  passed: boolean;
}

/** The identity of a record: one node per operator, one job per id, one deposit per user and token. */
function keyOf(kind: RecordKind, record: NodeRecord | JobRecord | DepositRecord): string {
  if (kind === "nodes") return (record as NodeRecord).operator.toLowerCase();
  if (kind === "jobs") return String((record as JobRecord).jobId);
  const d = record as DepositRecord;
  return `${d.user.toLowerCase()}:${d.token.toLowerCase()}`;
}

function leafOf(kind: RecordKind, record: unknown): string {
  if (kind === "nodes") return nodeLeaf(record as NodeRecord);
  if (kind === "jobs") return jobLeaf(record as JobRecord);
  return depositLeaf(record as DepositRecord);
}

function tally(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

export function checkOutcome(input: OutcomeInput): Outcome {
  const problems: string[] = [];
  let recordsLost = 0;
  let duplicates = 0;
  for (const kind of RECORD_KINDS) {
    const source = input.v1[kind].records as readonly (NodeRecord | JobRecord | DepositRecord)[];
    const target = input.v2[kind].records as readonly (NodeRecord | JobRecord | DepositRecord)[];
    // Lost: a V1 record that V2 does not hold exactly (same encoding), counted with multiplicity.
    const held = tally(target.map((r) => leafOf(kind, r)));
    for (const record of source) {
      const leaf = leafOf(kind, record);
      const left = held.get(leaf) ?? 0;
      if (left > 0) held.set(leaf, left - 1);
      else recordsLost++;
    }
    // Duplicated: a record identity V2 holds more than once.
    const keys = tally(target.map((r) => keyOf(kind, r)));
    let kindDuplicates = 0;
    for (const count of keys.values()) if (count > 1) kindDuplicates += count - 1;
    duplicates += kindDuplicates;
    const extra = [...held.values()].reduce((a, b) => a + b, 0) - kindDuplicates;
    if (extra > 0) problems.push(`V2 holds ${extra} ${kind} record(s) that V1 never had.`);
  }

  // Wei: every account's V1 + V2 balance, and every token's holdings across both generations.
  let accountShortfall = 0n;
  let created = 0n;
  for (const key of new Set([...input.before.accounts.keys(), ...input.after.accounts.keys()])) {
    const diff = (input.before.accounts.get(key) ?? 0n) - (input.after.accounts.get(key) ?? 0n);
    if (diff > 0n) accountShortfall += diff;
    else created -= diff;
  }
  let custodyShortfall = 0n;
  for (const token of new Set([...input.before.custody.keys(), ...input.after.custody.keys()])) {
    const before = input.before.custody.get(token) ?? 0n;
    const after = input.after.custody.get(token) ?? 0n;
    if (after < before) custodyShortfall += before - after;
    if (after > before) problems.push(`The contracts hold ${after - before} more of ${token} than before.`);
  }
  if (created > 0n) problems.push(`Accounts hold ${created} wei more than before (moved to the wrong account?).`);
  const weiLost = accountShortfall > custodyShortfall ? accountShortfall : custodyShortfall;

  const commitments: Commitments = {
    nodes: input.v2.nodes.onChain.commitment,
    jobs: input.v2.jobs.onChain.commitment,
    deposits: input.v2.deposits.onChain.commitment,
  };
  if (input.reference !== undefined) {
    for (const kind of RECORD_KINDS) {
      if (commitments[kind] !== input.reference[kind]) {
        problems.push(
          `V2's ${kind} commitment ${commitments[kind]} differs from the reference run's ${input.reference[kind]}.`,
        );
      }
    }
  }
  for (const finding of compareStates(input.v1, input.v2)) problems.push(finding.message);
  if (input.expectFinalized !== false) {
    for (const kind of RECORD_KINDS) {
      if (!input.v2[kind].onChain.finalized) problems.push(`V2's ${kind} migration is not finalized.`);
    }
  }
  return {
    recordsLost,
    weiLost,
    duplicates,
    commitments,
    problems,
    passed: problems.length === 0 && recordsLost === 0 && weiLost === 0n && duplicates === 0,
  };
}
