import {
  getAddress,
  toQuantity,
  ZeroAddress,
  type ContractTransactionResponse,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import {
  FabstirGovernor__factory,
  FabstirTimelock__factory,
  FabstirVotes__factory,
  type FabstirGovernor,
  type FabstirVotes,
} from "../../typechain-types/index.js";
import type { DeploymentRecord } from "../deployments.js";
import { advanceClock, advanceClockPast, clockModeOf, PROPOSAL_STATES, type ProposalStateName } from "./lifecycle.js";
import { proposalArguments } from "./proposalFile.js";
import { allLogs } from "./recover.js";
import { describeRevert } from "./revert.js";
import { formatVotes, isoTime } from "./format.js";
import type { CheckResult, DecodedEvent, SimulationReport, SimulationStep, SimulationStepName } from "./simulation.js";
import type { ProposalFile } from "./types.js";
import * as postChecks from "./checks/index.js";

/**
 * Rehearses a proposal on a development chain (the in-process chain, a local node, or a fork of
 * a real network) from wherever it stands: delegate if nobody has, propose as the description's
 * proposer, vote with enough of the largest delegates, queue, wait the timelock's delay and
 * execute, travelling in time between the steps; then the post-checks compare the chain before
 * and after. The accounts are impersonated, so no key is needed and nothing real is spent.
 */

/** A node that answers JSON-RPC and hands out signers for any address it impersonates. */
export type SimulationProvider = Provider & {
  send(method: string, params: unknown[]): Promise<unknown>;
  getSigner(address: string): Promise<Signer>;
};

/** What the post-checks read (the fields of lib/governance/checks' `CheckInput`). */
export interface PostCheckInput {
  provider: Provider;
  proposal: ProposalFile;
  record: DeploymentRecord;
}

/** The post-checks (lib/governance/checks/index.ts): the chain observed before and after, then compared. */
export interface PostChecks<O> {
  observe(input: PostCheckInput): Promise<O>;
  runChecks(
    input: PostCheckInput & { before: O; after: O; execution: TransactionReceipt },
  ): Promise<{ checks: CheckResult[]; events: DecodedEvent[] }>;
}

export interface SimulateOptions<O> {
  provider: SimulationProvider;
  /** A checked proposal file (`loadProposalFile`) for this chain. */
  proposal: ProposalFile;
  record: DeploymentRecord;
  /** Who votes for; default: the largest delegates until the quorum and a majority are reached. */
  voters?: readonly string[];
  /** First block of the token's events, for finding delegates and holders (default 0). */
  fromBlock?: number;
  /** Progress, one line at a time. */
  log?: (line: string) => void;
  /** Default: lib/governance/checks. */
  checks?: PostChecks<O>;
}

/** The simulation cannot run here or cannot get the proposal through; the message says what to do. */
export class SimulationError extends Error {
  override name = "SimulationError";
}

/** States a proposal never leaves: nothing to rehearse. */
const FINAL_STATES: readonly ProposalStateName[] = ["Defeated", "Canceled", "Expired", "Executed"];

/** ETH an impersonated account is topped up to when it has less than `MIN_BALANCE` (for gas). */
const MIN_BALANCE = 10n ** 18n;
const TOP_UP = 10n * 10n ** 18n;

const FOR = 1;

export async function simulateProposal<O>(options: SimulateOptions<O>): Promise<SimulationReport> {
  const { provider, proposal, record } = options;
  const log = options.log ?? (() => {});
  const chainId = Number((await provider.getNetwork()).chainId);
  const rpc = await devChainMethods(provider, chainId, proposal.proposer);
  if (proposal.chainId !== chainId) {
    throw new SimulationError(
      `The proposal is for chain ${proposal.chainId} but the node is on chain ${chainId}: simulate on a fork of chain ${proposal.chainId} (--network).`,
    );
  }
  const governor = await governorOf(provider, proposal, record);
  const id = BigInt(proposal.proposalId);
  const clockMode = await clockModeOf(proposal.governor, provider);
  const token = FabstirVotes__factory.connect(await governor.token(), provider);
  const forkBlock = await provider.getBlockNumber();

  let state = await stateOf(governor, id);
  if (state !== undefined && FINAL_STATES.includes(state)) {
    throw new SimulationError(
      `Proposal ${id} is ${state} on chain ${chainId}: it can no longer run. Build a new proposal with upgrade:propose.`,
    );
  }
  log(`proposal ${id}: ${state ?? "not proposed yet"} at block ${forkBlock}`);

  const plan =
    state === undefined || state === "Pending" || state === "Active"
      ? await planVotes(governor, token, id, state, options)
      : { delegations: [], voters: [] };
  const args = proposalArguments(proposal);
  const value = args.values.reduce((sum, v) => sum + v, 0n);
  const participants = new Set([proposal.proposer, ...plan.delegations, ...plan.voters]);
  // Funded before the first observation, so the post-checks do not see gas money as a change.
  // The proposer executes too, and sends the calls' ETH with `execute`.
  for (const address of participants) await rpc.prepare(address, address === proposal.proposer ? value : 0n);

  const checks = options.checks ?? (postChecks as unknown as PostChecks<O>);
  const input: PostCheckInput = { provider, proposal, record };
  const before = await checks.observe(input);

  const steps: SimulationStep[] = [];
  const send = async (
    step: SimulationStepName,
    from: string,
    note: string,
    transaction: (signer: Signer) => Promise<ContractTransactionResponse>,
  ): Promise<TransactionReceipt> => {
    let receipt: TransactionReceipt | null;
    try {
      receipt = await (await transaction(await provider.getSigner(from))).wait();
    } catch (error) {
      throw new SimulationError(`The ${step} transaction from ${from} reverted: ${describeRevert(error)}.`, {
        cause: error,
      });
    }
    if (receipt === null) throw new SimulationError(`The ${step} transaction from ${from} has no receipt.`);
    steps.push({
      step,
      from,
      txHash: receipt.hash,
      block: receipt.blockNumber,
      gasUsed: receipt.gasUsed.toString(),
      note,
    });
    log(`${step}: ${from} ${note} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`);
    return receipt;
  };

  for (const holder of plan.delegations) {
    const balance = await token.balanceOf(holder);
    await send("delegate", holder, `delegates its ${formatVotes(balance)} to itself`, (signer) =>
      token.connect(signer).delegate(holder),
    );
  }
  // Votes count from the clock tick after a delegation (the Governor reads the proposer's at
  // `clock() - 1`); anvil may mine the next block in the same second.
  if (plan.delegations.length > 0) await advanceClock(provider, clockMode, 1n);
  if (state === undefined) {
    await send("propose", proposal.proposer, "proposes it, as the description's proposer", (signer) =>
      governor.connect(signer).propose(args.targets, args.values, args.calldatas, args.description),
    );
    if ((await governor.proposalSnapshot(id)) === 0n) {
      throw new SimulationError(
        `The Governor recorded the proposal under another id than ${id}: the file's proposalId does not match this Governor's hashProposal.`,
      );
    }
    state = "Pending";
  }
  if (state === "Pending") {
    await advanceClockPast(provider, clockMode, await token.clock(), await governor.proposalSnapshot(id));
    state = "Active";
  }
  if (state === "Active") {
    const scheduled = await governor.proposalDeadline(id);
    for (const voter of plan.voters) {
      const votes = await governor.getVotes(voter, await governor.proposalSnapshot(id));
      await send("vote", voter, `votes for with ${formatVotes(votes)}`, (signer) =>
        governor.connect(signer).castVote(id, FOR),
      );
    }
    // Read after the votes: one that reaches the quorum late moves the deadline (GovernorPreventLateQuorum).
    const deadline = await governor.proposalDeadline(id);
    if (deadline > scheduled) {
      log(`the quorum was reached late: voting now ends at ${deadline} instead of ${scheduled} (${clockMode})`);
    }
    await advanceClockPast(provider, clockMode, await token.clock(), deadline);
    state = (await stateOf(governor, id))!;
    if (state !== "Succeeded") {
      const [against, inFavour, abstain] = await governor.proposalVotes(id);
      const quorum = await governor.quorum(await governor.proposalSnapshot(id));
      throw new SimulationError(
        `Proposal ${id} is ${state} after the vote (for ${formatVotes(inFavour)}, against ${formatVotes(against)}, abstain ${formatVotes(abstain)}, quorum ${formatVotes(quorum)}): give --voters whose votes reach the quorum and outweigh the votes against.`,
      );
    }
  }
  const hash = proposal.descriptionHash;
  if (state === "Succeeded") {
    await send("queue", proposal.proposer, "queues it in the timelock", (signer) =>
      governor.connect(signer).queue(args.targets, args.values, args.calldatas, hash),
    );
    const timelock = FabstirTimelock__factory.connect(proposal.timelock, provider);
    if (!(await timelock.isOperationPending(proposal.timelockOperationId))) {
      throw new SimulationError(
        `The timelock has no pending operation ${proposal.timelockOperationId} after the queue: the file's timelockOperationId does not match this Governor.`,
      );
    }
    state = "Queued";
  }
  const eta = await governor.proposalEta(id);
  const latest = await provider.getBlock("latest");
  // The timelock counts seconds whatever the token's clock.
  await advanceClockPast(provider, "mode=timestamp", BigInt(latest?.timestamp ?? 0), eta);

  const executor = proposal.proposer;
  try {
    await governor
      .connect(await provider.getSigner(executor))
      .execute.staticCall(args.targets, args.values, args.calldatas, hash, { value });
  } catch (error) {
    const reason = describeRevert(error);
    log(`execute would revert: ${reason}`);
    return report(proposal, chainId, forkBlock, steps, [executionFailure(reason)], []);
  }
  const execution = await send("execute", executor, `executes it once ready at ${isoTime(eta)}`, (signer) =>
    governor.connect(signer).execute(args.targets, args.values, args.calldatas, hash, { value }),
  );
  const after = await checks.observe(input);
  const { checks: results, events } = await checks.runChecks({ ...input, before, after, execution });
  return report(proposal, chainId, forkBlock, steps, results, events);
}

function report(
  proposal: ProposalFile,
  chainId: number,
  forkBlock: number,
  steps: SimulationStep[],
  checks: CheckResult[],
  events: DecodedEvent[],
): SimulationReport {
  return {
    chainId,
    proposalId: proposal.proposalId,
    action: proposal.action,
    title: proposal.title,
    forkBlock,
    steps,
    checks,
    events,
    passed: checks.every((check) => check.status !== "fail"),
  };
}

function executionFailure(reason: string): CheckResult {
  return {
    id: "execution",
    title: "The proposal executes",
    status: "fail",
    details: [`execute reverts: ${reason}. Nothing after the queue was sent; the post-checks did not run.`],
    data: { reason },
  };
}

/**
 * The node's impersonation and balance methods, after checking that it answers them: a real
 * network's node does not, and the simulation refuses to run there.
 */
async function devChainMethods(
  provider: SimulationProvider,
  chainId: number,
  probe: string,
): Promise<{ prepare(address: string, spends: bigint): Promise<void> }> {
  for (const prefix of ["hardhat", "anvil"]) {
    try {
      await provider.send(`${prefix}_impersonateAccount`, [probe]);
    } catch {
      continue;
    }
    return {
      async prepare(address: string, spends: bigint) {
        await provider.send(`${prefix}_impersonateAccount`, [address]);
        const balance = await provider.getBalance(address);
        if (balance < MIN_BALANCE + spends) {
          await provider.send(`${prefix}_setBalance`, [address, toQuantity(balance + TOP_UP + spends)]);
        }
      },
    };
  }
  throw new SimulationError(
    `Chain ${chainId} is not a development chain: its node answers neither hardhat_impersonateAccount nor anvil_impersonateAccount. Simulate on a fork (anvil --fork-url <rpc>, then --network localhost) or on a local node.`,
  );
}

async function governorOf(
  provider: Provider,
  proposal: ProposalFile,
  record: DeploymentRecord,
): Promise<FabstirGovernor> {
  const recorded = record.contracts.FabstirGovernor;
  if (recorded !== undefined && "address" in recorded && getAddress(recorded.address) !== proposal.governor) {
    throw new SimulationError(
      `The proposal is for the Governor ${proposal.governor} but the deployment record's is ${getAddress(recorded.address)}: regenerate the proposal against this deployment.`,
    );
  }
  if ((await provider.getCode(proposal.governor)) === "0x") {
    throw new SimulationError(`No contract at the proposal's Governor ${proposal.governor} on this chain.`);
  }
  const governor = FabstirGovernor__factory.connect(proposal.governor, provider);
  const timelock = getAddress(await governor.timelock());
  if (timelock !== proposal.timelock) {
    throw new SimulationError(
      `The Governor's timelock is ${timelock}, not the proposal's ${proposal.timelock}: regenerate the proposal.`,
    );
  }
  return governor;
}

/** The proposal's state, or undefined when the Governor has never seen it. */
async function stateOf(governor: FabstirGovernor, id: bigint): Promise<ProposalStateName | undefined> {
  if ((await governor.proposalSnapshot(id)) === 0n) return undefined;
  return PROPOSAL_STATES[Number(await governor.state(id))];
}

interface VotePlan {
  /** Holders that delegate to themselves first (nobody had delegated enough). */
  delegations: string[];
  /** Accounts that vote for, in order. */
  voters: string[];
}

/**
 * Who votes: the given voters, else the largest delegates (from `DelegateVotesChanged`) until the
 * votes for and abstaining reach the quorum and the votes for outweigh those against. When
 * delegated votes cannot get there and the snapshot is still ahead, the largest holders that
 * have not delegated (from `Transfer`) delegate to themselves and vote too.
 */
async function planVotes<O>(
  governor: FabstirGovernor,
  token: FabstirVotes,
  id: bigint,
  state: ProposalStateName | undefined,
  options: SimulateOptions<O>,
): Promise<VotePlan> {
  const proposed = state !== undefined;
  const hasVoted = async (account: string) => proposed && (await governor.hasVoted(id, account));
  if (options.voters !== undefined && options.voters.length > 0) {
    const voters: string[] = [];
    for (const voter of options.voters.map((v) => getAddress(v))) if (!(await hasVoted(voter))) voters.push(voter);
    return { delegations: [], voters };
  }
  const clock = await token.clock();
  // Before the snapshot, the votes that will count are today's (nothing else moves them in a simulation).
  const snapshot = proposed ? await governor.proposalSnapshot(id) : 0n;
  const countedAt = state === "Active" ? snapshot : clock - 1n;
  const quorum = await governor.quorum(countedAt);
  const [against, inFavour, abstain] = proposed ? await governor.proposalVotes(id) : [0n, 0n, 0n];
  let forVotes = inFavour;
  const enough = () => forVotes + abstain >= quorum && forVotes > against;

  const provider = options.provider;
  const range = { fromBlock: options.fromBlock ?? 0 };
  const address = await token.getAddress();
  const delegateLogs = await allLogs(
    provider,
    { address, topics: [token.interface.getEvent("DelegateVotesChanged").topicHash] },
    range,
  );
  const delegates = [...new Set(delegateLogs.map((l) => getAddress(`0x${l.topics[1]!.slice(26)}`)))];
  const ranked = await rank(delegates, (d) =>
    state === "Active" ? token.getPastVotes(d, snapshot) : token.getVotes(d),
  );
  const plan: VotePlan = { delegations: [], voters: [] };
  for (const { account, amount } of ranked) {
    if (enough()) break;
    if (amount === 0n || (await hasVoted(account))) continue;
    plan.voters.push(account);
    forVotes += amount;
  }
  if (!enough() && state !== "Active") {
    const transferLogs = await allLogs(
      provider,
      { address, topics: [token.interface.getEvent("Transfer").topicHash] },
      range,
    );
    const holders = [...new Set(transferLogs.map((l) => getAddress(`0x${l.topics[2]!.slice(26)}`)))];
    const undelegated: string[] = [];
    for (const holder of holders) {
      if (holder !== ZeroAddress && (await token.delegates(holder)) === ZeroAddress) undelegated.push(holder);
    }
    for (const { account, amount } of await rank(undelegated, (h) => token.balanceOf(h))) {
      if (enough()) break;
      if (amount === 0n) continue;
      plan.delegations.push(account);
      plan.voters.push(account);
      forVotes += amount;
    }
  }
  if (!enough()) {
    throw new SimulationError(
      `The votes found reach ${formatVotes(forVotes + abstain)} for and abstaining against a quorum of ${formatVotes(quorum)} and ${formatVotes(against)} against: give --voters (addresses with delegated votes at the proposal's snapshot), or --from-block where the token's events start.`,
    );
  }
  return plan;
}

/** Accounts by amount, largest first (ties by address, so runs repeat exactly). */
async function rank(
  accounts: string[],
  amountOf: (account: string) => Promise<bigint>,
): Promise<{ account: string; amount: bigint }[]> {
  const ranked: { account: string; amount: bigint }[] = [];
  for (const account of accounts) ranked.push({ account, amount: await amountOf(account) });
  return ranked.sort((a, b) =>
    a.amount === b.amount ? a.account.localeCompare(b.account) : a.amount > b.amount ? -1 : 1,
  );
}
