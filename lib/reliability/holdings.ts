import { Contract, ZeroAddress, type BlockTag, type Provider } from "ethers";
import {
  NodeRegistryV1__factory,
  NodeRegistryV2__factory,
  PaymentEscrowV1__factory,
  PaymentEscrowV2__factory,
} from "../../typechain-types/index.js";
import type { V1State } from "../v1State.js";
import type { Holdings } from "./outcome.js";

/**
 * What every account and contract holds across both generations, read from the chain: the
 * "wei" side of lib/reliability/outcome.ts. Accounts are V1's (its nodes' operators, its
 * depositors); a node's stake is V1's `getNode(op).stake` plus V2's, a balance V1's `balanceOf`
 * plus V2's. Custody is what the four contracts hold of each token (ETH as the zero address).
 */

export interface HoldingContracts {
  provider: Provider;
  v1Registry: string;
  v1Escrow: string;
  v2Registry: string;
  v2Escrow: string;
}

const ERC20_ABI = ["function balanceOf(address) view returns (uint256)"];

export function nodeKey(operator: string): string {
  return `node:${operator.toLowerCase()}`;
}

export function depositKey(user: string, token: string): string {
  return `deposit:${user.toLowerCase()}:${token.toLowerCase()}`;
}

/** The tokens the state involves: ETH and every token V1's escrow lists. */
function tokensOf(v1: V1State): string[] {
  return [...new Set([ZeroAddress, ...v1.deposits.tokens].map((t) => t.toLowerCase()))];
}

async function custody(
  c: HoldingContracts,
  tokens: readonly string[],
  blockTag: BlockTag,
): Promise<Map<string, bigint>> {
  const holders = [c.v1Registry, c.v1Escrow, c.v2Registry, c.v2Escrow];
  const out = new Map<string, bigint>();
  for (const token of tokens) {
    let sum = 0n;
    for (const holder of holders) {
      sum +=
        token === ZeroAddress
          ? await c.provider.getBalance(holder, blockTag)
          : ((await new Contract(token, ERC20_ABI, c.provider).getFunction("balanceOf")(holder, {
              blockTag,
            })) as bigint);
    }
    out.set(token, sum);
  }
  return out;
}

/** Before the migration: the accounts as V1's pinned state lists them, custody at its block. */
export async function holdingsBefore(c: HoldingContracts, v1: V1State): Promise<Holdings> {
  const accounts = new Map<string, bigint>();
  for (const node of v1.nodes.records) accounts.set(nodeKey(node.operator), node.stake);
  for (const d of v1.deposits.records) accounts.set(depositKey(d.user, d.token), d.amount);
  return { accounts, custody: await custody(c, tokensOf(v1), v1.blockNumber) };
}

/** After: the same accounts, each read from both generations at `blockTag`. */
export async function holdingsAfter(
  c: HoldingContracts,
  v1: V1State,
  blockTag: BlockTag = "latest",
): Promise<Holdings> {
  const v1Registry = NodeRegistryV1__factory.connect(c.v1Registry, c.provider);
  const v2Registry = NodeRegistryV2__factory.connect(c.v2Registry, c.provider);
  const v1Escrow = PaymentEscrowV1__factory.connect(c.v1Escrow, c.provider);
  const v2Escrow = PaymentEscrowV2__factory.connect(c.v2Escrow, c.provider);
  const accounts = new Map<string, bigint>();
  for (const node of v1.nodes.records) {
    const [old, migrated] = await Promise.all([
      v1Registry.getNode(node.operator, { blockTag }),
      v2Registry.getNode(node.operator, { blockTag }),
    ]);
    accounts.set(nodeKey(node.operator), old.stake + migrated.stake);
  }
  for (const d of v1.deposits.records) {
    const [old, migrated] = await Promise.all([
      v1Escrow.balanceOf(d.user, d.token, { blockTag }),
      v2Escrow.balanceOf(d.user, d.token, { blockTag }),
    ]);
    accounts.set(depositKey(d.user, d.token), old + migrated);
  }
  return { accounts, custody: await custody(c, tokensOf(v1), blockTag) };
}
