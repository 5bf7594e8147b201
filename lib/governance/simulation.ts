/**
 * What `upgrade:simulate` reports: the steps it sent, each post-check and the events the
 * execution emitted. lib/governance/simulate.ts produces it, lib/governance/checks/ fills
 * `checks` and `events`, lib/governance/simulationReport.ts renders it.
 */

export type SimulationStepName = "propose" | "delegate" | "vote" | "queue" | "execute";

/** One transaction the simulation sent. */
export interface SimulationStep {
  step: SimulationStepName;
  /** Who sent it (impersonated on a development chain). */
  from: string;
  txHash: string;
  block: number;
  gasUsed: string;
  note?: string;
}

export type CheckStatus = "pass" | "fail" | "skip";

/** One post-check, in the spirit of Uniswap's governance-seatbelt. */
export interface CheckResult {
  /** Stable key (`implementations`, `versions`, `commitments`, `permissions`, `balances`, `events`…). */
  id: string;
  title: string;
  status: CheckStatus;
  /** One line per fact checked, readable on its own. */
  details: string[];
  /** Machine-readable figures behind the details. */
  data?: unknown;
}

/** A log of the execution, decoded with the ABIs the toolkit knows. */
export interface DecodedEvent {
  address: string;
  /** The emitter's name in the deployment record, or its address. */
  contract: string;
  /** `RoleGranted(bytes32,address,address)`…, or `null` when no known ABI decodes it. */
  signature: string | null;
  args: Record<string, unknown>;
  topic0: string;
}

export interface SimulationReport {
  chainId: number;
  proposalId: string;
  action: string;
  title: string;
  /** The block the simulation started from. */
  forkBlock: number;
  steps: SimulationStep[];
  checks: CheckResult[];
  events: DecodedEvent[];
  /** Every check passed (skipped ones do not fail the simulation). */
  passed: boolean;
}
