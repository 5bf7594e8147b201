import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { ZeroAddress, parseEther } from "ethers";
import { cutOverToAdapters, type AdapterStack } from "../../deploy/cutover.js";
import type { V1_1Stack } from "../../deploy/v1-1.js";
import type { V2Stack } from "../../deploy/v2.js";
import { nodeRecordFromV1 } from "../../lib/commitment.js";
import { v1Stack, type V1Fixture } from "../helpers/fixtures.js";
import { openMigration } from "../helpers/migrationStack.js";

export const MODEL = "llama-3-8b";
export const OTHER_MODEL = "mistral-7b";
export const STAKE = parseEther("1");
export const ETH = ZeroAddress;

export interface AdapterFixture extends V1Fixture {
  v2: V2Stack;
  v1_1: V1_1Stack;
  adapters: AdapterStack;
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  /** Registered in V1 (model MODEL), migrated with its stake. */
  host: HardhatEthersSigner;
  /** Held 2 ETH and 1,000 USDC in V1's escrow, migrated. */
  renter: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  ctx: Parameters<typeof cutOverToAdapters>[0];
}

/**
 * A small V1 (one node, one renter with ETH and USDC), migrated to V2 through V1.1 and
 * finalized, then cut over: the V1 proxies run their adapters. Signer 0 administers everything.
 */
export async function adapterStack(): Promise<AdapterFixture> {
  const v1 = await v1Stack();
  const [admin, treasury, host, renter, stranger] = v1.signers;
  if (stranger === undefined) throw new Error("the test chain needs five accounts");
  await (await v1.registry.connect(host!).registerNode("peer-host", [MODEL], "eu-west", { value: STAKE })).wait();
  await (await v1.usdc.mint(renter!.address, 10_000_000_000n)).wait();
  await (await v1.usdc.connect(renter!).approve(await v1.escrow.getAddress(), 1_000_000_000n)).wait();
  await (await v1.escrow.connect(renter!).deposit(await v1.usdc.getAddress(), 1_000_000_000n)).wait();
  await (await v1.escrow.connect(renter!).deposit(ETH, parseEther("2"), { value: parseEther("2") })).wait();

  const { fixture, ctx } = await openMigration(v1);
  const { v2, v1_1 } = fixture;
  await (await v2.registry.registerModels([MODEL])).wait();
  const [node, reputations] = await v1_1.registry.getNodesPage(0, 1);
  await (await v1_1.registry.migrateNodes(0, [nodeRecordFromV1(node[0]!, reputations[0]!)])).wait();
  await (await v1_1.escrow.migrateDeposits(0, await v1.escrow.userCount())).wait();

  await (
    await v2.registry.finalizeMigration(
      await v2.registry.migrationCommitment(),
      await v2.registry.migratedCount(),
      [ETH],
      [await v2.registry.totalStaked()],
    )
  ).wait();
  const tokens = [...(await v2.escrow.tokens())];
  const funds = [];
  for (const token of tokens) funds.push((await v2.escrow.totalFree(token)) + (await v2.escrow.totalLocked(token)));
  await (
    await v2.escrow.finalizeMigration(
      await v2.escrow.migrationCommitment(),
      await v2.escrow.migratedCount(),
      tokens,
      funds,
    )
  ).wait();
  await (
    await v2.marketplace.finalizeMigration(
      await v2.marketplace.migrationCommitment(),
      await v2.marketplace.migratedCount(),
      [],
      [],
    )
  ).wait();

  const adapters = await cutOverToAdapters(ctx, v1, v2);
  return { ...v1, v2, v1_1, adapters, admin: admin!, treasury: treasury!, host: host!, renter: renter!, stranger, ctx };
}
