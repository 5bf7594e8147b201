import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { prepareLocalMigration } from "../deploy/localMigration.js";
import { validateSeedOptions } from "../lib/fixtures/plan.js";
import { resolveContracts } from "../lib/migration/contracts.js";
import { ALL_STEPS, runMigration } from "../lib/migration/engine.js";
import { isOpStack, setL1FeeScalars } from "../lib/migration/l1Fee.js";
import { writeReport } from "../lib/migration/report.js";
import { ensureMulticall3 } from "../lib/multicall.js";
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
 * with the governance steps done by the same account. Prints the run summary and writes
 * reports/migration.{md,json}.
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
  const { expired } = await prepareLocalMigration({ ...ctx, log: () => {} }, { seed: options, treasury: operator });
  say(
    `Seeded in ${((Date.now() - started) / 1000).toFixed(1)} s; V1 paused and drained (${expired.length} lapsed jobs expired).`,
  );
  await ensureMulticall3(ctx.ethers.provider, { devChain: true });
  say("V2 deployed; V1's registry and escrow upgraded to V1.1: the migration is open.\n");

  const signer = await operatorWallet(ctx);
  const contracts = await resolveContracts(ctx.ethers.provider, signer, { record: ctx.store.record });
  const snapshotFile = path.join(options.reports, `v1-snapshot-${ctx.chainId}.ndjson`);
  const { summary } = await runRendered(options.json, "check", (reporter) =>
    runMigration(
      { provider: ctx.ethers.provider, signer, contracts, reporter, devChain: true },
      { steps: ALL_STEPS, snapshotFile, journalDir: path.join(options.reports, "journal") },
    ),
  );
  const files = await writeReport(options.reports, summary, {
    name: "migration",
    title: `Fabstir V1 → V2 migration (${options.nodes} nodes, ${options.jobs} jobs, ${options.users} users)`,
  });
  say(`\nReport: ${files.markdown}, ${files.json}. Total time ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}
