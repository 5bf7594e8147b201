import type { RpcProvider } from "../transactions.js";

/**
 * The harness's own block production for the reorg and nonce/fee families: anvil's automine is
 * switched off and a block is mined every `intervalMs` (interval mining), except while a trial
 * holds the chain still to act at an exact moment (a batch in the pool, not yet mined; a receipt
 * with fewer confirmations than the engine waits for). Talks to anvil directly.
 */

export interface Miner {
  /** Stops producing blocks; resolves once no mine is in flight. */
  pause(): Promise<void>;
  resume(): void;
  /** Mines one block now (paused or not); `beforeMine` runs first. */
  mineNow(): Promise<void>;
  /** Blocks mined so far. */
  readonly mined: number;
  /** Stops for good and switches automine back on. */
  stop(): Promise<void>;
}

export interface MinerOptions {
  provider: RpcProvider;
  intervalMs: number;
  /** Runs before every block, e.g. to hold the next block's base fee. */
  beforeMine?: () => Promise<void>;
}

export async function startMiner(options: MinerOptions): Promise<Miner> {
  const { provider } = options;
  await provider.send("evm_setAutomine", [false]);
  let paused = false;
  let stopped = false;
  let mined = 0;
  let busy = false;
  let inFlight: Promise<void> = Promise.resolve();
  const mineOne = async () => {
    busy = true;
    try {
      await options.beforeMine?.();
      await provider.send("evm_mine", []);
      mined++;
    } finally {
      busy = false;
    }
  };
  const mineNow = () => {
    // One block at a time: a tick and a trial's own block never interleave.
    inFlight = inFlight.then(mineOne, mineOne);
    return inFlight;
  };
  const timer = setInterval(() => {
    // A slow node skips ticks rather than queueing blocks.
    if (!paused && !stopped && !busy) mineNow().catch(() => undefined);
  }, options.intervalMs);
  return {
    async pause() {
      paused = true;
      await inFlight.catch(() => undefined);
    },
    resume() {
      paused = false;
    },
    mineNow,
    get mined() {
      return mined;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight.catch(() => undefined);
      await provider.send("evm_setAutomine", [true]);
    },
  };
}
