import { Wallet, type Provider, type Signer } from "ethers";
import { composeCutoverProposal } from "../../deploy/governedMigration.js";
import type { DeployContext } from "../../deploy/steps.js";
import type { V1Stack } from "../../deploy/v1.js";
import type { V2Stack } from "../../deploy/v2.js";
import { checkV1Api, devChainFunder } from "../adapterCheck.js";
import type { SeedPlan } from "../fixtures/plan.js";
import type { ImplementationPreparer } from "../governance/actions/index.js";
import { simulateProposal, type SimulationProvider } from "../governance/simulate.js";
import { errorMessage } from "../multicall.js";
import type { RpcProvider } from "../transactions.js";
import type { V1State } from "../v1State.js";
import type { AdapterCheckSummary, FinalizeSummary, GovernanceProposalSummary } from "./summary.js";

export interface CutoverRehearsal {
  summary: GovernanceProposalSummary;
  /** What each V2 contract holds once the proposal executed; null when it did not. */
  finalize: FinalizeSummary | null;
  /** The failed post-checks, in a sentence; empty when the rehearsal passed. */
  problem: string;
}

/**
 * The cut-over as governance runs it: the proposal (finalize against the snapshot, adapter roles,
 * V1 proxies upgraded to the adapters) is built as upgrade:propose builds it, then taken through
 * the Governor by upgrade:simulate's engine, post-checks included. On a development chain the
 * simulation's state stays: V2 is finalized and V1's addresses serve the adapters afterwards.
 */
export async function rehearseCutover(
  ctx: DeployContext,
  options: {
    preparer: ImplementationPreparer;
    root: string;
    snapshotFile: string;
    v2: V2Stack;
    say: (line: string) => void;
  },
): Promise<CutoverRehearsal> {
  const { say } = options;
  say("\nCut-over: a proposal finalizes V2 against V1's snapshot and upgrades each V1 proxy to its adapter.");
  const proposal = await composeCutoverProposal({ ...ctx, log: () => {} }, options);
  const report = await simulateProposal({
    provider: ctx.ethers.provider as unknown as SimulationProvider,
    proposal,
    record: ctx.store.record,
    log: (line) => say(`  ${line}`),
  });
  for (const upgrade of proposal.upgrades) {
    say(
      `  upgraded ${upgrade.name} proxy ${upgrade.proxy} to ${upgrade.contractName} (implementation ${upgrade.implementation})`,
    );
  }
  const checks = report.checks.map((check) => ({ id: check.id, status: check.status }));
  say(`  post-checks: ${checks.map((check) => `${check.id} ${check.status}`).join(", ")}`);
  const summary = {
    title: proposal.title,
    proposalId: proposal.proposalId,
    calls: proposal.calls.length,
    checks,
    passed: report.passed,
  };
  const failed = report.checks.filter((check) => check.status === "fail");
  const problem = failed.map((check) => `${check.id}: ${check.details.join(" ")}`).join(" ");
  const execute = report.steps.find((step) => step.step === "execute");
  if (!report.passed || execute === undefined)
    return { summary: { ...summary, passed: false }, finalize: null, problem };
  // One execute transaction finalized all three: each row names it.
  const finalized: FinalizeSummary["contracts"] = [];
  for (const [name, contract] of [
    ["registry", options.v2.registry],
    ["marketplace", options.v2.marketplace],
    ["escrow", options.v2.escrow],
  ] as const) {
    finalized.push({
      contract: name,
      commitment: await contract.migrationCommitment(),
      count: Number(await contract.migratedCount()),
      txHash: execute.txHash,
      gasUsed: execute.gasUsed,
    });
  }
  return { summary, finalize: { contracts: finalized, finalized: true }, problem };
}

/**
 * After the cut-over, V1's addresses serve V1's API from V2: V1's snapshot is read back through
 * them, then one job runs with V1's ABI, by a seeded renter and the seeded hosts. A failure to
 * read at all is a failed check (nothing compared), never an exception.
 */
export async function checkSeededV1Api(
  provider: Provider,
  v1: V1Stack,
  state: V1State,
  seeded: { plan: SeedPlan; fallbackRenter: Signer; say: (line: string) => void },
): Promise<AdapterCheckSummary> {
  const { plan, say } = seeded;
  say("V1's addresses serve V1's API from V2: reading V1's snapshot back through them, then one job with V1's ABI.");
  try {
    return await checkV1Api(
      provider,
      {
        registry: await v1.registry.getAddress(),
        marketplace: await v1.marketplace.getAddress(),
        escrow: await v1.escrow.getAddress(),
      },
      { nodes: state.nodes.records, jobs: state.jobs.records, deposits: state.deposits.records },
      {
        // A seeded renter and the seeded hosts (the first active one serving a model takes the job).
        renter: plan.users[0] === undefined ? seeded.fallbackRenter : new Wallet(plan.users[0].privateKey, provider),
        hosts: plan.nodes.map((node) => new Wallet(node.privateKey, provider)),
        fund: devChainFunder(provider as RpcProvider),
        log: (line) => say(`  ${line}`),
      },
    );
  } catch (error) {
    const finding = `reading through the V1 addresses failed: ${errorMessage(error)}`;
    return { nodes: 0, jobs: 0, balances: 0, mismatches: 0, findings: [finding], roundTrip: null, passed: false };
  }
}
