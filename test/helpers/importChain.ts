import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Signer } from "ethers";
import { PlatformImportError } from "../../lib/platforms/errors.js";
import { ImportError } from "../../lib/platforms/importError.js";
import {
  platformImportLines,
  runPlatformImport,
  type ImportChain,
  type PlatformImportOptions,
  type PlatformImportResult,
} from "../../lib/platforms/platformImport.js";
import { ETH, type CreditsSetup } from "./creditsEscrow.js";
import { ethers } from "./fixtures.js";

/**
 * `runPlatformImport` on the shared in-process chain (the task would open a chain of its own, where
 * no escrow exists): the same code as the task, with `escrow` as the recorded PaymentEscrowV2 and
 * `signer` (default: its CREDITS_ROLE holder) as the network's first account.
 */
export function inProcessChain(s: CreditsSetup | undefined, signer?: Signer): ImportChain {
  return {
    provider: async () => ethers.provider,
    signer: async () => signer ?? s?.creditor ?? (await ethers.getSigners())[0],
    recordedEscrow: async () => s?.escrowAddress,
  };
}

export const IMPORT_DEFAULTS: Omit<PlatformImportOptions, "from" | "input"> = {
  out: "",
  user: "",
  rate: "",
  priceFeed: "",
  maxAge: "",
  models: "",
  includeContent: false,
  store: "",
  apply: false,
  escrow: "",
  root: process.cwd(),
};

export interface LibRun {
  code: number;
  text: string;
  result?: PlatformImportResult;
}

/** Like the task: a refusal is exit code 1 and its message; anything else is a bug and throws. */
export async function importLib(
  options: Partial<PlatformImportOptions> & Pick<PlatformImportOptions, "from" | "input">,
  chain: ImportChain,
): Promise<LibRun> {
  try {
    const result = await runPlatformImport({ ...IMPORT_DEFAULTS, ...options }, chain);
    return { code: 0, text: platformImportLines(result).join("\n"), result };
  } catch (error) {
    if (error instanceof ImportError || error instanceof PlatformImportError) {
      return { code: 1, text: `Error: ${error.message}` };
    }
    throw error;
  }
}

/** Every file of a store (main, WAL, shm) by content hash; {} when there is none. */
export function storeFiles(file: string): Record<string, string> {
  if (!existsSync(path.dirname(file))) return {};
  const out: Record<string, string> = {};
  for (const name of readdirSync(path.dirname(file)).filter((f) => f.startsWith(path.basename(file)))) {
    out[name] = createHash("sha256")
      .update(readFileSync(path.join(path.dirname(file), name)))
      .digest("hex");
  }
  return out;
}

/** The chain's state a refusal must leave alone: block number, ETH pool, the user's bucket. */
export async function chainState(s: CreditsSetup, user: string) {
  return {
    block: await ethers.provider.getBlockNumber(),
    pool: await s.escrow.creditPool(ETH),
    credits: await s.escrow.liveCreditsOf(user, ETH),
  };
}
