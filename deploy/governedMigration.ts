import type { Signer } from "ethers";
import { drainV1 } from "./localMigration.js";
import type { GovernanceStack } from "./governance.js";
import { deployGovernedStack } from "./governedStack.js";
import type { DeployContext } from "./steps.js";
import type { V1Stack } from "./v1.js";
import type { V2Stack } from "./v2.js";
import { planSeed, type SeedOptions, type SeedPlan } from "../lib/fixtures/plan.js";
import { seedV1 } from "../lib/fixtures/seed.js";
import type { ImplementationPreparer } from "../lib/governance/actions/index.js";
import { composeProposal } from "../lib/governance/compose.js";
import { proposeAndPass, queueAndExecute } from "../lib/governance/lifecycle.js";
import type { ProposalFile } from "../lib/governance/types.js";
import { resolveContracts } from "../lib/migration/contracts.js";
import { runMigration, type RunResult } from "../lib/migration/engine.js";
import type { MigrationReporter } from "../lib/migration/events.js";
import { ensureMulticall3 } from "../lib/multicall.js";
import { proposalArguments } from "../lib/governance/proposalFile.js";

/**
 * The migration as it runs on Base under governance, on a development chain: FAB holders'
 * Governor and its timelock administer V1 and V2; a first proposal freezes V1, upgrades its
 * registry and escrow to V1.1 and grants the migrator roles; the operator copies and verifies;
 * the cut-over proposal (finalize, adapter roles, V1 proxies upgraded to the adapters) is built
 * for the vote. The deployer plays the FAB holder (it holds the supply) and the operator.
 */

export interface GovernedMigrationOptions {
  seed: SeedOptions;
  treasury: string;
  /** The operator: signs the copy's batches (an ethers Wallet, journaled before broadcast). */
  operator: Signer;
  /** Deploys validated implementations (hardhat-upgrades `prepareUpgrade`). */
  preparer: ImplementationPreparer;
  /** The project root (proposals link the audits/ reviews). */
  root: string;
  snapshotFile: string;
  journalDir: string;
  reporter?: MigrationReporter;
  /** Runs on the seeded V1 before it is frozen. */
  beforeFreeze?: (v1: V1Stack, plan: SeedPlan) => Promise<void>;
  /** Runs on the frozen, drained V1 before the operator copies it. */
  beforeCopy?: (v1: V1Stack) => Promise<void>;
}

/** V1 frozen, drained and opened by the first proposal; V2 in its window; nothing copied yet. */
export interface OpenedGovernedMigration {
  governance: GovernanceStack;
  v1: V1Stack;
  v2: V2Stack;
  plan: SeedPlan;
  /** The executed proposal that froze V1 and opened the migration. */
  openProposal: ProposalFile;
  /** V1 jobs the drain expired. */
  expired: bigint[];
}

export interface GovernedMigration extends OpenedGovernedMigration {
  /** The operator's run: check, snapshot, nodes, jobs, escrow, verify. */
  copy: RunResult;
  /** The cut-over proposal, built for the vote (not proposed yet). */
  cutover: ProposalFile;
}

/** The operator's part under governance: every step but finalize, which the cut-over proposal does. */
export const GOVERNED_COPY_STEPS = ["check", "snapshot", "nodes", "jobs", "escrow", "verify"] as const;

/** The three phases in a row: open by proposal, copy as the operator, build the cut-over proposal. */
export async function prepareGovernedCutover(
  ctx: DeployContext,
  options: GovernedMigrationOptions,
): Promise<GovernedMigration> {
  const opened = await openGovernedMigration(ctx, options);
  await options.beforeCopy?.(opened.v1);
  const contracts = await resolveContracts(ctx.ethers.provider, options.operator, {
    record: ctx.store.record,
    requireOpened: true,
  });
  const copy = await runMigration(
    {
      provider: ctx.ethers.provider,
      signer: options.operator,
      contracts,
      reporter: options.reporter ?? (() => {}),
      devChain: true,
    },
    { steps: [...GOVERNED_COPY_STEPS], snapshotFile: options.snapshotFile, journalDir: options.journalDir },
  );
  const cutover = await composeCutoverProposal(ctx, options);
  return { ...opened, copy, cutover };
}

/**
 * The governed chain (deploy/governedStack.ts) with a seeded V1, then the first proposal passed
 * through the Governor and executed (freeze V1, install V1.1, grant the migrator roles to
 * `operator`), then V1 drained. Multicall3 is installed for the snapshot reader.
 */
export async function openGovernedMigration(
  ctx: DeployContext,
  options: Pick<GovernedMigrationOptions, "seed" | "treasury" | "operator" | "preparer" | "root" | "beforeFreeze">,
): Promise<OpenedGovernedMigration> {
  const provider = ctx.ethers.provider;
  const deployer = ctx.deployer;
  const operator = await options.operator.getAddress();

  let plan: SeedPlan | undefined;
  const { governance, v1, v2 } = await deployGovernedStack(ctx, {
    treasury: options.treasury,
    // V1's users act before V2 exists, as on Base: V2 lists the tokens they hold.
    beforeV2: async (stack) => {
      plan = planSeed(options.seed, {
        minimumStake: await stack.registry.minimumStake(),
        maxModels: Number(await stack.registry.MAX_MODELS()),
      });
      const seeded = await seedV1({ provider, funder: deployer, stack, devChain: true }, plan);
      if (seeded.mismatches.length > 0) throw new Error(`Seeding failed:\n${seeded.mismatches.join("\n")}`);
      await options.beforeFreeze?.(stack, plan);
    },
  });

  const { proposal: openProposal } = await composeProposal(await composeContext(ctx, options), {
    actions: ["pause-v1", "upgrade", "grant-migrator"],
    options: { operator },
    title: "Freeze V1 and open the V1 → V2 migration",
    body: "Pauses V1, upgrades its NodeRegistry and PaymentEscrow to V1.1 pointed at V2, and lets the operator copy.",
  });
  const governor = await governance.governor.getAddress();
  const toRun = proposalArguments(openProposal);
  await proposeAndPass(provider, governor, toRun, deployer, [deployer]);
  await queueAndExecute(provider, governor, toRun, deployer);
  const { expired } = await drainV1(provider, v1);
  await ensureMulticall3(provider, { devChain: true });
  return { governance, v1, v2, plan: plan!, openProposal, expired };
}

/** The cut-over proposal for the record's contracts, finalizing against the snapshot file. */
export async function composeCutoverProposal(
  ctx: DeployContext,
  options: Pick<GovernedMigrationOptions, "preparer" | "root" | "snapshotFile">,
): Promise<ProposalFile> {
  const { proposal } = await composeProposal(await composeContext(ctx, options), {
    actions: ["cutover"],
    options: { snapshot: options.snapshotFile },
    title: "Finalize the V1 → V2 migration and cut V1 over to the adapters",
    body: "Finalizes V2 against V1's snapshot commitments, trusts the V1 proxies as adapters, and upgrades them to the generated ContractAdapters.",
  });
  return proposal;
}

/** Proposals are built on the chain's record, proposed by the deployer (the FAB holder here). */
async function composeContext(ctx: DeployContext, options: Pick<GovernedMigrationOptions, "preparer" | "root">) {
  return {
    provider: ctx.ethers.provider,
    chainId: ctx.chainId,
    record: ctx.store.record,
    preparer: options.preparer,
    root: options.root,
    proposer: await ctx.deployer.getAddress(),
  };
}
