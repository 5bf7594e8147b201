import { Interface, ZeroAddress, getAddress, type Log, type Provider } from "ethers";
import { contractInterface } from "../abis.js";
import type { CheckResult } from "../simulation.js";
import type { ProposalFile } from "../types.js";
import { label, type Known } from "./chain.js";

/**
 * ETH and token balances of every contract the execution touched (the proposal's targets, the
 * timelock, everything its Transfer logs name) and of the record's contracts, before and after.
 * Funds may move between the record's contracts and the timelock, never out of them, unless a
 * `custom` proposal says so in its calls (a call with value, or an ERC-20 `transfer`, to an
 * outside account).
 */

const ERC20 = new Interface([
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "function balanceOf(address account) view returns (uint256)",
  "function transfer(address to, uint256 amount) returns (bool)",
]);
const TRANSFER = ERC20.getEvent("Transfer")!.topicHash;

/** One holder's change in one asset. */
export interface BalanceChange {
  holder: string;
  asset: string;
  before: string;
  after: string;
  delta: string;
}

/** The assets to follow: ETH and every token of V1's and V2's escrow lists (read at either block). */
export async function assetsOf(provider: Provider, known: Known, blocks: readonly number[]): Promise<string[]> {
  const assets = new Set<string>([ZeroAddress]);
  const escrow = contractInterface("PaymentEscrowV1")!;
  for (const name of ["PaymentEscrowV1", "PaymentEscrowV2"]) {
    const address = known.contracts.find((contract) => contract.name === name)?.address;
    if (address === undefined) continue;
    for (const block of blocks) {
      try {
        const data = await provider.call({ to: address, data: escrow.encodeFunctionData("tokens"), blockTag: block });
        for (const token of escrow.decodeFunctionResult("tokens", data)[0] as string[]) assets.add(getAddress(token));
      } catch {
        // A contract that does not answer tokens() (an adapter forwards it; an unknown contract may not) adds none.
      }
    }
  }
  return [...assets];
}

async function balanceOf(provider: Provider, asset: string, holder: string, block: number): Promise<bigint> {
  if (asset === ZeroAddress) return provider.getBalance(holder, block);
  const data = await provider.call({
    to: asset,
    data: ERC20.encodeFunctionData("balanceOf", [holder]),
    blockTag: block,
  });
  return ERC20.decodeFunctionResult("balanceOf", data)[0] as bigint;
}

/** What a `custom` proposal declares it sends out of our contracts, per asset. */
export function declaredOutflows(proposal: ProposalFile, ours: ReadonlySet<string>, assets: readonly string[]) {
  const outflows = new Map<string, bigint>();
  const add = (asset: string, amount: bigint) => outflows.set(asset, (outflows.get(asset) ?? 0n) + amount);
  if (proposal.action !== "custom") return outflows;
  for (const call of proposal.calls) {
    const target = getAddress(call.target);
    if (BigInt(call.value) > 0n && !ours.has(target)) add(ZeroAddress, BigInt(call.value));
    if (!assets.includes(target) || !call.data.startsWith(ERC20.getFunction("transfer")!.selector)) continue;
    const [to, amount] = ERC20.decodeFunctionData("transfer", call.data);
    if (!ours.has(getAddress(to as string))) add(target, amount as bigint);
  }
  return outflows;
}

export async function checkBalances(
  provider: Provider,
  proposal: ProposalFile,
  known: Known,
  logs: readonly Log[],
  beforeBlock: number,
  afterBlock: number,
): Promise<CheckResult> {
  const timelock = getAddress(proposal.timelock);
  const ours = new Set([...known.contracts.map((contract) => contract.address), timelock]);
  const touched = new Set([...proposal.targets.map((target) => getAddress(target)), timelock]);
  for (const log of logs) {
    if (log.topics[0] !== TRANSFER || log.topics.length !== 3) continue;
    for (const topic of log.topics.slice(1)) touched.add(getAddress(`0x${topic.slice(-40)}`));
  }
  const holders = [...new Set([...ours, ...touched])].sort();
  const assets = await assetsOf(provider, known, [beforeBlock, afterBlock]);
  const assetName = (asset: string) => (asset === ZeroAddress ? "ETH" : label(known, asset));

  const changes: BalanceChange[] = [];
  const totals = new Map<string, bigint>(assets.map((asset) => [asset, 0n]));
  for (const asset of assets) {
    for (const holder of holders) {
      const before = await balanceOf(provider, asset, holder, beforeBlock);
      const after = await balanceOf(provider, asset, holder, afterBlock);
      if (before === after) continue;
      changes.push({
        holder: label(known, holder),
        asset: assetName(asset),
        before: before.toString(),
        after: after.toString(),
        delta: (after - before).toString(),
      });
      if (ours.has(holder)) totals.set(asset, totals.get(asset)! + after - before);
    }
  }

  const details = changes.map(
    (change) =>
      `${change.holder}: ${change.asset} ${change.before} → ${change.after} (${change.delta.startsWith("-") ? "" : "+"}${change.delta}).`,
  );
  if (changes.length === 0) {
    details.push(`No balance changed (${holders.length} accounts, ${assets.map(assetName).join(", ")}).`);
  }
  const outflows = declaredOutflows(proposal, ours, assets);
  let failed = false;
  for (const asset of assets) {
    const total = totals.get(asset)!;
    const declared = outflows.get(asset) ?? 0n;
    if (total === -declared) {
      if (declared > 0n)
        details.push(`Expected outflow: ${declared} ${assetName(asset)}, as the proposal's calls say.`);
      continue;
    }
    failed = true;
    details.push(
      `Our contracts and the timelock together ${total < 0n ? "lost" : "gained"} ${total < 0n ? -total : total} ` +
        `${assetName(asset)}` +
        (declared > 0n
          ? `, but the proposal's calls send out ${declared}.`
          : `: funds must not leave them unless a custom proposal's calls send them.`),
    );
  }
  return {
    id: "balances",
    title: "Balances",
    status: failed ? "fail" : "pass",
    details,
    data: {
      changes,
      outflows: Object.fromEntries([...outflows].map(([asset, amount]) => [assetName(asset), amount.toString()])),
    },
  };
}
