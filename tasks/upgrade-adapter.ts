import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { writeFileAtomically } from "../lib/files.js";
import {
  buildAdapter,
  DEFAULT_MAPPINGS,
  REGENERATE_COMMAND,
  staleAdapters,
  type AdapterRequest,
} from "../lib/adapter/run.js";

interface UpgradeAdapterArguments {
  from: string;
  to: string;
  mapping: string;
  check: boolean;
}

function requests(args: UpgradeAdapterArguments): AdapterRequest[] {
  const overrides = { ...(args.from === "" ? {} : { from: args.from }), ...(args.to === "" ? {} : { to: args.to }) };
  if (args.mapping !== "") return [{ mapping: args.mapping, ...overrides }];
  if (args.from !== "" || args.to !== "") {
    // The mapping of `--from contracts/v1/NodeRegistryV1.sol:NodeRegistryV1` is adapters/NodeRegistry.json.
    const name = (args.from || args.to).split(":").pop()!.replace(/V\d+$/, "");
    return [{ mapping: `adapters/${name}.json`, ...overrides }];
  }
  return DEFAULT_MAPPINGS.map((mapping) => ({ mapping }));
}

export default async function upgradeAdapterAction(
  args: UpgradeAdapterArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  const root = hre.config.paths.root;
  const generated = [];
  for (const request of requests(args)) generated.push(await buildAdapter(root, request, hre.artifacts));
  if (args.check) {
    const stale = await staleAdapters(root, generated);
    if (stale.length > 0) {
      throw new Error(`stale generated adapters: ${stale.join(", ")}; run \`${REGENERATE_COMMAND}\` and commit them`);
    }
    console.log(`${generated.length} adapter(s) up to date`);
    return;
  }
  for (const { file, source } of generated) {
    await writeFileAtomically(path.join(root, file), source);
    console.log(`wrote ${file}`);
  }
}
