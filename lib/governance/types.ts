/**
 * The proposal file: what `upgrade:propose` writes, `upgrade:simulate` rehearses and
 * `upgrade:execute` runs. Numbers are decimal strings so that the JSON survives any reader.
 */

/** The version of the proposal file format. */
export const PROPOSAL_FORMAT = "fabstir-proposal/1";

/** The actions `upgrade:propose` builds. */
export const PROPOSAL_ACTIONS = ["upgrade", "pause-v1", "grant-migrator", "cutover", "custom"] as const;
export type ProposalAction = (typeof PROPOSAL_ACTIONS)[number];

/** One call the timelock makes, with what a reviewer needs to read it. */
export interface ProposalCall {
  /** Checksummed address. */
  target: string;
  /** Wei, decimal string. */
  value: string;
  /** Calldata, 0x-prefixed hex. */
  data: string;
  /** The target's name in deployments/<chainId>.json (`NodeRegistryV1`…), or its address when unknown. */
  contract: string;
  /** The decoded function signature (`upgradeToAndCall(address,bytes)`), or `null` when undecodable. */
  signature: string | null;
  /** The decoded arguments by name, JSON-safe (integers as decimal strings, nested calls decoded as `{ signature, args }`). */
  args: Record<string, unknown>;
  /** One sentence on what the call does. */
  summary: string;
  /** The audits/ report that reviews this upgrade (repository-relative), when the call upgrades a proxy. */
  audit?: string;
}

/** `contractName` (and `version`) of an upgrade recovered from chain that could not be derived. */
export const UNKNOWN = "unknown";

/** A proxy the proposal upgrades, and what it must run afterwards. */
export interface ExpectedUpgrade {
  /** The contract's name in the deployment record (`NodeRegistryV1`…), or the proxy's address when unrecorded. */
  name: string;
  proxy: string;
  /** The implementation behind the proxy when the proposal was built. */
  implementationBefore: string;
  /** The implementation the proposal installs (deployed and validated by `prepareUpgrade`). */
  implementation: string;
  /** The artifact deployed there (`NodeRegistryV1_1`…); `UNKNOWN` when no artifact matches its code. */
  contractName: string;
  /** `version()` after the upgrade; `UNKNOWN` when the implementation does not answer it. */
  version: string;
  /**
   * How the fields were derived, when they were read from chain rather than prepared (a proposal
   * simulated by id, lib/governance/upgradesFromChain.ts). The implementations check reports them.
   */
  derivation?: string[];
}

export interface ProposalFile {
  format: typeof PROPOSAL_FORMAT;
  action: ProposalAction;
  /**
   * Every action, in the order their calls were concatenated (`--action pause-v1,upgrade,…`);
   * `action` is the first. Absent in files that hold one action only.
   */
  actions?: ProposalAction[];
  chainId: number;
  governor: string;
  timelock: string;
  /** The address the description binds (`#proposer=`); only it may propose. */
  proposer: string;
  /** The first line of the description, without `# `. */
  title: string;
  /** The whole description, ending in `#proposer=<proposer>`. */
  description: string;
  descriptionHash: string;
  /** As the Governor computes it (`hashProposal`), decimal. */
  proposalId: string;
  /** The timelock's operation id once queued (`hashOperationBatch` with the Governor's salt). */
  timelockOperationId: string;
  /** The Governor's `propose` arguments. */
  targets: string[];
  values: string[];
  calldatas: string[];
  /** The same calls, decoded. */
  calls: ProposalCall[];
  /** The proxies it upgrades. */
  upgrades: ExpectedUpgrade[];
}
