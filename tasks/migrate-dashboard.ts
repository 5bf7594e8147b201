import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { prepareDevChain, type DevChainOptions } from "../lib/dashboard/devChain.js";
import { attachDashboard, runDashboard, serveDashboard, untilInterrupted } from "../lib/dashboard/launch.js";
import { configuredToken } from "../lib/dashboard/configuredToken.js";
import { chooseToken } from "../lib/dashboard/security.js";
import { openTaskContext } from "./context.js";
import { migrationContracts, operatorWallet, runOptions, type MigrateArguments } from "./migrate-shared.js";

type DashboardArguments = MigrateArguments &
  DevChainOptions & { port: number; host: string; attach: boolean; events: string; startPaused: boolean };

/** Run mode: the operator's key, the seeded or paced dev chain, the contracts, the engine's options. */
async function runHere(options: DashboardArguments, hre: HardhatRuntimeEnvironment) {
  const ctx = await openTaskContext(hre);
  const signer = await operatorWallet(ctx);
  const inProcess = ctx.connection.networkConfig.type === "edr-simulated";
  const files = await prepareDevChain({ ...ctx, inProcess }, options, console.log);
  const contracts = await migrationContracts(ctx, signer, options);
  return runDashboard({
    context: { provider: ctx.ethers.provider, signer, contracts, devChain: ctx.devChain },
    run: runOptions({ ...options, ...files }, ctx.chainId),
    blockTime: options.blockTime,
    json: options.json,
    write: (text) => void process.stdout.write(text),
    network: { name: ctx.connection.networkName, inProcess },
    chainId: ctx.chainId,
    scratch: files.scratch,
  });
}

/**
 * `npx hardhat migrate:dashboard`: serves the dashboard (lib/dashboard) and either runs
 * `migrate:all`'s engine itself, with pause, resume and rollback, or (`--attach`) follows a run in
 * another process through its journal and its `--json` lines, read-only. `--seed` first seeds V1
 * and opens the migration on a development chain, as migrate:demo does, so there is something to
 * migrate. Serves until interrupted (Ctrl-C).
 */
export default async function migrateDashboardAction(args: Record<string, unknown>, hre: HardhatRuntimeEnvironment) {
  const options = args as unknown as DashboardArguments;
  const { token, source } = chooseToken(options.host, await configuredToken(hre.hooks));
  const launch = options.attach
    ? attachDashboard({ ...options, network: hre.globalOptions.network })
    : await runHere(options, hre);
  const staticDir = path.join(hre.config.paths.root, "dashboard");
  const dashboard = await serveDashboard(launch, { token, source, host: options.host, port: options.port, staticDir });
  console.log(dashboard.banner);
  if (launch.session.controllable) launch.session.start({ paused: options.startPaused });
  await untilInterrupted();
  await dashboard.close();
  process.exit(process.exitCode ?? 0);
}
