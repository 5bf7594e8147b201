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

/**
 * Runs `body` with a network connection opened on first use only (a run that needs no chain never
 * connects) and closed at the end; a refusal (bad input, nothing written) is printed as one line
 * with exit code 1.
 */
export async function withLazyNetwork(
  hre: HardhatRuntimeEnvironment,
  body: (open: () => Promise<NetworkConnection>) => Promise<void>,
): Promise<void> {
  let connection: Promise<NetworkConnection> | undefined;
  try {
    await body(() => (connection ??= hre.network.create()));
  } catch (error) {
    if (!(error instanceof ImportError || error instanceof PlatformImportError || error instanceof StoreError))
      throw error;
    console.error(`Error: ${error.message}`);
    process.exitCode = 1;
  } finally {
    if (connection !== undefined) await (await connection).close();
  }
}

export default async function platformImportAction(
  args: Omit<PlatformImportOptions, "root">,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  // A run with --user and --rate and without --apply never connects.
  await withLazyNetwork(hre, async (open) => {
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
    const result = await runPlatformImport({ ...args, root: hre.config.paths.root }, chain);
    if (args.json) console.log(platformImportJson(result));
    else for (const line of platformImportLines(result)) console.log(line);
  });
}
