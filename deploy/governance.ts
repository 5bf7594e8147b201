import { getAddress, isAddress, ZeroAddress } from "ethers";
import type { FabstirGovernor, FabstirTimelock, FabstirVotes } from "../typechain-types/index.js";
import { type AdministeredContract, type DeployContext, ensureContract, ensureRole, handOverAdmin } from "./steps.js";

/** The governance stack's configuration. Durations are in the votes token's clock units. */
export interface GovernanceParameters {
  /**
   * The FAB votes token. Real networks take the existing token's address from configuration
   * (`FAB_TOKEN_ADDRESS`); when undefined, a FabstirVotes token is deployed (local and test chains).
   */
  votesToken?: string;
  /** Receives the supply of a deployed FabstirVotes token. */
  holder: string;
  /** The supply of a deployed FabstirVotes token (wei of FAB). */
  supply: bigint;
  /** Between a proposal and the start of its vote (seconds: FabstirVotes' clock is the timestamp). */
  votingDelay: bigint;
  /** How long the vote lasts. */
  votingPeriod: bigint;
  /** Votes an account needs to propose. */
  proposalThreshold: bigint;
  /** Percent of the supply that must vote for or abstain. */
  quorumPercent: bigint;
  /**
   * How long a vote stays open at least after the vote that reaches the quorum (the Governor's
   * late-quorum extension, in the token's clock units); at most `votingPeriod`.
   */
  voteExtension: bigint;
  /** Seconds a passed proposal waits in the timelock before it can execute. */
  minDelay: bigint;
}

const DAY = 24n * 3600n;
const FAB = 10n ** 18n;

/**
 * Defaults in the range Base DAOs use: a day to review, a week to vote, two days of notice. A
 * quorum reached in the last two days of a vote moves its end to two days after that vote, so
 * opponents always get two days (a weekend) to answer a last-minute swing; a vote therefore lasts
 * at most nine days. With a token that counts blocks, Base's 2 s blocks make that 86,400 blocks.
 */
export const DEFAULT_GOVERNANCE_PARAMETERS = {
  supply: 100_000_000n * FAB,
  votingDelay: DAY,
  votingPeriod: 7n * DAY,
  proposalThreshold: 100_000n * FAB,
  quorumPercent: 4n,
  voteExtension: 2n * DAY,
  minDelay: 2n * DAY,
} as const;

export interface GovernanceStack {
  /** The votes token (a FabstirVotes on local chains; the real FAB's address elsewhere). */
  token: FabstirVotes;
  timelock: FabstirTimelock;
  governor: FabstirGovernor;
}

/**
 * Deploys the Governor and its TimelockController (and, where no FAB token is configured, a
 * FabstirVotes token holding the supply for `holder`) and records them. The timelock is deployed
 * with the deployer as a temporary admin, the Governor gets `PROPOSER_ROLE` and `CANCELLER_ROLE`
 * and is the only executor, then the deployer renounces: from there the timelock administers
 * itself. Idempotent like every deploy step; a timelock whose deployer already renounced is left
 * as it is.
 */
export async function deployGovernance(ctx: DeployContext, params: GovernanceParameters): Promise<GovernanceStack> {
  const { ethers, deployer } = ctx;
  const log = ctx.log ?? (() => {});
  const deployerAddress = await deployer.getAddress();

  let token: FabstirVotes;
  if (params.votesToken !== undefined) {
    if (!isAddress(params.votesToken) || getAddress(params.votesToken) === ZeroAddress) {
      throw new Error(`The FAB token address "${params.votesToken}" is not a nonzero address: fix FAB_TOKEN_ADDRESS.`);
    }
    if ((await ethers.provider.getCode(params.votesToken)) === "0x") {
      throw new Error(`No contract at the FAB token address ${params.votesToken} on chain ${ctx.chainId}.`);
    }
    token = (await ethers.getContractAt("FabstirVotes", params.votesToken, deployer)) as unknown as FabstirVotes;
  } else {
    token = await ensureContract(ctx, "FabstirVotes", () =>
      ethers.deployContract("FabstirVotes", [params.holder, params.supply], deployer),
    );
  }

  const timelock = await ensureContract(ctx, "FabstirTimelock", () =>
    ethers.deployContract("FabstirTimelock", [params.minDelay, [], [], deployerAddress], deployer),
  );
  const governor = await ensureContract(ctx, "FabstirGovernor", async () =>
    ethers.deployContract(
      "FabstirGovernor",
      [
        await token.getAddress(),
        await timelock.getAddress(),
        params.votingDelay,
        params.votingPeriod,
        params.proposalThreshold,
        params.quorumPercent,
        params.voteExtension,
      ],
      deployer,
    ),
  );

  const adminRole = await timelock.DEFAULT_ADMIN_ROLE();
  if (await timelock.hasRole(adminRole, deployerAddress)) {
    const governorAddress = await governor.getAddress();
    for (const role of [
      await timelock.PROPOSER_ROLE(),
      await timelock.CANCELLER_ROLE(),
      await timelock.EXECUTOR_ROLE(),
    ]) {
      if (!(await timelock.hasRole(role, governorAddress)))
        await (await timelock.grantRole(role, governorAddress)).wait();
    }
    await (await timelock.renounceRole(adminRole, deployerAddress)).wait();
    log(
      `timelock ${await timelock.getAddress()} administers itself; the Governor ${governorAddress} proposes and executes`,
    );
  }
  return { token, timelock, governor };
}

/**
 * Puts `contracts` under the timelock: every role the deployer holds there goes to the timelock
 * (the roles besides admin, upgrader and pauser that deploy:v1 and deploy:v2 leave with their
 * admin or migrator, such as SLASHER_ROLE and V2's MIGRATOR_ROLE, included), and the deployer
 * renounces them, `DEFAULT_ADMIN_ROLE` last. After this no externally owned account can upgrade,
 * pause or grant on them.
 */
export async function placeUnderTimelock(
  ctx: DeployContext,
  contracts: AdministeredContract[],
  timelock: FabstirTimelock,
): Promise<void> {
  const log = ctx.log ?? (() => {});
  const timelockAddress = await timelock.getAddress();
  const deployer = await ctx.deployer.getAddress();
  for (const contract of contracts) {
    for (const role of await otherRolesHeld(contract, deployer)) {
      await ensureRole(contract, role, timelockAddress, log);
      await (await contract.renounceRole(role, deployer)).wait();
    }
  }
  await handOverAdmin(contracts, timelockAddress, deployer, log);
}

/** Roles the deployer holds on `contract` other than admin, upgrader and pauser (which handOverAdmin moves). */
async function otherRolesHeld(contract: AdministeredContract, deployer: string): Promise<string[]> {
  const base = contract as unknown as {
    interface: { forEachFunction(callback: (fragment: { name: string; inputs: readonly unknown[] }) => void): void };
    getFunction(name: string): () => Promise<string>;
  };
  const governing = new Set([
    await contract.DEFAULT_ADMIN_ROLE(),
    await contract.UPGRADER_ROLE(),
    await contract.PAUSER_ROLE(),
  ]);
  const getters: string[] = [];
  base.interface.forEachFunction((fragment) => {
    if (fragment.name.endsWith("_ROLE") && fragment.inputs.length === 0) getters.push(fragment.name);
  });
  const held: string[] = [];
  for (const getter of getters) {
    let role: string;
    try {
      role = await base.getFunction(getter)();
    } catch {
      // The proxy now runs code without this role (upgraded since it was recorded): nobody holds it.
      continue;
    }
    if (!governing.has(role) && (await contract.hasRole(role, deployer))) held.push(role);
  }
  return held;
}
