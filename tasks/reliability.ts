import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { DeploymentStore } from "../lib/deployments.js";
import {
  DEFAULT_SEED,
  ReliabilityOptionError,
  resolveReliabilityOptions,
  type ReliabilityArguments,
} from "../lib/reliability/options.js";
import { startAnvil } from "../lib/anvil.js";
import { runReliability } from "../lib/reliability/run.js";
import { reliabilityJson, renderReliability } from "../lib/reliability/table.js";

/**
 * `npx hardhat reliability [--quick] [--json] [--seed S]` (`npm run reliability -- …`): starts its
 * own anvil node, seeds it once and runs the trials (lib/reliability/run.ts). Progress goes to
 * stderr, the table (or `--json`) to stdout. Exits 1 when a trial failed or anything was lost or
 * duplicated.
 */
export default async function reliabilityAction(
  args: ReliabilityArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  let options;
  try {
    options = resolveReliabilityOptions(args);
  } catch (error) {
    if (!(error instanceof ReliabilityOptionError)) throw error;
    console.error(`Error: ${error.message}`);
    process.exitCode = 1;
    return;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const root = hre.config.paths.root;
  // The children run the migrate:* tasks from these artifacts: build once here, not in each of them.
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  const anvil = await startAnvil(root);
  const connection = await hre.network.create({ network: "localhost", override: { url: anvil.url } });
  try {
    const { ethers } = connection;
    const [deployer] = await ethers.getSigners();
    const chainId = Number((await ethers.provider.getNetwork()).chainId);
    const run = await runReliability(
      {
        ethers,
        upgrades: await upgrades(hre, connection),
        deployer: deployer!,
        store: await DeploymentStore.open(chainId, undefined),
        chainId,
        provider: ethers.provider,
        rpcUrl: anvil.url,
        root: path.resolve(root),
      },
      options,
      log,
    );
    const json = reliabilityJson(run);
    const words = [
      args.quick ? "--quick" : "",
      args.json ? "--json" : "",
      args.seed === DEFAULT_SEED ? "" : `--seed ${args.seed}`,
      (args.families ?? "") === "" ? "" : `--families ${args.families}`,
    ].filter((w) => w !== "");
    console.log(
      options.json
        ? JSON.stringify(json, null, 2)
        : renderReliability(json, `npm run reliability${words.length === 0 ? "" : ` -- ${words.join(" ")}`}`),
    );
    if (!json.ok) process.exitCode = 1;
  } catch (error) {
    console.error(`reliability failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  } finally {
    await connection.close();
    await anvil.stop();
  }
}
