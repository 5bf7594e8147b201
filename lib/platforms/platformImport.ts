/**
 * `platform:import` without Hardhat: options → export → bundle → (with `apply`) the credit grant on
 * PaymentEscrowV2, then the store. The task gives the options as typed and a lazy `ImportChain`.
 *
 * Order with `apply`: every check first, reading only (the export, the map, the price, the store's
 * version and ids, and for a plan above 0 wei the escrow: role, pool, finalized, paused, grant id);
 * then the grant; then the store, in one transaction; then `--out`. The grant goes first because it
 * is the step a re-run can recognise: its id names the import (user, platform, request ids), so a
 * process that dies after the grant and before the store write finds, when run again, the store
 * unwritten and the grant made, and completes without a second grant. The other order would leave
 * the jobs stored and no grant, and the re-run would be refused as already imported.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Contract, getAddress, isAddress, ZeroAddress, type Provider, type Signer } from "ethers";
import {
  applyCreditPlan,
  checkCreditPlan,
  connectCreditsEscrow,
  CreditsError,
  type CreditsEscrow,
} from "../credits/apply.js";
import type { CreditPlan } from "../credits/types.js";
import { DeploymentStore, type ProxyRecord } from "../deployments.js";
import { DEFAULT_STORE_PATH } from "../store/database.js";
import { bundleText, writeBundle, type Conversion, type ImportBundle } from "./bundle.js";
import { ImportError } from "./importError.js";
import {
  buildBundle,
  checkStore,
  parseExportBytes,
  parsePlatform,
  parseUser,
  writeStore,
  type StoreApplyResult,
} from "./importPlan.js";
import { loadModelMap } from "./models.js";
import {
  checkSequencerUp,
  DEFAULT_MAX_FEED_AGE_SECONDS,
  DEFAULT_SEQUENCER_GRACE_SECONDS,
  ethPerUsdOfFeed,
  missingSequencerFeed,
  parseMaxAge,
  parseSequencerGrace,
  readEthUsdFeed,
} from "./priceFeed.js";
import { parseRate, type Rational } from "./pricing.js";
import { storeRecordsOf, type LeftOut } from "./records.js";
import { importReport } from "./report.js";

/** The task's options as typed ("" = not given). */
export interface PlatformImportOptions {
  from: string;
  input: string;
  out: string;
  user: string;
  rate: string;
  priceFeed: string;
  maxAge: string;
  /** Chainlink's L2 sequencer uptime feed, checked before `priceFeed` ("" = none; required on Base). */
  sequencerFeed?: string;
  sequencerGrace?: string;
  models: string;
  includeContent: boolean;
  store: string;
  apply: boolean;
  escrow: string;
  json?: boolean;
  /** The project root: default paths (models/map.json, .fabstir/store.db) are relative to it. */
  root: string;
  /** Unix seconds of the import (default: the latest block's time with --apply, else now). */
  now?: number;
}

/** What the import needs from the network, asked for only when needed (the caller connects lazily). */
export interface ImportChain {
  provider(): Promise<Provider>;
  /** The network's first account: the default `--user` and the grant's signer. */
  signer(): Promise<Signer | undefined>;
  /** PaymentEscrowV2's proxy as recorded for this chain (`recordedEscrow`), if any. */
  recordedEscrow(): Promise<string | undefined>;
}

/** The V2 escrow in `deployments/<chainId>.json` under `dir` (undefined for throwaway chains). */
export async function recordedEscrow(chainId: number, dir: string | undefined): Promise<string | undefined> {
  if (dir === undefined) return undefined;
  const record = (await DeploymentStore.open(chainId, dir)).get("PaymentEscrowV2") as ProxyRecord | undefined;
  return record?.proxy;
}

/** What `--apply` did about the credits. */
export type CreditOutcome =
  | { status: "not-applied" }
  | { status: "nothing-priced" }
  | {
      status: "granted" | "already-granted";
      escrow: string;
      grantId: string;
      /** The grant on chain (for "already-granted", the earlier run's amount and expiry). */
      amountWei: string;
      expiresAt: number;
      txHash: string | null;
      blockNumber: number | null;
      /** `liveCreditsOf(user, ETH)` after the grant: the user's whole live bucket. */
      liveCreditsWei: string;
    };

export interface PlatformImportResult {
  bundle: ImportBundle;
  leftOut: LeftOut[];
  out: string | null;
  store: (StoreApplyResult & { path: string }) | null;
  credit: CreditOutcome;
}

/** Every refusal, thrown before anything is written, is an ImportError with a message saying what to do. */
function chainError<T>(promise: Promise<T>): Promise<T> {
  return promise.catch((error: unknown) => {
    if (error instanceof CreditsError) throw new ImportError(error.message);
    throw error;
  });
}

const GRANT_EVENT = [
  "event CreditsGranted(bytes32 indexed grantId, address indexed user, address indexed token, uint256 amount, uint64 expiresAt, uint256 bucketAmount, uint64 bucketExpiresAt)",
  "function liveCreditsOf(address user, address token) view returns (uint256)",
  "function creditsOf(address user, address token) view returns (tuple(uint192 amount, uint64 expiresAt))",
];

/**
 * The import's time, from which the credits' expiry counts: with --apply the latest block's, since
 * the escrow judges expiry by `block.timestamp` (on Base the two clocks agree; on a development
 * chain moved forward they do not, and a wall-clock expiry could already be past there).
 */
async function importTime(apply: boolean, chain: ImportChain): Promise<number> {
  if (apply) {
    const block = await (await chain.provider()).getBlock("latest");
    if (block !== null) return block.timestamp;
  }
  return Math.floor(Date.now() / 1000);
}

/** A user's ETH credits on `escrow` (`platform:history --escrow`): live now, and the bucket's expiry. */
export async function creditsOfUser(
  provider: Provider,
  escrow: string,
  user: string,
): Promise<{ escrow: string; liveWei: string; expiresAt: number }> {
  if (!isAddress(escrow)) throw new ImportError(`--escrow must be a 0x-prefixed 20-byte address (got "${escrow}")`);
  const address = getAddress(escrow);
  if ((await provider.getCode(address)) === "0x") {
    throw new ImportError(`--escrow ${address}: no contract at that address on this network; check --network`);
  }
  const reader = new Contract(address, GRANT_EVENT, provider);
  const live = (await reader.getFunction("liveCreditsOf")(user, ZeroAddress)) as bigint;
  const bucket = (await reader.getFunction("creditsOf")(user, ZeroAddress)) as { expiresAt: bigint };
  return { escrow: address, liveWei: live.toString(), expiresAt: Number(bucket.expiresAt) };
}

interface PreparedGrant {
  escrow: CreditsEscrow;
  address: string;
  plan: CreditPlan;
  state: "new" | "already-granted";
}

/**
 * The read-only half of the grant. A grant id already on chain for the same user and token is this
 * import's grant (the id names the import), even when its amount or expiry differ from this run's
 * plan (a run that died after granting, re-run later or at another rate): it is adopted, not refused,
 * so that the re-run completes the store write without a second grant.
 */
async function prepareGrant(options: PlatformImportOptions, chain: ImportChain, plan: CreditPlan) {
  let address = options.escrow === "" ? await chain.recordedEscrow() : options.escrow;
  if (address === undefined) {
    throw new ImportError(
      "no PaymentEscrowV2 is recorded for this network (deployments/<chainId>.json): pass --escrow <address>",
    );
  }
  address = getAddress(address);
  const provider = await chain.provider();
  if ((await provider.getCode(address)) === "0x") {
    throw new ImportError(`--escrow ${address}: no contract at that address on this network; check --network`);
  }
  const signer = await chain.signer();
  if (signer === undefined) throw new ImportError("the network has no account to send the grant from");
  const escrow = connectCreditsEscrow(address, signer);
  const onChain = await escrow.grantOf(plan.grantId);
  const adopted =
    onChain.user !== ZeroAddress && getAddress(onChain.user) === plan.user && getAddress(onChain.token) === plan.token
      ? { ...plan, amountWei: onChain.amount.toString(), expiresAt: Number(onChain.expiresAt) }
      : plan;
  const state = await chainError(checkCreditPlan(escrow, await signer.getAddress(), adopted));
  return { escrow, address, plan: adopted, state } satisfies PreparedGrant;
}

/** The grant (or the earlier one) with its transaction when the node can find it, and the live credits. */
async function grant(prepared: PreparedGrant, chain: ImportChain): Promise<CreditOutcome> {
  const { escrow, address, plan } = prepared;
  const result = await chainError(applyCreditPlan(escrow, plan));
  const provider = await chain.provider();
  const reader = new Contract(address, GRANT_EVENT, provider);
  let txHash = result.txHash ?? null;
  let blockNumber = result.blockNumber ?? null;
  if (result.status === "already-granted") {
    try {
      const [log] = await reader.queryFilter(reader.filters.CreditsGranted!(plan.grantId), 0, "latest");
      if (log !== undefined) ({ transactionHash: txHash, blockNumber } = log);
    } catch {
      // Many public nodes refuse a log search over the whole chain: the grant id identifies it.
    }
  }
  const live = (await reader.getFunction("liveCreditsOf")(plan.user, plan.token)) as bigint;
  return {
    status: result.status,
    escrow: address,
    grantId: plan.grantId,
    amountWei: plan.amountWei,
    expiresAt: plan.expiresAt,
    txHash,
    blockNumber,
    liveCreditsWei: live.toString(),
  };
}

export async function runPlatformImport(
  options: PlatformImportOptions,
  chain: ImportChain,
): Promise<PlatformImportResult> {
  // Every option and file is checked before the chain is touched or anything is written.
  if (options.from === "") throw new ImportError("pass --from openai|huggingface|replicate");
  const platform = parsePlatform(options.from);
  if (options.input === "") throw new ImportError("pass --input <file> (the platform's export)");
  if (options.rate !== "" && options.priceFeed !== "") throw new ImportError("pass --rate or --price-feed, not both");
  if (options.rate === "" && options.priceFeed === "") {
    throw new ImportError(
      "pass --rate <ETH per USD> or --price-feed <ETH/USD feed address>: costs are converted to wei and there is no built-in ETH price",
    );
  }
  if (options.maxAge !== "" && options.priceFeed === "") {
    throw new ImportError("--max-age applies to --price-feed only");
  }
  const maxAge = options.maxAge === "" ? DEFAULT_MAX_FEED_AGE_SECONDS : parseMaxAge(options.maxAge);
  const sequencerFeed = options.sequencerFeed ?? "";
  const sequencerGraceText = options.sequencerGrace ?? "";
  if (sequencerFeed !== "" && options.priceFeed === "") {
    throw new ImportError("--sequencer-feed applies to --price-feed only");
  }
  if (sequencerGraceText !== "" && sequencerFeed === "") {
    throw new ImportError("--sequencer-grace applies to --sequencer-feed only");
  }
  const sequencerGrace =
    sequencerGraceText === "" ? DEFAULT_SEQUENCER_GRACE_SECONDS : parseSequencerGrace(sequencerGraceText);
  const rate = options.rate === "" ? undefined : parseRate(options.rate);
  const user = options.user === "" ? undefined : parseUser(options.user);
  if (options.escrow !== "" && !options.apply) throw new ImportError("--escrow applies to --apply only");
  if (options.escrow !== "" && !isAddress(options.escrow)) {
    throw new ImportError(`--escrow must be a 0x-prefixed 20-byte address (got "${options.escrow}")`);
  }
  const out = options.out === "" ? undefined : path.resolve(options.out);
  if (out !== undefined && !(existsSync(path.dirname(out)) && statSync(path.dirname(out)).isDirectory())) {
    throw new ImportError(`--out ${options.out}: the directory ${path.dirname(out)} does not exist`);
  }
  const map = loadModelMap(path.resolve(options.root, options.models === "" ? "models/map.json" : options.models));
  let bytes: Buffer;
  try {
    bytes = readFileSync(path.resolve(options.input));
  } catch {
    throw new ImportError(`--input ${options.input}: cannot read the file`);
  }
  const jobs = parseExportBytes(platform, options.input, bytes, options.includeContent);

  let account = user;
  if (account === undefined) {
    const first = await chain.signer();
    if (first === undefined) throw new ImportError("the network has no account: pass --user");
    account = parseUser(await first.getAddress());
  }
  let conversion: Conversion;
  let ethPerUsd: Rational;
  if (rate !== undefined) {
    conversion = { kind: "rate", ethPerUsd: options.rate.trim() };
    ethPerUsd = rate;
  } else {
    const provider = await chain.provider();
    // On an L2 the sequencer is checked first: a feed's last answer is not trusted while it is down.
    let sequencer;
    if (sequencerFeed === "") {
      const refusal = missingSequencerFeed(Number((await provider.getNetwork()).chainId));
      if (refusal !== undefined) throw new ImportError(refusal);
    } else {
      sequencer = await checkSequencerUp(provider, sequencerFeed, sequencerGrace);
    }
    const reading = await readEthUsdFeed(provider, options.priceFeed, maxAge);
    conversion = { kind: "price-feed", ...reading, ...(sequencer === undefined ? {} : { sequencer }) };
    ethPerUsd = ethPerUsdOfFeed(reading);
  }
  const bundle = buildBundle({
    platform,
    file: options.input,
    bytes,
    jobs,
    map,
    user: account,
    conversion,
    ethPerUsd,
    now: options.now ?? (await importTime(options.apply, chain)),
  });
  const { records, leftOut } = storeRecordsOf(bundle, bundle.createdAt);

  let store: PlatformImportResult["store"] = null;
  let credit: CreditOutcome = { status: "not-applied" };
  if (options.apply) {
    const file = path.resolve(options.root, options.store === "" ? DEFAULT_STORE_PATH : options.store);
    const check = checkStore(file, records, options.input);
    const prepared = BigInt(bundle.credits.amountWei) > 0n ? await prepareGrant(options, chain, bundle.credits) : null;
    credit = prepared === null ? { status: "nothing-priced" } : await grant(prepared, chain);
    store = { ...writeStore(check, records, options.input), path: file };
  }
  if (out !== undefined) writeBundle(out, bundle);
  return { bundle, leftOut, out: out ?? null, store, credit };
}

/** `--json`: one object. */
export function platformImportJson(result: PlatformImportResult): string {
  return JSON.stringify({
    bundle: JSON.parse(bundleText(result.bundle)) as unknown,
    leftOut: result.leftOut,
    store: result.store,
    credit: result.credit,
  });
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

export function creditLine(credit: CreditOutcome): string {
  switch (credit.status) {
    case "not-applied":
      return "Nothing written to the store and nothing granted (pass --apply to grant the credits and write the jobs).";
    case "nothing-priced":
      return "No credit: nothing priced (a plan of 0 wei sends nothing).";
    default: {
      const where =
        credit.txHash === null ? `grant id ${credit.grantId}` : `tx ${credit.txHash}, block ${credit.blockNumber}`;
      const what = credit.status === "granted" ? `Granted ${credit.amountWei} wei in` : `Already granted in`;
      return (
        `${what} ${where} on PaymentEscrowV2 ${credit.escrow} (${credit.amountWei} wei, expires ${iso(credit.expiresAt)}); ` +
        `live credits of the user now ${credit.liveCreditsWei} wei`
      );
    }
  }
}

/** The text report. */
export function platformImportLines(result: PlatformImportResult, cwd = process.cwd()): string[] {
  const lines = importReport(result.bundle, result.leftOut);
  if (result.out !== null) lines.push(`Bundle written to ${path.relative(cwd, result.out) || result.out}`);
  if (result.credit.status !== "not-applied") lines.push(creditLine(result.credit));
  if (result.store !== null) {
    lines.push(
      `Store ${result.store.path}: ${result.store.inserted} job record(s) written${result.store.created ? " (new store, created at the latest schema version)" : ""}`,
    );
  }
  if (result.credit.status === "not-applied") lines.push(creditLine(result.credit));
  return lines;
}
