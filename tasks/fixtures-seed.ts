import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { DEFAULT_V1_PARAMETERS, deployV1 } from "../deploy/v1.js";
import { planSeed, validateSeedOptions } from "../lib/fixtures/plan.js";
import { seedV1 } from "../lib/fixtures/seed.js";
import { formatSeedSummary } from "../lib/fixtures/summary.js";
import { openTaskContext } from "./context.js";

interface SeedArguments {
  nodes: number;
  jobs: number;
  users: number;
  seed: string;
}

export default async function fixturesSeedAction(args: SeedArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  validateSeedOptions(args);
  const ctx = await openTaskContext(hre);
  if (ctx.production)
    throw new Error(`Chain ${ctx.chainId} holds real funds: fixtures are seeded only on local and test chains.`);
  const params = { ...DEFAULT_V1_PARAMETERS, admin: ctx.deployer.address, treasury: ctx.deployer.address };
  const stack = await deployV1({ ...ctx, log: console.log }, params);
  const plan = planSeed(args, {
    minimumStake: await stack.registry.minimumStake(),
    maxModels: Number(await stack.registry.MAX_MODELS()),
  });

  const started = Date.now();
  let lastPhase = "";
  const summary = await seedV1(
    {
      provider: ctx.ethers.provider,
      funder: ctx.deployer,
      stack,
      devChain: ctx.devChain,
      onProgress: ({ phase, sent, total }) => {
        if (phase !== lastPhase || sent === total) console.log(`${phase}: ${sent}/${total}`);
        lastPhase = phase;
      },
    },
    plan,
  );
  console.log(formatSeedSummary(summary, Date.now() - started));
  if (summary.mismatches.length > 0) {
    throw new Error(`The chain does not hold what was seeded:\n${summary.mismatches.join("\n")}`);
  }
}
