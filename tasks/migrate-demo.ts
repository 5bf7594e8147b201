import path from "node:path";
import { Wallet } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { composeCutoverProposal, GOVERNED_COPY_STEPS, openGovernedMigration } from "../deploy/governedMigration.js";
import { upgradesPreparer } from "../deploy/preparer.js";
import { checkV1Api, devChainFunder } from "../lib/adapterCheck.js";
import { validateSeedOptions } from "../lib/fixtures/plan.js";
import { simulateProposal, type SimulationProvider } from "../lib/governance/simulate.js";
import { resolveContracts } from "../lib/migration/contracts.js";
import { runMigration } from "../lib/migration/engine.js";
import { isOpStack, setL1FeeScalars } from "../lib/migration/l1Fee.js";
import { writeReport } from "../lib/migration/report.js";
import type { AdapterCheckSummary, FinalizeSummary, GovernanceProposalSummary } from "../lib/migration/summary.js";
import { errorMessage } from "../lib/multicall.js";
import type { RpcProvider } from "../lib/transactions.js";
import type { V1State } from "../lib/v1State.js";
import { openTaskContext } from "./context.js";
import { operatorWallet, runRendered } from "./migrate-shared.js";

interface DemoArguments {
  nodes: number;
  jobs: number;
  users: number;
  seed: string;
  reports: string;
  json: boolean;
}

/**
 * `npm start`: the whole migration on the in-process chain as it runs on Base. FAB holders'
 * Governor and its timelock govern V1 and V2; a first proposal freezes V1 and opens the migration;
 * the operator copies and verifies; the cut-over proposal (finalize, V1 proxies to the adapters) is
 * rehearsed through the Governor with upgrade:simulate's post-checks; then V1 callers are shown to
 * still work (lib/adapterCheck.ts). Prints the run summary and writes reports/migration.{md,json}.
 * A failed post-check, any record the V1 addresses answer differently, or a failed V1 round trip
 * makes the exit code non-zero. (The deployer plays the FAB holder and the operator.)
 */
export default async function migrateDemoAction(args: Record<string, unknown>, hre: HardhatRuntimeEnvironment) {
  const options = args as unknown as DemoArguments;
  validateSeedOptions(options);
  const started = Date.now();
  const say = (line: string) => {
    if (!options.json) console.log(line);
  };
  const ctx = await openTaskContext(hre);
  if (ctx.production) throw new Error(`Chain ${ctx.chainId} holds real funds: the demo runs on local chains only.`);
  // Hardhat's simulated OP chain starts with zero L1 fee scalars: Base's make its L1 fees real.
  if (await isOpStack(ctx.ethers.provider)) await setL1FeeScalars(ctx.ethers.provider);
  const signer = await operatorWallet(ctx);
  const snapshotFile = path.join(options.reports, `v1-snapshot-${ctx.chainId}.ndjson`);
  const preparer = upgradesPreparer({
    ethers: ctx.ethers,
    upgrades: ctx.upgrades,
    signer: ctx.deployer,
    artifacts: hre.artifacts,
  });
  const root = hre.config.paths.root;

  say(
    `Deploying FAB holders' Governor and its timelock, V1 under the timelock, and seeding ${options.nodes} nodes, ${options.jobs} jobs, ${options.users} users…`,
  );
  const opened = await openGovernedMigration(
    { ...ctx, log: () => {} },
    { seed: options, treasury: ctx.deployer.address, operator: signer, preparer, root },
  );
  const { plan, v1, v2, openProposal } = opened;
  say(
    `Seeded in ${((Date.now() - started) / 1000).toFixed(1)} s. Proposal "${openProposal.title}" (${openProposal.calls.length} calls) passed and executed: V1 paused, its registry and escrow on V1.1, the operator a migrator. V1 drained (${opened.expired.length} lapsed jobs expired).\n`,
  );
  const governance: GovernanceProposalSummary[] = [
    {
      title: openProposal.title,
      proposalId: openProposal.proposalId,
      calls: openProposal.calls.length,
      checks: [],
      passed: true,
    },
  ];

  const contracts = await resolveContracts(ctx.ethers.provider, signer, { record: ctx.store.record });
  const { summary } = await runRendered(
    options.json,
    "check",
    (reporter) =>
      runMigration(
        { provider: ctx.ethers.provider, signer, contracts, reporter, devChain: true },
        { steps: [...GOVERNED_COPY_STEPS], snapshotFile, journalDir: path.join(options.reports, "journal") },
      ),
    // Every step has finished (no bars on screen): the cut-over's lines go below the engine's.
    async (result) => {
      if (result?.snapshot === undefined || result.verify?.verified !== true) return { governance };
      const cutover = await rehearseCutover();
      governance.push(cutover.summary);
      if (!cutover.summary.passed) {
        process.stderr.write(`Error: the cut-over proposal: ${cutover.problem}\n`);
        process.exitCode = 1;
        return { governance };
      }
      const adapters = await checkThroughAdapters(result.snapshot.state);
      if (!adapters.passed) {
        process.stderr.write(`Error: V1 API through the adapters: ${adapters.findings.join(" ")}\n`);
        process.exitCode = 1;
      }
      return { governance, finalize: cutover.finalize, adapters };
    },
  );

  /**
   * The cut-over as governance runs it: the proposal (finalize against the snapshot, adapter roles,
   * V1 proxies upgraded to the adapters) is built as upgrade:propose builds it, then taken through
   * the Governor by upgrade:simulate's engine, post-checks included.
   */
  async function rehearseCutover(): Promise<{
    summary: GovernanceProposalSummary;
    finalize: FinalizeSummary | null;
    problem: string;
  }> {
    say("\nCut-over: a proposal finalizes V2 against V1's snapshot and upgrades each V1 proxy to its adapter.");
    const proposal = await composeCutoverProposal({ ...ctx, log: () => {} }, { preparer, root, snapshotFile });
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
    const finalized: FinalizeSummary["contracts"] = [];
    for (const [name, contract] of [
      ["registry", v2.registry],
      ["marketplace", v2.marketplace],
      ["escrow", v2.escrow],
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

  async function checkThroughAdapters(state: V1State): Promise<AdapterCheckSummary> {
    say("V1's addresses serve V1's API from V2: reading V1's snapshot back through them, then one job with V1's ABI.");
    const provider = ctx.ethers.provider;
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
          renter: plan.users[0] === undefined ? ctx.deployer : new Wallet(plan.users[0].privateKey, provider),
          hosts: plan.nodes.map((node) => new Wallet(node.privateKey, provider)),
          fund: devChainFunder(provider as unknown as RpcProvider),
          log: (line) => say(`  ${line}`),
        },
      );
    } catch (error) {
      return failedCheck(`reading through the V1 addresses failed: ${errorMessage(error)}`);
    }
  }
  const files = await writeReport(options.reports, summary, {
    name: "migration",
    title: `Fabstir V1 → V2 migration (${options.nodes} nodes, ${options.jobs} jobs, ${options.users} users)`,
  });
  say(`\nReport: ${files.markdown}, ${files.json}. Total time ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

/** The check's entry when the cut-over or the read-back could not run: nothing was compared. */
function failedCheck(finding: string): AdapterCheckSummary {
  return { nodes: 0, jobs: 0, balances: 0, mismatches: 0, findings: [finding], roundTrip: null, passed: false };
}
