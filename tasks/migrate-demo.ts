import path from "node:path";
import { Wallet } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { cutOverToAdapters } from "../deploy/cutover.js";
import { prepareLocalMigration } from "../deploy/localMigration.js";
import { checkV1Api, devChainFunder } from "../lib/adapterCheck.js";
import { validateSeedOptions } from "../lib/fixtures/plan.js";
import { resolveContracts } from "../lib/migration/contracts.js";
import { ALL_STEPS, runMigration } from "../lib/migration/engine.js";
import { isOpStack, setL1FeeScalars } from "../lib/migration/l1Fee.js";
import { writeReport } from "../lib/migration/report.js";
import type { AdapterCheckSummary } from "../lib/migration/summary.js";
import { errorMessage, ensureMulticall3 } from "../lib/multicall.js";
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
 * `npm start`: the whole migration on the in-process chain, as an operator would run it on Base,
 * with the governance steps done by the same account, ending with the cut-over to the V1 adapters
 * and proof that V1 callers still work (lib/adapterCheck.ts). Prints the run summary and writes
 * reports/migration.{md,json}. Any record the V1 addresses answer differently, or a failed V1 round
 * trip, makes the exit code non-zero.
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
  const operator = ctx.deployer.address;

  say(`Deploying V1 and seeding ${options.nodes} nodes, ${options.jobs} jobs, ${options.users} users…`);
  const { expired, plan, v1, v2 } = await prepareLocalMigration(
    { ...ctx, log: () => {} },
    { seed: options, treasury: operator },
  );
  say(
    `Seeded in ${((Date.now() - started) / 1000).toFixed(1)} s; V1 paused and drained (${expired.length} lapsed jobs expired).`,
  );
  await ensureMulticall3(ctx.ethers.provider, { devChain: true });
  say("V2 deployed; V1's registry and escrow upgraded to V1.1: the migration is open.\n");

  const signer = await operatorWallet(ctx);
  const contracts = await resolveContracts(ctx.ethers.provider, signer, { record: ctx.store.record });
  const snapshotFile = path.join(options.reports, `v1-snapshot-${ctx.chainId}.ndjson`);

  const { summary } = await runRendered(
    options.json,
    "check",
    (reporter) =>
      runMigration(
        { provider: ctx.ethers.provider, signer, contracts, reporter, devChain: true },
        { steps: ALL_STEPS, snapshotFile, journalDir: path.join(options.reports, "journal") },
      ),
    // Every step has finished (no bars on screen): the cut-over's lines go below the engine's.
    async (result) => {
      if (result?.snapshot === undefined) return {};
      const adapters = await cutOverAndCheck(result.snapshot.state);
      if (!adapters.passed) {
        process.stderr.write(`Error: V1 API through the adapters: ${adapters.findings.join(" ")}\n`);
        process.exitCode = 1;
      }
      return { adapters };
    },
  );

  async function cutOverAndCheck(state: V1State): Promise<AdapterCheckSummary> {
    say("\nCut-over: V2 trusts the V1 proxies (ADAPTER_ROLE), and each V1 proxy is upgraded to its adapter.");
    try {
      await cutOverToAdapters({ ...ctx, log: (line) => say(`  ${line}`) }, v1, v2);
    } catch (error) {
      return failedCheck(`the cut-over failed: ${errorMessage(error)}`);
    }
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
