import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { DEFAULT_V1_PARAMETERS, deployV1 } from "../deploy/v1.js";
import { openTaskContext } from "./context.js";
import { parseAddressOption } from "../lib/options.js";

interface DeployV1Arguments {
  admin: string;
  treasury: string;
}

export default async function deployV1Action(args: DeployV1Arguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  const ctx = await openTaskContext(hre);
  const admin = parseAddressOption("admin", args.admin) ?? ctx.deployer.address;
  const treasury = parseAddressOption("treasury", args.treasury) ?? ctx.deployer.address;
  await deployV1({ ...ctx, log: console.log }, { ...DEFAULT_V1_PARAMETERS, admin, treasury });
  console.log(JSON.stringify(ctx.store.record, null, 2));
}
