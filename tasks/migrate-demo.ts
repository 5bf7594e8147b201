import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { GOVERNED_COPY_STEPS, openGovernedMigration } from "../deploy/governedMigration.js";
import { upgradesPreparer } from "../deploy/preparer.js";
import { validateSeedOptions } from "../lib/fixtures/plan.js";
import { resolveContracts } from "../lib/migration/contracts.js";
import { checkSeededV1Api, rehearseCutover } from "../lib/migration/cutoverRehearsal.js";
import { runMigration } from "../lib/migration/engine.js";
import { isOpStack, setL1FeeScalars } from "../lib/migration/l1Fee.js";
import { writeReport } from "../lib/migration/report.js";
import type { GovernanceProposalSummary } from "../lib/migration/summary.js";
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
      const cutover = await rehearseCutover(ctx, { preparer, root, snapshotFile, v2, say });
      governance.push(cutover.summary);
      if (!cutover.summary.passed) {
        process.stderr.write(`Error: the cut-over proposal: ${cutover.problem}\n`);
        process.exitCode = 1;
        return { governance };
      }
      const adapters = await checkSeededV1Api(ctx.ethers.provider, v1, result.snapshot.state, {
        plan,
        fallbackRenter: ctx.deployer,
        say,
      });
      if (!adapters.passed) {
        process.stderr.write(`Error: V1 API through the adapters: ${adapters.findings.join(" ")}\n`);
        process.exitCode = 1;
      }
      return { governance, finalize: cutover.finalize, adapters };
    },
  );

  const files = await writeReport(options.reports, summary, {
    name: "migration",
    title: `Fabstir V1 → V2 migration (${options.nodes} nodes, ${options.jobs} jobs, ${options.users} users)`,
  });
  say(`\nReport: ${files.markdown}, ${files.json}. Total time ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}
