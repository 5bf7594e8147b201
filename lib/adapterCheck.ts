import {
  ZeroAddress,
  getAddress,
  id,
  type Interface,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import {
  depositLeaf,
  jobLeaf,
  jobRecordFromV1,
  nodeLeaf,
  nodeRecordFromV1,
  type DepositRecord,
  type JobRecord,
  type NodeRecord,
} from "./commitment.js";
import {
  MULTICALL3_ADDRESS,
  aggregate3,
  call3,
  callEach,
  describeRevert,
  errorMessage,
  type Call3,
  type Call3Result,
} from "./multicall.js";
import type { AdapterCheckSummary } from "./migration/summary.js";
import { setBalance, type RpcProvider } from "./transactions.js";
import {
  IJobMarketplaceV1__factory,
  INodeRegistryV1__factory,
  IPaymentEscrowV1__factory,
} from "../typechain-types/index.js";

/**
 * What a V1 integrator sees once the V1 proxies run their adapters (deploy/cutover.ts): V1's
 * records read back through the V1 addresses with V1's ABI and compared with V1's snapshot, and
 * one job posted, claimed and completed with V1's ABI. Only V1's interfaces are used, never V2's,
 * so this checks what a V1 caller depends on. No Hardhat: a provider and signers are enough.
 */

/** The V1 proxy addresses (after the cut-over, the adapters). */
export interface V1Addresses {
  registry: string;
  marketplace: string;
  escrow: string;
}

/** V1's records as the snapshot holds them (lib/snapshot.ts `LoadedSnapshot.state`, or `V1State`). */
export interface V1Records {
  nodes: readonly NodeRecord[];
  jobs: readonly JobRecord[];
  deposits: readonly DepositRecord[];
}

/** One record the V1 addresses do not answer as the snapshot holds it. */
export interface ReadBackMismatch {
  kind: "node" | "job" | "balance";
  /** The node's operator, the job id, or `user/token`. */
  key: string;
  /** The record fields that differ (empty when the answer could not be read as a record at all). */
  fields: string[];
  message: string;
}

export interface ReadBackResult {
  /** Records read back (identical or not). */
  nodes: number;
  jobs: number;
  balances: number;
  mismatches: ReadBackMismatch[];
  /** `eth_call`s made. */
  calls: number;
}

export interface ReadBackOptions {
  /** Read through Multicall3 (default: when it has code on the chain). */
  multicall?: boolean;
  /** Calls per round trip through Multicall3 (default 200). */
  chunkSize?: number;
}

/** A V1 call through the adapters did not do what V1 does. */
export class AdapterCheckError extends Error {
  override name = "AdapterCheckError";
}

const registryV1 = INodeRegistryV1__factory.createInterface();
const marketplaceV1 = IJobMarketplaceV1__factory.createInterface();
const escrowV1 = IPaymentEscrowV1__factory.createInterface();
const ETH = ZeroAddress;
/** `IJobMarketplaceV1.JobStatus.Completed`. */
const COMPLETED = 3n;

// ------------------------------------------------------------------ read-back

/** A record field as text, for comparing (addresses and hex compare case-insensitively). */
function fieldText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(fieldText).join(", ")}]`;
  if (typeof value === "string") return value.toLowerCase();
  return String(value);
}

/** A field's text for a message: long values (a node's model ids) are cut. */
function shown(text: string): string {
  return text.length > 70 ? `${text.slice(0, 69)}…` : text;
}

/** The fields of `actual` that differ from `expected`, each as `name: expected → actual`. */
function differences(expected: object, actual: object): { fields: string[]; details: string[] } {
  const fields: string[] = [];
  const details: string[] = [];
  for (const [name, want] of Object.entries(expected)) {
    const got = (actual as Record<string, unknown>)[name];
    if (fieldText(want) === fieldText(got)) continue;
    fields.push(name);
    details.push(`${name}: ${shown(fieldText(want))} → ${shown(fieldText(got))}`);
  }
  return { fields, details };
}

/** ethers' short message for a failed call or transaction (its full message repeats the request). */
function errorText(error: unknown): string {
  return errorMessage(error);
}

/**
 * Reads every snapshot record back through the V1 addresses with V1's views (`getNode` and
 * `reputationOf` per node, `getJob` per job, `balanceOf` per user and token) and compares each
 * with its record: nodes and jobs are rebuilt with the V1 converters of lib/commitment.ts and
 * compared by leaf, balances by amount. Every difference is returned (none are thrown), each
 * naming the record and the fields that differ.
 */
export async function readBackThroughV1(
  provider: Provider,
  addresses: V1Addresses,
  records: V1Records,
  options: ReadBackOptions = {},
): Promise<ReadBackResult> {
  const calls: Call3[] = [];
  for (const node of records.nodes) {
    calls.push(call3(registryV1, addresses.registry, "getNode", [node.operator], true));
    calls.push(call3(registryV1, addresses.registry, "reputationOf", [node.operator], true));
  }
  for (const job of records.jobs) calls.push(call3(marketplaceV1, addresses.marketplace, "getJob", [job.jobId], true));
  for (const deposit of records.deposits) {
    calls.push(call3(escrowV1, addresses.escrow, "balanceOf", [deposit.user, deposit.token], true));
  }
  const multicall = options.multicall ?? (await provider.getCode(MULTICALL3_ADDRESS)) !== "0x";
  let roundTrips = 0;
  const count = { onRoundTrip: () => void roundTrips++ };
  const results = multicall
    ? await aggregate3(provider, calls, {
        ...count,
        ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
      })
    : await callEach(provider, calls, count);

  const mismatches: ReadBackMismatch[] = [];
  let at = 0;
  const next = (): Call3Result => results[at++]!;
  /** The decoded result, or a mismatch for a call that reverted. */
  const decode = (iface: Interface, fn: string, result: Call3Result, kind: ReadBackMismatch["kind"], key: string) => {
    if (result.success) return iface.decodeFunctionResult(fn, result.returnData);
    mismatches.push({
      kind,
      key,
      fields: [],
      message: `${kind} ${key}: ${fn} ${describeRevert(result.returnData, iface)}`,
    });
    return undefined;
  };
  /** Compares by leaf; a difference names the fields, a value that is no record names why. */
  const compare = <R extends object>(
    kind: ReadBackMismatch["kind"],
    key: string,
    expected: R,
    build: () => R,
    leaf: (r: R) => string,
  ) => {
    let actual: R;
    try {
      actual = build();
    } catch (error) {
      mismatches.push({
        kind,
        key,
        fields: [],
        message: `${kind} ${key}: the V1 answer is not a record: ${errorText(error)}`,
      });
      return;
    }
    if (leaf(actual) === leaf(expected)) return;
    const { fields, details } = differences(expected, actual);
    mismatches.push({ kind, key, fields, message: `${kind} ${key} differs from the snapshot (${details.join("; ")})` });
  };

  for (const node of records.nodes) {
    const key = node.operator;
    const answer = decode(registryV1, "getNode", next(), "node", key);
    const reputation = decode(registryV1, "reputationOf", next(), "node", key);
    if (answer === undefined || reputation === undefined) continue;
    compare("node", key, node, () => nodeRecordFromV1(answer[0], reputation[0] as bigint), nodeLeaf);
  }
  for (const job of records.jobs) {
    const key = job.jobId.toString();
    const answer = decode(marketplaceV1, "getJob", next(), "job", key);
    if (answer === undefined) continue;
    compare("job", key, job, () => jobRecordFromV1(answer[0], job.jobId), jobLeaf);
  }
  for (const deposit of records.deposits) {
    const key = `${deposit.user}/${deposit.token}`;
    const answer = decode(escrowV1, "balanceOf", next(), "balance", key);
    if (answer === undefined) continue;
    compare("balance", key, deposit, () => ({ ...deposit, amount: answer[0] as bigint }), depositLeaf);
  }
  return {
    nodes: records.nodes.length,
    jobs: records.jobs.length,
    balances: records.deposits.length,
    mismatches,
    calls: roundTrips,
  };
}

// ------------------------------------------------------------------ round trip

/** Adds ETH to an account: on a development chain with `hardhat_setBalance`, as the seed funds its accounts. */
export type Funder = (address: string, wei: bigint) => Promise<void>;

/** A `Funder` for development chains: raises the balance by `wei` (in-process Hardhat, anvil). */
export function devChainFunder(provider: RpcProvider): Funder {
  return async (address, wei) => setBalance(provider, address, (await provider.getBalance(address)) + wei);
}

export interface RoundTripOptions {
  /** The job's price (wei, paid in ETH). Default 0.01 ETH. */
  price?: bigint;
  /** Gives the renter the price and both accounts gas money before they act. */
  fund?: Funder;
  /** One line per transaction sent. */
  log?: (line: string) => void;
}

/** What the round trip did, every figure read through V1's ABI. */
export interface RoundTripResult {
  jobId: bigint;
  renter: string;
  host: string;
  model: string;
  price: bigint;
  feeBps: bigint;
  /** What the host's escrow balance grew by: `price - price * feeBps / 10000`. */
  hostCredit: bigint;
  hostBalanceBefore: bigint;
  hostBalanceAfter: bigint;
}

const DEFAULT_PRICE = 10n ** 16n;
/** ETH for each account's gas on top of what it deposits. */
const GAS_MONEY = 10n ** 17n;
const DAY = 86_400n;

/**
 * One job through the V1 addresses with V1's ABI, as a V1 integrator's code does it: the renter
 * deposits ETH into the V1 escrow and posts a job with a model name to the V1 marketplace; the
 * first of `hosts` that is an active node serving a model (V1's `isActiveNode`, `getNode`) takes
 * it with V1's `claimJob(id)` and `completeJob(id, hash)`. Checks what V1 promises: the job id
 * from V1's `JobPosted`, the job completed for that host (`getJob`), the renter's free balance
 * back where it was (its deposit is the lock), and the host's `balanceOf` grown by the price less
 * the fee. Any difference throws `AdapterCheckError`.
 */
export async function roundTripThroughV1(
  addresses: V1Addresses,
  renter: Signer,
  hosts: readonly Signer[],
  options: RoundTripOptions = {},
): Promise<RoundTripResult> {
  const provider = renter.provider;
  if (provider === null) throw new AdapterCheckError("The renter's signer has no provider.");
  const log = options.log ?? (() => {});
  const price = options.price ?? DEFAULT_PRICE;
  const registry = INodeRegistryV1__factory.connect(addresses.registry, provider);
  const escrow = IPaymentEscrowV1__factory.connect(addresses.escrow, renter);
  const marketplace = IJobMarketplaceV1__factory.connect(addresses.marketplace, renter);

  let host: Signer | undefined;
  let model = "";
  for (const candidate of hosts) {
    const address = await candidate.getAddress();
    if (!(await registry.isActiveNode(address))) continue;
    const models = (await registry.getNode(address)).models;
    if (models.length === 0) continue;
    host = candidate;
    model = models[0]!;
    break;
  }
  if (host === undefined) throw new AdapterCheckError("No host among those given is an active node serving a model.");
  const hostAddress = getAddress(await host.getAddress());
  const renterAddress = getAddress(await renter.getAddress());
  if (options.fund !== undefined) {
    await options.fund(renterAddress, price + GAS_MONEY);
    await options.fund(hostAddress, GAS_MONEY);
  }

  const feeBps = await escrow.feeBps();
  const hostBalanceBefore = await escrow.balanceOf(hostAddress, ETH);
  const renterBalanceBefore = await escrow.balanceOf(renterAddress, ETH);
  const sent = async (what: string, tx: Promise<{ hash: string; wait(): Promise<TransactionReceipt | null> }>) => {
    const receipt = await (await tx).wait();
    if (receipt === null) throw new AdapterCheckError(`${what}: the transaction was dropped.`);
    log(`${what} (tx ${receipt.hash}, ${receipt.gasUsed} gas)`);
    return receipt;
  };

  await sent(
    `renter ${renterAddress} deposited ${price} wei through the V1 escrow`,
    escrow.deposit(ETH, price, { value: price }),
  );
  const latest = await provider.getBlock("latest");
  if (latest === null) throw new AdapterCheckError("The node returned no latest block.");
  const deadline = BigInt(latest.timestamp) + DAY;
  const inputHash = id(`fabstir demo: a job for ${model}`);
  const posted = await sent(
    `renter posted a job for "${model}" through the V1 marketplace`,
    marketplace.postJob(model, inputHash, price, deadline, ETH),
  );
  const event = posted.logs
    .filter((entry) => entry.address.toLowerCase() === addresses.marketplace.toLowerCase())
    .map((entry) => marketplaceV1.parseLog(entry))
    .find((parsed) => parsed?.name === "JobPosted");
  if (event === undefined || event === null) {
    throw new AdapterCheckError(`postJob (tx ${posted.hash}) emitted no V1 JobPosted from the V1 marketplace.`);
  }
  const jobId = event.args.jobId as bigint;
  if (getAddress(event.args.renter as string) !== renterAddress) {
    throw new AdapterCheckError(`JobPosted names renter ${event.args.renter}, not ${renterAddress}.`);
  }
  const asHost = marketplace.connect(host);
  await sent(`host ${hostAddress} claimed job ${jobId} with V1's claimJob`, asHost.claimJob(jobId));
  const resultHash = id(`fabstir demo: the result of job ${jobId}`);
  await sent(`host completed job ${jobId} with V1's completeJob`, asHost.completeJob(jobId, resultHash));

  const job = await marketplace.getJob(jobId);
  const problems: string[] = [];
  if (job.status !== COMPLETED) problems.push(`getJob(${jobId}).status is ${job.status}, not Completed (${COMPLETED})`);
  if (getAddress(job.assignedHost) !== hostAddress)
    problems.push(`getJob(${jobId}).assignedHost is ${job.assignedHost}`);
  if (job.resultHash !== resultHash) problems.push(`getJob(${jobId}).resultHash is ${job.resultHash}`);
  if (job.maxPrice !== price || job.modelId !== model || job.paymentToken !== ETH) {
    problems.push(`getJob(${jobId}) is (${job.maxPrice}, "${job.modelId}", ${job.paymentToken}), not what was posted`);
  }
  const renterBalanceAfter = await escrow.balanceOf(renterAddress, ETH);
  if (renterBalanceAfter !== renterBalanceBefore) {
    problems.push(
      `the renter's balance went from ${renterBalanceBefore} to ${renterBalanceAfter} (the deposit is the lock)`,
    );
  }
  const hostBalanceAfter = await escrow.balanceOf(hostAddress, ETH);
  const hostCredit = price - (price * feeBps) / 10_000n;
  if (hostBalanceAfter - hostBalanceBefore !== hostCredit) {
    problems.push(
      `the host's balance grew by ${hostBalanceAfter - hostBalanceBefore}, not by the price less the fee (${hostCredit})`,
    );
  }
  if (problems.length > 0)
    throw new AdapterCheckError(`The V1 round trip through the adapters: ${problems.join("; ")}.`);
  return {
    jobId,
    renter: renterAddress,
    host: hostAddress,
    model,
    price,
    feeBps,
    hostCredit,
    hostBalanceBefore,
    hostBalanceAfter,
  };
}

// ------------------------------------------------------------------ both, as the run summary reports them

/** Differences listed in the summary; the rest are counted. */
export const MAX_FINDINGS = 10;

export interface V1ApiCheckOptions extends ReadBackOptions, RoundTripOptions {
  /** Who posts the job. */
  renter: Signer;
  /** Candidate hosts, in order of preference (seeded node operators). */
  hosts: readonly Signer[];
}

/**
 * The read-back, then the round trip (run even when the read-back found differences, so that the
 * summary says both), as the run summary's `adapters` entry. Nothing is thrown for a difference or
 * a failed round trip: `passed` is false and `findings` say why. The caller fails loudly.
 */
export async function checkV1Api(
  provider: Provider,
  addresses: V1Addresses,
  records: V1Records,
  options: V1ApiCheckOptions,
): Promise<AdapterCheckSummary> {
  const { renter, hosts, multicall, chunkSize, ...roundTripOptions } = options;
  const readBack = await readBackThroughV1(provider, addresses, records, {
    ...(multicall === undefined ? {} : { multicall }),
    ...(chunkSize === undefined ? {} : { chunkSize }),
  });
  const findings = readBack.mismatches.slice(0, MAX_FINDINGS).map((mismatch) => mismatch.message);
  if (readBack.mismatches.length > MAX_FINDINGS) {
    findings.push(`… and ${readBack.mismatches.length - MAX_FINDINGS} more records differ`);
  }
  let roundTrip: RoundTripResult | undefined;
  try {
    roundTrip = await roundTripThroughV1(addresses, renter, hosts, roundTripOptions);
  } catch (error) {
    findings.push(`the round trip through V1's ABI failed: ${errorText(error)}`);
  }
  return {
    nodes: readBack.nodes,
    jobs: readBack.jobs,
    balances: readBack.balances,
    mismatches: readBack.mismatches.length,
    findings,
    roundTrip:
      roundTrip === undefined
        ? null
        : {
            jobId: roundTrip.jobId.toString(),
            model: roundTrip.model,
            renter: roundTrip.renter,
            host: roundTrip.host,
            price: roundTrip.price.toString(),
            feeBps: roundTrip.feeBps.toString(),
            hostCredit: roundTrip.hostCredit.toString(),
          },
    passed: readBack.mismatches.length === 0 && roundTrip !== undefined,
  };
}
