import path from "node:path";
import { Wallet } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { cutOverToAdapters } from "../deploy/cutover.js";
import { prepareLocalMigration } from "../deploy/localMigration.js";
import { checkV1Api, devChainFunder } from "../lib/adapterCheck.js";
import { validateSeedOptions } from "../lib/fixtures/plan.js";
import { resolveContracts } from "../lib/migration/contracts.js";
import { ALL_STEPS, runMigration, type RunResult } from "../lib/migration/engine.js";
import type { MigrationReporter } from "../lib/migration/events.js";
import { isOpStack, setL1FeeScalars } from "../lib/migration/l1Fee.js";
import { createRenderer, pickMode } from "../lib/migration/render.js";
import { writeReport } from "../lib/migration/report.js";
import { MigrationStepError } from "../lib/migration/steps/context.js";
import { SummaryCollector, type AdapterCheckSummary } from "../lib/migration/summary.js";
import { errorMessage, ensureMulticall3 } from "../lib/multicall.js";
import type { RpcProvider } from "../lib/transactions.js";
import { openTaskContext } from "./context.js";
import { operatorWallet } from "./migrate-shared.js";

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

  // As runRendered (migrate-shared.ts), but the summary the output ends with also carries the
  // adapter check, which runs after the engine and before that last line.
  const mode = pickMode({ json: options.json, isTTY: process.stdout.isTTY === true, term: process.env.TERM });
  const renderer = createRenderer({
    mode,
    write: (text) => process.stdout.write(text),
    ...(process.stdout.columns === undefined ? {} : { columns: process.stdout.columns }),
  });
  const collector = new SummaryCollector();
  const reporter: MigrationReporter = (event) => {
    collector.add(event);
    renderer.report(event);
  };
  const timer = mode === "tty" ? setInterval(() => renderer.refresh(), 250) : undefined;
  timer?.unref();
  let result: RunResult | undefined;
  try {
    result = await runMigration(
      { provider: ctx.ethers.provider, signer, contracts, reporter, devChain: true },
      { steps: ALL_STEPS, snapshotFile, journalDir: path.join(options.reports, "journal") },
    );
  } catch (error) {
    const step = error instanceof MigrationStepError ? error.step : "check";
    reporter({ type: "error", at: Date.now(), step, message: errorMessage(error) });
    process.stderr.write(`Error: ${errorMessage(error)}\n`);
    process.exitCode = 1;
  } finally {
    clearInterval(timer);
  }

  // Every step has finished (no bars on screen): the cut-over's lines go below the engine's.
  let adapters: AdapterCheckSummary | undefined;
  if (result?.snapshot !== undefined) {
    say("\nCut-over: V2 trusts the V1 proxies (ADAPTER_ROLE), and each V1 proxy is upgraded to its adapter.");
    const provider = ctx.ethers.provider;
    try {
      await cutOverToAdapters({ ...ctx, log: (line) => say(`  ${line}`) }, v1, v2);
    } catch (error) {
      adapters = failedCheck(`the cut-over failed: ${errorMessage(error)}`);
    }
    if (adapters === undefined) {
      say(
        "V1's addresses serve V1's API from V2: reading V1's snapshot back through them, then one job with V1's ABI.",
      );
      const { nodes, jobs, deposits } = result.snapshot.state;
      try {
        adapters = await checkV1Api(
          provider,
          {
            registry: await v1.registry.getAddress(),
            marketplace: await v1.marketplace.getAddress(),
            escrow: await v1.escrow.getAddress(),
          },
          { nodes: nodes.records, jobs: jobs.records, deposits: deposits.records },
          {
            // A seeded renter and the seeded hosts (the first active one serving a model takes the job).
            renter: plan.users[0] === undefined ? ctx.deployer : new Wallet(plan.users[0].privateKey, provider),
            hosts: plan.nodes.map((node) => new Wallet(node.privateKey, provider)),
            fund: devChainFunder(provider as unknown as RpcProvider),
            log: (line) => say(`  ${line}`),
          },
        );
      } catch (error) {
        adapters = failedCheck(`reading through the V1 addresses failed: ${errorMessage(error)}`);
      }
    }
    if (!adapters.passed) {
      process.stderr.write(`Error: V1 API through the adapters: ${adapters.findings.join(" ")}\n`);
      process.exitCode = 1;
    }
  }
  const summary = renderer.end({ ...collector.summary(), ...(adapters === undefined ? {} : { adapters }) });
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
