import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { BenchOptionError, benchCommand, resolveBenchOptions, type BenchArguments } from "../lib/bench/options.js";
import { benchOutput, runBench, type Eip1193Provider } from "../lib/bench/run.js";
import { openTaskContext } from "./context.js";
import { operatorWallet } from "./migrate-shared.js";

/**
 * `npx hardhat bench --network hardhatOp` (`npm run bench -- …`): lib/bench/run.ts does the
 * work. Progress goes to stderr, the report (or `--json`) to stdout. Exits 0 when the run
 * completes, targets met or not (the output lists the missed ones); 1 when it fails.
 */
export default async function benchAction(args: BenchArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  let options;
  try {
    options = resolveBenchOptions(args);
  } catch (error) {
    if (!(error instanceof BenchOptionError)) throw error;
    console.error(`Error: ${error.message}`);
    process.exitCode = 1;
    return;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const ctx = await openTaskContext(hre);
    const run = await runBench(
      {
        ...ctx,
        eip1193: ctx.connection.provider as unknown as Eip1193Provider,
        operatorWallet: () => operatorWallet(ctx),
      },
      options,
      log,
    );
    console.log(benchOutput(run, options, benchCommand(args)));
  } catch (error) {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
