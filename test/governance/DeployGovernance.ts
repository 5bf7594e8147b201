import { expect } from "chai";
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import type { BaseContract } from "ethers";
import { DEFAULT_GOVERNANCE_PARAMETERS } from "../../deploy/governance.js";
import type { DeployContext } from "../../deploy/steps.js";
import { DEFAULT_V1_PARAMETERS, deployV1 } from "../../deploy/v1.js";
import { deployV2 } from "../../deploy/v2.js";
import { DeploymentStore } from "../../lib/deployments.js";
import { BASE_CHAIN_ID } from "../../lib/networks.js";
import {
  type DeployGovernanceArguments,
  FAB_TOKEN_VARIABLE,
  runDeployGovernance,
} from "../../deploy/governanceSetup.js";
import { configuredFabToken } from "../../tasks/deploy-governance.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";

/** The task's options with every default, as the CLI passes them. */
const DEFAULTS: DeployGovernanceArguments = {
  fabToken: "",
  holder: "",
  supply: DEFAULT_GOVERNANCE_PARAMETERS.supply,
  votingDelay: DEFAULT_GOVERNANCE_PARAMETERS.votingDelay,
  votingPeriod: DEFAULT_GOVERNANCE_PARAMETERS.votingPeriod,
  proposalThreshold: DEFAULT_GOVERNANCE_PARAMETERS.proposalThreshold,
  quorumPercent: DEFAULT_GOVERNANCE_PARAMETERS.quorumPercent,
  voteExtension: DEFAULT_GOVERNANCE_PARAMETERS.voteExtension,
  minDelay: DEFAULT_GOVERNANCE_PARAMETERS.minDelay,
  handOver: false,
};

const notConfigured = async (): Promise<string | undefined> => undefined;

/** Runs `deploy:governance` in this process (a new in-process chain each time), capturing what it prints. */
async function runTask(args: Partial<DeployGovernanceArguments>): Promise<string> {
  const log = console.log;
  let stdout = "";
  console.log = (...parts: unknown[]) => void (stdout += `${parts.join(" ")}\n`);
  try {
    await hre.tasks.getTask("deploy:governance").run(args);
  } finally {
    console.log = log;
  }
  return stdout;
}

/** The message `promise` is rejected with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => expect.fail("should have refused"),
    (error: unknown) => (error as Error).message,
  );
}

function taskError(args: Partial<DeployGovernanceArguments>): Promise<string> {
  return rejection(runTask(args));
}

/** A deploy context on the shared test chain with its own, in-memory record. */
async function context(deployerIndex = 0): Promise<DeployContext> {
  const signers = await ethers.getSigners();
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  return {
    ethers,
    upgrades: upgradesApi,
    deployer: signers[deployerIndex]!,
    store: await DeploymentStore.open(chainId, undefined),
    chainId,
  };
}

async function startingPoint(): Promise<void> {}

interface Roles extends BaseContract {
  hasRole(role: string, account: string): Promise<boolean>;
}

/** Every `*_ROLE` the contract declares, by name, with the accounts among `accounts` that hold it. */
async function holders(contract: BaseContract, accounts: string[]): Promise<Record<string, string[]>> {
  const getters: string[] = [];
  contract.interface.forEachFunction((fragment) => {
    if (fragment.name.endsWith("_ROLE") && fragment.inputs.length === 0) getters.push(fragment.name);
  });
  const result: Record<string, string[]> = {};
  for (const getter of getters.sort()) {
    const role = (await contract.getFunction(getter).staticCall()) as string;
    const held: string[] = [];
    for (const account of accounts) if (await (contract as Roles).hasRole(role, account)) held.push(account);
    result[getter] = held;
  }
  return result;
}

describe("deploy:governance", function () {
  this.timeout(120_000);

  describe("the task, on a new in-process chain", () => {
    it("declares deploy/governance.ts DEFAULT_GOVERNANCE_PARAMETERS as its defaults", () => {
      const options = hre.tasks.getTask("deploy:governance").options;
      for (const [name, value] of Object.entries(DEFAULT_GOVERNANCE_PARAMETERS)) {
        expect(options.get(name)?.defaultValue, name).to.equal(value);
      }
      expect(options.get("handOver")?.defaultValue).to.equal(false);
    });

    it("deploys a test token, the timelock and the Governor, and prints the settings and the record", async () => {
      const stdout = await runTask({});
      expect(stdout).to.match(/deployed FabstirVotes at 0x[0-9a-fA-F]{40}/);
      expect(stdout).to.match(/timelock 0x[0-9a-fA-F]{40} administers itself; the Governor 0x[0-9a-fA-F]{40} proposes/);
      expect(stdout).to.contain(
        `voting delay 86400, voting period 604800, proposal threshold ${100_000n * 10n ** 18n}, quorum 4 %, late-quorum vote extension 172800, timelock min delay 172800 s`,
      );
      expect(stdout).to.contain("(mode=timestamp)");
      const record = JSON.parse(stdout.slice(stdout.indexOf("{"))) as { chainId: number; contracts: object };
      expect(record.chainId).to.equal(31337);
      expect(Object.keys(record.contracts)).to.deep.equal(["FabstirGovernor", "FabstirTimelock", "FabstirVotes"]);
    });

    it("passes every option to the contracts", async () => {
      const stdout = await runTask({
        votingDelay: 60n,
        votingPeriod: 3600n,
        proposalThreshold: 5n,
        quorumPercent: 10n,
        voteExtension: 600n,
        minDelay: 120n,
        supply: 1_000n,
      });
      expect(stdout).to.contain(
        "voting delay 60, voting period 3600, proposal threshold 5, quorum 10 %, late-quorum vote extension 600, timelock min delay 120 s",
      );
    });

    it("refuses a setting the Governor would reject", async () => {
      expect(await taskError({ quorumPercent: 0n })).to.equal("--quorum-percent must be between 1 and 100 (got 0).");
    });

    it("refuses a malformed --fab-token", async () => {
      expect(await taskError({ fabToken: "0x1234" })).to.equal(
        '--fab-token must be a 0x-prefixed 20-byte address (got "0x1234").',
      );
    });

    it("--hand-over on a chain whose record names no proxy refuses, saying what to deploy first", async () => {
      expect(await taskError({ handOver: true })).to.equal(
        "--hand-over: the deployment record of chain 31337 names no proxy. Deploy V1 (npx hardhat deploy:v1) or V2 first, with the same account.",
      );
    });
  });

  describe("runDeployGovernance on the shared chain", () => {
    beforeEach(async () => {
      await networkHelpers.loadFixture(startingPoint);
    });

    it("refuses settings the Governor would reject or that disable it, before any transaction", async () => {
      const ctx = await context();
      const nonce = await ctx.deployer.getNonce();
      const cases: [Partial<DeployGovernanceArguments>, string][] = [
        [{ quorumPercent: 0n }, "--quorum-percent must be between 1 and 100 (got 0)."],
        [{ quorumPercent: 101n }, "--quorum-percent must be between 1 and 100 (got 101)."],
        [{ votingPeriod: 0n }, "--voting-period must be between 1 and 4294967295 (got 0)."],
        [{ votingPeriod: 2n ** 32n }, `--voting-period must be between 1 and 4294967295 (got ${2n ** 32n}).`],
        [{ votingDelay: -1n }, "--voting-delay must be between 0 and 281474976710655 (got -1)."],
        [{ votingDelay: 2n ** 48n }, `--voting-delay must be between 0 and 281474976710655 (got ${2n ** 48n}).`],
        [{ supply: 0n }, "--supply must be positive (wei of FAB)."],
        [{ proposalThreshold: -1n }, "--proposal-threshold must not be negative."],
        [{ minDelay: -1n }, "--min-delay must not be negative."],
        [{ voteExtension: -1n }, "--vote-extension must not be negative (got -1)."],
        // The default two days do not fit a one-hour vote: the constructor would revert.
        [
          { votingPeriod: 3600n },
          "--vote-extension must not exceed the voting period 3600 (got 172800): with a shorter --voting-period, pass a --vote-extension no longer than it.",
        ],
      ];
      for (const [args, message] of cases) {
        expect(await rejection(runDeployGovernance(ctx, { ...DEFAULTS, ...args }, notConfigured))).to.equal(message);
      }
      expect(await ctx.deployer.getNonce()).to.equal(nonce);
    });

    it("refuses a --fab-token without code or at zero, and --holder with it", async () => {
      const ctx = await context();
      const nowhere = "0x000000000000000000000000000000000000dEaD";
      const run = (args: Partial<DeployGovernanceArguments>) =>
        rejection(runDeployGovernance(ctx, { ...DEFAULTS, ...args }, notConfigured));
      expect(await run({ fabToken: nowhere })).to.equal(
        `No contract at the FAB token address ${nowhere} on chain 31337.`,
      );
      expect(await run({ fabToken: ethers.ZeroAddress })).to.equal("--fab-token must not be the zero address.");
      expect(await run({ fabToken: nowhere, holder: nowhere })).to.equal(
        "--holder only applies to a test token deployed here: drop it, or drop --fab-token.",
      );
    });

    it("gives a deployed test token's supply to --holder", async () => {
      const ctx = await context();
      const holder = (await ethers.getSigners())[7]!.address;
      const result = await runDeployGovernance(ctx, { ...DEFAULTS, holder }, notConfigured);
      const token = await ethers.getContractAt("FabstirVotes", result.token);
      expect(await token.balanceOf(holder)).to.equal(DEFAULT_GOVERNANCE_PARAMETERS.supply);
      expect(result.parameters.holder).to.equal(holder);
    });

    it("--hand-over moves every role the deployer holds on each recorded V1 and V2 proxy to the timelock; a re-run sends nothing", async () => {
      const ctx = await context();
      const signers = await ethers.getSigners();
      const deployer = signers[0]!.address;
      const treasury = signers[1]!.address;
      // As deploy:v1 and a V2 deployment by the same account leave them: the deployer administers and migrates.
      const v1 = await deployV1(ctx, { ...DEFAULT_V1_PARAMETERS, admin: deployer, treasury });
      const v2 = await deployV2(ctx, {
        ...DEFAULT_V1_PARAMETERS,
        admin: deployer,
        migrator: deployer,
        treasury,
        tokens: [await v1.usdc.getAddress()],
      });
      expect(await v1.registry.hasRole(await v1.registry.SLASHER_ROLE(), deployer)).to.equal(true);

      const result = await runDeployGovernance(ctx, { ...DEFAULTS, handOver: true }, notConfigured);
      expect(result.handedOver).to.deep.equal([
        "JobMarketplaceV1",
        "JobMarketplaceV2",
        "NodeRegistryV1",
        "NodeRegistryV2",
        "PaymentEscrowV1",
        "PaymentEscrowV2",
      ]);
      const timelock = result.timelock;
      const accounts = [...signers.map((s) => s.address), timelock];
      const expected = (extra: Record<string, string[]>) => ({
        DEFAULT_ADMIN_ROLE: [timelock],
        PAUSER_ROLE: [timelock],
        UPGRADER_ROLE: [timelock],
        ...extra,
      });
      expect(await holders(v1.registry, accounts)).to.deep.equal(
        expected({ REPUTATION_ROLE: [], SLASHER_ROLE: [timelock] }),
      );
      expect(await holders(v1.escrow, accounts)).to.deep.equal(expected({ MARKETPLACE_ROLE: [] }));
      expect(await holders(v1.marketplace, accounts)).to.deep.equal(expected({}));
      // V2's ADAPTER_ROLE is granted at the cut-over, to the V1 proxies: nobody holds it yet.
      expect(await holders(v2.registry, accounts)).to.deep.equal(
        expected({ ADAPTER_ROLE: [], MIGRATOR_ROLE: [timelock], REPUTATION_ROLE: [], SLASHER_ROLE: [timelock] }),
      );
      // CREDITS_ROLE is granted by governance to whoever applies credit plans: nobody holds it yet.
      expect(await holders(v2.escrow, accounts)).to.deep.equal(
        expected({ ADAPTER_ROLE: [], CREDITS_ROLE: [], MARKETPLACE_ROLE: [], MIGRATOR_ROLE: [timelock] }),
      );
      expect(await holders(v2.marketplace, accounts)).to.deep.equal(
        expected({ ADAPTER_ROLE: [], MIGRATOR_ROLE: [timelock] }),
      );
      // The contracts' own roles stay where deploy put them.
      expect(await v1.registry.hasRole(await v1.registry.REPUTATION_ROLE(), await v1.marketplace.getAddress())).to.be
        .true;

      const block = await ethers.provider.getBlockNumber();
      const again = await runDeployGovernance(ctx, { ...DEFAULTS, handOver: true }, notConfigured);
      expect(again.handedOver).to.deep.equal([]);
      expect(again.timelock).to.equal(timelock);
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
    });

    it("--hand-over refuses before any transaction when the deployer lacks DEFAULT_ADMIN_ROLE on a recorded proxy", async () => {
      const ctx = await context();
      const signers = await ethers.getSigners();
      const [deployer, treasury, other] = [signers[0]!.address, signers[1]!.address, signers[3]!.address];
      const v1 = await deployV1(ctx, { ...DEFAULT_V1_PARAMETERS, admin: other, treasury });
      await deployV2(ctx, {
        ...DEFAULT_V1_PARAMETERS,
        admin: deployer,
        migrator: deployer,
        treasury,
        tokens: [await v1.usdc.getAddress()],
      });
      const block = await ethers.provider.getBlockNumber();
      const error = await rejection(runDeployGovernance(ctx, { ...DEFAULTS, handOver: true }, notConfigured));
      expect(error).to.contain("--hand-over refused, nothing was sent:");
      for (const name of ["JobMarketplaceV1", "NodeRegistryV1", "PaymentEscrowV1"]) {
        expect(error).to.contain(`the deployer ${deployer} lacks DEFAULT_ADMIN_ROLE on ${name}`);
      }
      expect(error).to.not.contain("V2");
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
      expect(ctx.store.get("FabstirGovernor")).to.equal(undefined);
    });

    it("--hand-over refuses a recorded proxy without code", async () => {
      const ctx = await context();
      await ctx.store.set("NodeRegistryV1", {
        proxy: "0x000000000000000000000000000000000000dEaD",
        implementation: "0x000000000000000000000000000000000000bEEF",
      });
      const block = await ethers.provider.getBlockNumber();
      const error = await rejection(runDeployGovernance(ctx, { ...DEFAULTS, handOver: true }, notConfigured));
      expect(error).to.contain(
        "NodeRegistryV1 (0x000000000000000000000000000000000000dEaD) has no code on chain 31337: fix the deployment record",
      );
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
    });
  });

  describe("on Base (an in-process chain with Base's chain id)", () => {
    let base: Awaited<ReturnType<typeof hre.network.create<"generic">>>;
    let ctx: DeployContext;

    before(async () => {
      base = await hre.network.create<"generic">({ override: { chainId: BASE_CHAIN_ID } });
    });
    after(async () => {
      await base.close();
    });
    beforeEach(async () => {
      const [deployer] = await base.ethers.getSigners();
      ctx = {
        ethers: base.ethers,
        upgrades: await upgrades(hre, base),
        deployer: deployer!,
        store: await DeploymentStore.open(BASE_CHAIN_ID, undefined),
        chainId: Number((await base.ethers.provider.getNetwork()).chainId),
      };
      expect(ctx.chainId).to.equal(BASE_CHAIN_ID);
    });

    async function refusal(args: DeployGovernanceArguments, configured: () => Promise<string | undefined>) {
      const nonce = await ctx.deployer.getNonce();
      const message = await rejection(runDeployGovernance(ctx, args, configured));
      expect(await ctx.deployer.getNonce()).to.equal(nonce);
      return message;
    }

    it("never deploys a test token: without --fab-token or FAB_TOKEN_ADDRESS it refuses", async () => {
      expect(await refusal(DEFAULTS, notConfigured)).to.equal(
        `On chain ${BASE_CHAIN_ID} governance votes with the existing FAB token: pass --fab-token <address> or set FAB_TOKEN_ADDRESS (environment variable, or npx hardhat keystore set FAB_TOKEN_ADDRESS). A test token is never deployed here.`,
      );
      expect(await refusal(DEFAULTS, async () => "fab")).to.equal(
        'FAB_TOKEN_ADDRESS must be a 0x-prefixed 20-byte address (got "fab").',
      );
    });

    it("refuses a token that is not an ERC20Votes", async () => {
      const usdc = await base.ethers.deployContract("TestUSDC");
      const address = await usdc.getAddress();
      expect(await refusal({ ...DEFAULTS, fabToken: address }, notConfigured)).to.equal(
        `The token at ${address} does not answer getVotes/getPastTotalSupply: the Governor needs an ERC20Votes (ERC-5805) token.`,
      );
    });

    it("governs with FAB_TOKEN_ADDRESS's token, or --fab-token's, which wins", async () => {
      const holder = ctx.deployer.address;
      const fab = await base.ethers.deployContract("FabstirVotes", [holder, 1_000n * 10n ** 18n]);
      const configured = await fab.getAddress();
      const result = await runDeployGovernance(ctx, DEFAULTS, async () => configured);
      expect(result.token).to.equal(configured);
      const governor = await base.ethers.getContractAt("FabstirGovernor", result.governor);
      expect(await governor.token()).to.equal(configured);
      expect(ctx.store.get("FabstirVotes")).to.equal(undefined);

      // --fab-token is not second-guessed by the configuration (which is not even read).
      const other = await base.ethers.deployContract("FabstirVotes", [holder, 1n]);
      const fresh = { ...ctx, store: await DeploymentStore.open(BASE_CHAIN_ID, undefined) };
      const chosen = await runDeployGovernance(fresh, { ...DEFAULTS, fabToken: await other.getAddress() }, () =>
        Promise.reject(new Error("FAB_TOKEN_ADDRESS was read")),
      );
      expect(chosen.token).to.equal(await other.getAddress());
    });
  });

  describe("FAB_TOKEN_ADDRESS", () => {
    let saved: string | undefined;
    beforeEach(() => {
      saved = process.env[FAB_TOKEN_VARIABLE];
    });
    afterEach(() => {
      if (saved === undefined) delete process.env[FAB_TOKEN_VARIABLE];
      else process.env[FAB_TOKEN_VARIABLE] = saved;
    });

    it("is read from the environment first, and is unset when neither it nor a configuration plugin has it", async () => {
      process.env[FAB_TOKEN_VARIABLE] = "0x000000000000000000000000000000000000dEaD";
      expect(await configuredFabToken(hre)).to.equal("0x000000000000000000000000000000000000dEaD");
      process.env[FAB_TOKEN_VARIABLE] = "";
      expect(await configuredFabToken(hre)).to.equal(undefined);
      delete process.env[FAB_TOKEN_VARIABLE];
      expect(await configuredFabToken(hre)).to.equal(undefined);
    });
  });
});
