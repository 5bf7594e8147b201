import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import { PlatformImportError } from "../lib/platforms/errors.js";
import { ImportError } from "../lib/platforms/importError.js";
import {
  platformImportJson,
  platformImportLines,
  recordedEscrow,
  runPlatformImport,
  type ImportChain,
  type PlatformImportOptions,
} from "../lib/platforms/platformImport.js";
import { StoreError } from "../lib/store/errors.js";

/** Prints a refusal (bad input, nothing written) as one line with exit code 1. */
export async function refusing(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (!(error instanceof ImportError || error instanceof PlatformImportError || error instanceof StoreError))
      throw error;
    console.error(`Error: ${error.message}`);
    process.exitCode = 1;
  }
}

export default async function platformImportAction(
  args: Omit<PlatformImportOptions, "root">,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  // Connected on first use only: a run with --user and --rate and without --apply never connects.
  let connection: Promise<NetworkConnection> | undefined;
  const open = () => (connection ??= hre.network.create());
  const chain: ImportChain = {
    provider: async () => (await open()).ethers.provider,
    signer: async () => (await (await open()).ethers.getSigners())[0],
    recordedEscrow: async () => {
      const c = await open();
      // The in-process chain is new on every run: nothing recorded can be on it.
      const dir =
        c.networkConfig.type === "edr-simulated" ? undefined : path.join(hre.config.paths.root, "deployments");
      return recordedEscrow(Number((await c.ethers.provider.getNetwork()).chainId), dir);
    },
  };
  try {
    await refusing(async () => {
      const result = await runPlatformImport({ ...args, root: hre.config.paths.root }, chain);
      if (args.json) console.log(platformImportJson(result));
      else for (const line of platformImportLines(result)) console.log(line);
    });
  } finally {
    if (connection !== undefined) await (await connection).close();
  }
}
