import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import {
  platformHistory,
  platformHistoryJson,
  platformHistoryLines,
  type PlatformHistoryOptions,
} from "../lib/platforms/history.js";
import { refusing } from "./platform-import.js";

export default async function platformHistoryAction(
  args: Omit<PlatformHistoryOptions, "root"> & { json: boolean },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  // Connected with --escrow only (the user's migration credits): the store is read from disk.
  let connection: Promise<NetworkConnection> | undefined;
  const chain = { provider: async () => (await (connection ??= hre.network.create())).ethers.provider };
  try {
    await refusing(async () => {
      const history = await platformHistory({ ...args, root: hre.config.paths.root }, chain);
      if (args.json) console.log(platformHistoryJson(history));
      else for (const line of platformHistoryLines(history)) console.log(line);
    });
  } finally {
    if (connection !== undefined) await (await connection).close();
  }
}
