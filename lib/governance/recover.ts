import { getAddress, isAddress, type Log, type Provider } from "ethers";
import { FabstirGovernor__factory } from "../../typechain-types/index.js";
import type { DeploymentRecord } from "../deployments.js";
import { descriptionHash } from "./description.js";
import { proposalId, timelockOperationId } from "./proposalId.js";
import { decodeCalls } from "./decode.js";
import { PROPOSAL_FORMAT, type ExpectedUpgrade, type ProposalFile } from "./types.js";

/**
 * A proposal's exact arguments, read back from the Governor's `ProposalCreated` event. Queue and
 * execute take the description's hash, and a description is only on chain in that event: one
 * byte off (a trailing newline, another Unicode normalisation) and the id differs, so it is
 * recovered rather than retyped.
 */

/** Blocks per `eth_getLogs` request; public RPCs commonly cap ranges at 10,000. */
export const LOG_PAGE_BLOCKS = 10_000;

/** The proposal as `propose` received it, and where. */
export interface RecoveredProposal {
  id: bigint;
  proposer: string;
  targets: string[];
  values: bigint[];
  calldatas: string[];
  description: string;
  /** The vote's snapshot and deadline, in the token's clock units. */
  voteStart: bigint;
  voteEnd: bigint;
  blockNumber: number;
  transactionHash: string;
}

/** The proposal cannot be found or does not match its id; the message says what to check. */
export class ProposalRecoveryError extends Error {
  override name = "ProposalRecoveryError";
}

export interface LogRange {
  fromBlock: number;
  /** Default: the latest block when the search starts. */
  toBlock?: number;
  /** Default `LOG_PAGE_BLOCKS`. */
  pageBlocks?: number;
}

/**
 * The logs matching `filter`, a page of blocks at a time, oldest first. A page the node refuses
 * (too many results, too wide a range) is retried in halves.
 */
export async function* pagedLogs(
  provider: Provider,
  filter: { address: string; topics: (string | null)[] },
  range: LogRange,
): AsyncGenerator<Log[]> {
  const last = range.toBlock ?? (await provider.getBlockNumber());
  let size = Math.max(1, range.pageBlocks ?? LOG_PAGE_BLOCKS);
  let from = range.fromBlock;
  while (from <= last) {
    const to = Math.min(last, from + size - 1);
    let logs: Log[];
    try {
      logs = await provider.getLogs({ ...filter, fromBlock: from, toBlock: to });
    } catch (error) {
      if (to === from) throw error;
      size = Math.max(1, Math.floor((to - from + 1) / 2));
      continue;
    }
    yield logs;
    from = to + 1;
  }
}

/** Every log matching `filter` in the range, oldest first. */
export async function allLogs(
  provider: Provider,
  filter: { address: string; topics: (string | null)[] },
  range: LogRange,
): Promise<Log[]> {
  const all: Log[] = [];
  for await (const page of pagedLogs(provider, filter, range)) all.push(...page);
  return all;
}

/**
 * Finds the `ProposalCreated` event of `id` on `governor` from `fromBlock` on and returns its
 * exact arguments, after checking that they hash to `id`.
 */
export async function recoverProposal(
  provider: Provider,
  governor: string,
  id: bigint,
  range: LogRange,
): Promise<RecoveredProposal> {
  const address = getAddress(governor);
  if ((await provider.getCode(address)) === "0x") {
    throw new ProposalRecoveryError(`No contract at the Governor address ${address}: check the network and address.`);
  }
  const contract = FabstirGovernor__factory.connect(address, provider);
  if ((await contract.proposalSnapshot(id)) === 0n) {
    throw new ProposalRecoveryError(
      `The Governor ${address} has no proposal ${id}: check the id (decimal, as upgrade:propose printed it) and the network.`,
    );
  }
  const iface = contract.interface;
  const event = iface.getEvent("ProposalCreated");
  const toBlock = range.toBlock ?? (await provider.getBlockNumber());
  // The id is not an indexed topic: every ProposalCreated of this Governor is decoded.
  for await (const page of pagedLogs(provider, { address, topics: [event.topicHash] }, { ...range, toBlock })) {
    for (const log of page) {
      const parsed = iface.parseLog(log);
      if (parsed === null || (parsed.args.proposalId as bigint) !== id) continue;
      const recovered: RecoveredProposal = {
        id,
        proposer: getAddress(parsed.args.proposer as string),
        targets: (parsed.args.targets as string[]).map((target) => getAddress(target)),
        // `Result.values` is a method of ethers' Result: the array is read by position.
        values: [...(parsed.args[3] as bigint[])],
        calldatas: [...(parsed.args.calldatas as string[])],
        description: parsed.args.description as string,
        voteStart: parsed.args.voteStart as bigint,
        voteEnd: parsed.args.voteEnd as bigint,
        blockNumber: log.blockNumber,
        transactionHash: log.transactionHash,
      };
      const recomputed = proposalId(recovered, descriptionHash(recovered.description));
      if (recomputed !== id) {
        throw new ProposalRecoveryError(
          `The ProposalCreated event for ${id} in transaction ${log.transactionHash} hashes to ${recomputed}: the node returned altered data; use another RPC endpoint.`,
        );
      }
      return recovered;
    }
  }
  throw new ProposalRecoveryError(
    `No ProposalCreated event for proposal ${id} on the Governor ${address} in blocks ${range.fromBlock}–${toBlock}: give --from-block at or before the block the proposal was created in.`,
  );
}

/**
 * The Governor a proposal id refers to: `--governor` when given, else the deployment record's
 * FabstirGovernor. A malformed option or neither is a ProposalRecoveryError saying what to give.
 */
export function governorAddress(option: string, record: DeploymentRecord | undefined, chainId: number): string {
  if (option !== "") {
    if (!isAddress(option)) throw new ProposalRecoveryError(`--governor "${option}" is not an address.`);
    return getAddress(option);
  }
  const entry = record?.contracts.FabstirGovernor;
  if (entry !== undefined && "address" in entry) return getAddress(entry.address);
  throw new ProposalRecoveryError(`deployments/${chainId}.json records no FabstirGovernor: give --governor <address>.`);
}

/**
 * Where a search for the Governor's events starts: `option` when given (≥ 0), else the Governor's
 * block in the deployment record when it was recorded (`{ address, block }`), else block 0 on a
 * development chain. A real network without either must be told: scanning it from the genesis
 * block takes many thousands of requests.
 */
export function governorFromBlock(
  record: DeploymentRecord | undefined,
  option: number | undefined,
  devChain: boolean,
): number {
  if (option !== undefined && option >= 0) return option;
  const entry = record?.contracts.FabstirGovernor;
  if (
    entry !== undefined &&
    "block" in entry &&
    typeof entry.block === "number" &&
    Number.isSafeInteger(entry.block) &&
    entry.block >= 0
  )
    return entry.block;
  if (devChain) return 0;
  throw new ProposalRecoveryError(
    "The deployment record does not say in which block the Governor was deployed: give --from-block (that block, or any block before the proposal was created).",
  );
}

/**
 * A proposal file for a proposal found on chain (simulating by id): the exact arguments, the ids
 * recomputed, and the calls decoded as upgrade:propose decodes them (lib/governance/decode.ts;
 * selectors no known ABI has stay undecoded). `upgrades` are what lib/governance/upgradesFromChain.ts
 * derived from the calls (none when not given).
 */
export function proposalFileFromChain(
  recovered: RecoveredProposal,
  where: {
    chainId: number;
    governor: string;
    timelock: string;
    record?: DeploymentRecord;
    upgrades?: ExpectedUpgrade[];
    /** The project root: an upgrade's review under audits/ is linked when given. */
    root?: string;
  },
): ProposalFile {
  const hash = descriptionHash(recovered.description);
  const suffix = recovered.description.lastIndexOf("#proposer=");
  const text = suffix === -1 ? recovered.description : recovered.description.slice(0, suffix);
  const firstLine = (text.split("\n")[0] ?? "").replace(/^#+\s*/, "").trim();
  const upgrades = where.upgrades ?? [];
  const calls = decodeCalls(
    recovered.targets.map((target, i) => ({ target, value: recovered.values[i]!, data: recovered.calldatas[i]! })),
    {
      record: where.record ?? { chainId: where.chainId, contracts: {} },
      upgrades,
      ...(where.root === undefined ? {} : { root: where.root }),
    },
  );
  return {
    format: PROPOSAL_FORMAT,
    action: "custom",
    chainId: where.chainId,
    governor: getAddress(where.governor),
    timelock: getAddress(where.timelock),
    // The Governor enforced the suffix (when there is one) at propose: the event's proposer is it.
    proposer: recovered.proposer,
    title: firstLine === "" ? `Proposal ${recovered.id}` : firstLine,
    description: recovered.description,
    descriptionHash: hash,
    proposalId: recovered.id.toString(),
    timelockOperationId: timelockOperationId(recovered, where.governor, hash),
    targets: recovered.targets,
    values: recovered.values.map(String),
    calldatas: recovered.calldatas,
    calls,
    upgrades,
  };
}
