import { getAddress, isAddress, ZeroAddress } from "ethers";
import { deployGovernance, type GovernanceParameters, placeUnderTimelock } from "./governance.js";
import type { AdministeredContract, DeployContext } from "./steps.js";
import { BASE_CHAIN_ID, BASE_SEPOLIA_CHAIN_ID } from "../lib/networks.js";
import { parseAddressOption } from "../lib/options.js";

/**
 * `deploy:governance`: the options checked, the governance stack deployed, and with `handOver`
 * every proxy of the deployment record placed under the timelock. Every refusal happens before
 * the first transaction. The task (tasks/deploy-governance.ts) only reads `FAB_TOKEN_ADDRESS`
 * and prints.
 */

/** `npx hardhat deploy:governance` options, as tasks/index.ts declares them. */
export interface DeployGovernanceArguments {
  fabToken: string;
  holder: string;
  supply: bigint;
  votingDelay: bigint;
  votingPeriod: bigint;
  proposalThreshold: bigint;
  quorumPercent: bigint;
  voteExtension: bigint;
  minDelay: bigint;
  handOver: boolean;
}

/** Chains where FAB exists: governance votes with it, and a test token is never deployed there. */
export const FAB_CHAINS: ReadonlySet<number> = new Set([BASE_CHAIN_ID, BASE_SEPOLIA_CHAIN_ID]);

/** The configuration variable that names the FAB token on Base and Base Sepolia. */
export const FAB_TOKEN_VARIABLE = "FAB_TOKEN_ADDRESS";

const UINT32_MAX = 2n ** 32n - 1n;
const UINT48_MAX = 2n ** 48n - 1n;

export interface DeployGovernanceResult {
  parameters: GovernanceParameters;
  token: string;
  timelock: string;
  governor: string;
  /** The deployment record names of the proxies placed under the timelock (empty without `--hand-over`). */
  handedOver: string[];
}

/**
 * Checks every option, then deploys the governance stack and, with `handOver`, places every proxy
 * of the deployment record under its timelock. Every refusal happens before the first transaction.
 * `configuredToken` is `FAB_TOKEN_ADDRESS` (read only on Base and Base Sepolia).
 */
export async function runDeployGovernance(
  ctx: DeployContext,
  args: DeployGovernanceArguments,
  configuredToken: () => Promise<string | undefined>,
): Promise<DeployGovernanceResult> {
  const log = ctx.log ?? (() => {});
  const deployer = await ctx.deployer.getAddress();
  const parameters = await governanceParameters(ctx, args, configuredToken, deployer);
  const proxies = args.handOver ? await proxiesToHandOver(ctx, deployer) : [];

  const { token, timelock, governor } = await deployGovernance(ctx, parameters);
  const timelockAddress = await timelock.getAddress();
  for (const { name, contract } of proxies) {
    await placeUnderTimelock(ctx, [contract], timelock);
    log(`${name} is under the timelock ${timelockAddress}`);
  }
  return {
    parameters,
    token: await token.getAddress(),
    timelock: timelockAddress,
    governor: await governor.getAddress(),
    handedOver: proxies.map(({ name }) => name),
  };
}

async function governanceParameters(
  ctx: DeployContext,
  args: DeployGovernanceArguments,
  configuredToken: () => Promise<string | undefined>,
  deployer: string,
): Promise<GovernanceParameters> {
  const onFabChain = FAB_CHAINS.has(ctx.chainId);
  let votesToken = parseAddressOption("fab-token", args.fabToken);
  if (votesToken === undefined && onFabChain) {
    const configured = await configuredToken();
    if (configured === undefined || configured === "") {
      throw new Error(
        `On chain ${ctx.chainId} governance votes with the existing FAB token: pass --fab-token <address> or set ${FAB_TOKEN_VARIABLE} (environment variable, or npx hardhat keystore set ${FAB_TOKEN_VARIABLE}). A test token is never deployed here.`,
      );
    }
    if (!isAddress(configured)) {
      throw new Error(`${FAB_TOKEN_VARIABLE} must be a 0x-prefixed 20-byte address (got "${configured}").`);
    }
    votesToken = getAddress(configured);
  }
  const holder = parseAddressOption("holder", args.holder);
  if (votesToken !== undefined) {
    if (holder !== undefined) {
      throw new Error("--holder only applies to a test token deployed here: drop it, or drop --fab-token.");
    }
    await checkVotesToken(ctx, votesToken);
  }

  if (args.supply <= 0n) throw new Error("--supply must be positive (wei of FAB).");
  if (args.votingDelay < 0n || args.votingDelay > UINT48_MAX) {
    throw new Error(`--voting-delay must be between 0 and ${UINT48_MAX} (got ${args.votingDelay}).`);
  }
  // OpenZeppelin refuses a zero voting period (GovernorInvalidVotingPeriod).
  if (args.votingPeriod <= 0n || args.votingPeriod > UINT32_MAX) {
    throw new Error(`--voting-period must be between 1 and ${UINT32_MAX} (got ${args.votingPeriod}).`);
  }
  if (args.proposalThreshold < 0n) throw new Error("--proposal-threshold must not be negative.");
  // A zero quorum lets a single vote pass a proposal; above 100 the Governor refuses it.
  if (args.quorumPercent < 1n || args.quorumPercent > 100n) {
    throw new Error(`--quorum-percent must be between 1 and 100 (got ${args.quorumPercent}).`);
  }
  if (args.voteExtension < 0n) throw new Error(`--vote-extension must not be negative (got ${args.voteExtension}).`);
  // The Governor's constructor refuses a longer one (GovernorPreventLateQuorumVoteExtensionTooLarge).
  if (args.voteExtension > args.votingPeriod) {
    throw new Error(
      `--vote-extension must not exceed the voting period ${args.votingPeriod} (got ${args.voteExtension}): with a shorter --voting-period, pass a --vote-extension no longer than it.`,
    );
  }
  if (args.minDelay < 0n) throw new Error("--min-delay must not be negative.");

  return {
    ...(votesToken === undefined ? {} : { votesToken }),
    holder: holder ?? deployer,
    supply: args.supply,
    votingDelay: args.votingDelay,
    votingPeriod: args.votingPeriod,
    proposalThreshold: args.proposalThreshold,
    quorumPercent: args.quorumPercent,
    voteExtension: args.voteExtension,
    minDelay: args.minDelay,
  };
}

/** An existing token must be an ERC-5805 votes token, or every vote would weigh nothing. */
async function checkVotesToken(ctx: DeployContext, address: string): Promise<void> {
  if (getAddress(address) === ZeroAddress) throw new Error("--fab-token must not be the zero address.");
  if ((await ctx.ethers.provider.getCode(address)) === "0x") {
    throw new Error(`No contract at the FAB token address ${address} on chain ${ctx.chainId}.`);
  }
  const token = await ctx.ethers.getContractAt("FabstirVotes", address, ctx.deployer);
  try {
    await token.getVotes(await ctx.deployer.getAddress());
    await token.getPastTotalSupply(0n);
  } catch {
    throw new Error(
      `The token at ${address} does not answer getVotes/getPastTotalSupply: the Governor needs an ERC20Votes (ERC-5805) token.`,
    );
  }
  const log = ctx.log ?? (() => {});
  let mode = "mode=blocknumber&from=default";
  try {
    mode = await token.CLOCK_MODE();
  } catch {
    // ERC-6372 is optional: without it the Governor counts in blocks.
  }
  if (!mode.includes("mode=timestamp")) {
    log(
      `warning: the token at ${address} counts in blocks (${mode}): --voting-delay, --voting-period and --vote-extension are blocks`,
    );
  }
}

interface RecordedProxy {
  name: string;
  contract: AdministeredContract;
}

/**
 * Every proxy of the deployment record that still has to be handed over, after checking that the
 * deployer can do it: refuses, naming the contract, when the deployer lacks `DEFAULT_ADMIN_ROLE`
 * on a proxy the timelock does not already administer.
 */
async function proxiesToHandOver(ctx: DeployContext, deployer: string): Promise<RecordedProxy[]> {
  const recordedTimelock = ctx.store.get("FabstirTimelock");
  const timelock =
    recordedTimelock !== undefined && "address" in recordedTimelock ? recordedTimelock.address : undefined;
  const proxies: RecordedProxy[] = [];
  const refusals: string[] = [];
  for (const [name, entry] of Object.entries(ctx.store.record.contracts)) {
    if (!("proxy" in entry)) continue;
    if ((await ctx.ethers.provider.getCode(entry.proxy)) === "0x") {
      refusals.push(`${name} (${entry.proxy}) has no code on chain ${ctx.chainId}: fix the deployment record`);
      continue;
    }
    const contract = (await ctx.ethers.getContractAt(
      artifactFor(name),
      entry.proxy,
      ctx.deployer,
    )) as unknown as AdministeredContract;
    const admin = await contract.DEFAULT_ADMIN_ROLE();
    if (await contract.hasRole(admin, deployer)) {
      proxies.push({ name, contract });
    } else if (timelock === undefined || !(await contract.hasRole(admin, timelock))) {
      refusals.push(`the deployer ${deployer} lacks DEFAULT_ADMIN_ROLE on ${name} (${entry.proxy})`);
    }
  }
  if (refusals.length > 0) {
    throw new Error(
      `--hand-over refused, nothing was sent: ${refusals.join("; ")}. Run it with the account that administers them, or hand those over by proposal.`,
    );
  }
  if (proxies.length === 0 && timelock === undefined) {
    throw new Error(
      `--hand-over: the deployment record of chain ${ctx.chainId} names no proxy. Deploy V1 (npx hardhat deploy:v1) or V2 first, with the same account.`,
    );
  }
  return proxies;
}

/** The record names the artifacts deploy/ used; a proxy upgraded since keeps its governed roles. */
function artifactFor(recordName: string): string {
  return /^(NodeRegistry|PaymentEscrow|JobMarketplace)V[12]$/.test(recordName) ? recordName : "GovernedUpgradeable";
}
