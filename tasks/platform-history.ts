import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import {
  platformHistory,
  platformHistoryJson,
  platformHistoryLines,
  type PlatformHistoryOptions,
} from "../lib/platforms/history.js";
import { withLazyNetwork } from "./platform-import.js";

export default async function platformHistoryAction(
  args: Omit<PlatformHistoryOptions, "root"> & { json: boolean },
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  // Connected with --escrow only (the user's migration credits): the store is read from disk.
  await withLazyNetwork(hre, async (open) => {
    const chain = { provider: async () => (await open()).ethers.provider };
    const history = await platformHistory({ ...args, root: hre.config.paths.root }, chain);
    if (args.json) console.log(platformHistoryJson(history));
    else for (const line of platformHistoryLines(history)) console.log(line);
  });
}
