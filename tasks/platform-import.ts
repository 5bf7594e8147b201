import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { CreditPlan } from "../lib/credits/types.js";
import { bundleText, writeBundle, type Conversion } from "../lib/platforms/bundle.js";
import { PlatformImportError } from "../lib/platforms/errors.js";
import { ImportError } from "../lib/platforms/importError.js";
import {
  applyToStore,
  buildBundle,
  parseExportBytes,
  parsePlatform,
  parseUser,
  type StoreApplyResult,
} from "../lib/platforms/importPlan.js";
import { loadModelMap } from "../lib/platforms/models.js";
import {
  DEFAULT_MAX_FEED_AGE_SECONDS,
  ethPerUsdOfFeed,
  parseMaxAge,
  readEthUsdFeed,
} from "../lib/platforms/priceFeed.js";
import { parseRate, type Rational } from "../lib/platforms/pricing.js";
import { storeRecordsOf } from "../lib/platforms/records.js";
import { importReport } from "../lib/platforms/report.js";
import { DEFAULT_STORE_PATH } from "../lib/store/database.js";
import { StoreError } from "../lib/store/errors.js";

interface PlatformImportArguments {
  from: string;
  input: string;
  out: string;
  user: string;
  rate: string;
  priceFeed: string;
  maxAge: string;
  models: string;
  includeContent: boolean;
  store: string;
  apply: boolean;
  json: boolean;
}

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

/**
 * HOOK POINT for the on-chain grant: with --apply, after the store write, the lead calls
 * helper C's `applyCreditPlan(escrow, plan)` here (PaymentEscrowV2's credit pool). Until then
 * nothing is sent and the task says so; no grant is pretended.
 */
async function grantCredits(plan: CreditPlan): Promise<string> {
  return `Credit grant ${plan.grantId}: not sent (the on-chain grant is not wired into platform:import yet)`;
}

export default async function platformImportAction(
  args: PlatformImportArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await refusing(() => run(args, hre));
}

async function run(args: PlatformImportArguments, hre: HardhatRuntimeEnvironment): Promise<void> {
  const root = hre.config.paths.root;
  // Every argument and file is checked before the chain is touched or anything is written.
  if (args.from === "") throw new ImportError("pass --from openai|huggingface|replicate");
  const platform = parsePlatform(args.from);
  if (args.input === "") throw new ImportError("pass --input <file> (the platform's export)");
  if (args.rate !== "" && args.priceFeed !== "") throw new ImportError("pass --rate or --price-feed, not both");
  if (args.rate === "" && args.priceFeed === "") {
    throw new ImportError(
      "pass --rate <ETH per USD> or --price-feed <ETH/USD feed address>: costs are converted to wei and there is no built-in ETH price",
    );
  }
  if (args.maxAge !== "" && args.priceFeed === "") throw new ImportError("--max-age applies to --price-feed only");
  const maxAge = args.maxAge === "" ? DEFAULT_MAX_FEED_AGE_SECONDS : parseMaxAge(args.maxAge);
  const rate = args.rate === "" ? undefined : parseRate(args.rate);
  const user = args.user === "" ? undefined : parseUser(args.user);
  const out = args.out === "" ? undefined : path.resolve(args.out);
  if (out !== undefined && !(existsSync(path.dirname(out)) && statSync(path.dirname(out)).isDirectory())) {
    throw new ImportError(`--out ${args.out}: the directory ${path.dirname(out)} does not exist`);
  }
  const map = loadModelMap(path.resolve(root, args.models === "" ? "models/map.json" : args.models));
  const input = path.resolve(args.input);
  let bytes: Buffer;
  try {
    bytes = readFileSync(input);
  } catch {
    throw new ImportError(`--input ${args.input}: cannot read the file`);
  }
  const jobs = parseExportBytes(platform, args.input, bytes, args.includeContent);

  // The chain only for what needs it: the default user and the price feed. Nothing is sent.
  let conversion: Conversion;
  let ethPerUsd: Rational;
  let account = user;
  if (account === undefined || rate === undefined) {
    const connection = await hre.network.create();
    try {
      if (account === undefined) {
        const [first] = await connection.ethers.getSigners();
        if (first === undefined) throw new ImportError(`network ${connection.networkName} has no account: pass --user`);
        account = parseUser(first.address);
      }
      if (rate === undefined) {
        const reading = await readEthUsdFeed(connection.ethers.provider, args.priceFeed, maxAge);
        conversion = { kind: "price-feed", ...reading };
        ethPerUsd = ethPerUsdOfFeed(reading);
      }
    } finally {
      await connection.close();
    }
  }
  if (rate !== undefined) {
    conversion = { kind: "rate", ethPerUsd: args.rate.trim() };
    ethPerUsd = rate;
  }
  const bundle = buildBundle({
    platform,
    file: args.input,
    bytes,
    jobs,
    map,
    user: account!,
    conversion: conversion!,
    ethPerUsd: ethPerUsd!,
    now: Math.floor(Date.now() / 1000),
  });
  const { records, leftOut } = storeRecordsOf(bundle, bundle.createdAt);

  let stored: (StoreApplyResult & { path: string }) | undefined;
  let grant: string | undefined;
  if (args.apply) {
    const storeFile = path.resolve(root, args.store === "" ? DEFAULT_STORE_PATH : args.store);
    stored = { ...applyToStore(storeFile, records, args.input), path: storeFile };
    grant = await grantCredits(bundle.credits);
  }
  if (out !== undefined) writeBundle(out, bundle);

  if (args.json) {
    console.log(
      JSON.stringify({ bundle: JSON.parse(bundleText(bundle)), leftOut, store: stored ?? null, grant: grant ?? null }),
    );
    return;
  }
  for (const line of importReport(bundle, leftOut)) console.log(line);
  if (out !== undefined) console.log(`Bundle written to ${path.relative(process.cwd(), out) || out}`);
  if (stored !== undefined) {
    console.log(
      `Store ${stored.path}: ${stored.inserted} job record(s) written${stored.created ? " (new store, created at the latest schema version)" : ""}`,
    );
    console.log(grant);
  } else {
    console.log("Nothing written to the store (pass --apply to write the jobs and grant the credits).");
  }
}
