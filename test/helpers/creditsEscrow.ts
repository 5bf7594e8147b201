import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import type { PaymentEscrowV2, TestUSDC } from "../../typechain-types/index.js";
import { ethers, upgradesApi } from "./fixtures.js";

export const ETH = ethers.ZeroAddress;
export const FEE_BPS = 250n;

/** A finalized PaymentEscrowV2 with CREDITS_ROLE and MARKETPLACE_ROLE granted and USDC allowed. */
export interface CreditsSetup {
  escrow: PaymentEscrowV2;
  escrowAddress: string;
  usdc: TestUSDC;
  usdcAddress: string;
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  /** Held MIGRATOR_ROLE until finalize. */
  migrator: HardhatEthersSigner;
  /** Holds CREDITS_ROLE. */
  creditor: HardhatEthersSigner;
  /** Holds MARKETPLACE_ROLE. */
  market: HardhatEthersSigner;
  /** Funds the pool. */
  sponsor: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  host: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  creditsRole: string;
}

/** Deploys V2 behind a UUPS proxy and finalizes an empty migration (no V1 balances needed here). */
export async function openCreditsEscrow(): Promise<CreditsSetup> {
  const [admin, treasury, migrator, creditor, market, sponsor, alice, host, stranger] = await ethers.getSigners();
  if (!admin || !treasury || !migrator || !creditor || !market || !sponsor || !alice || !host || !stranger) {
    throw new Error("the test chain needs at least nine accounts");
  }
  const usdc = await ethers.deployContract("TestUSDC");
  const escrow = (await upgradesApi.deployProxy(
    await ethers.getContractFactory("PaymentEscrowV2"),
    [admin.address, migrator.address, treasury.address, FEE_BPS],
    { kind: "uups", initializer: "initialize" },
  )) as unknown as PaymentEscrowV2;
  await escrow.waitForDeployment();
  const usdcAddress = await usdc.getAddress();
  await (await escrow.connect(admin).setTokenAllowed(usdcAddress, true)).wait();
  const creditsRole = await escrow.CREDITS_ROLE();
  await (await escrow.connect(admin).grantRole(creditsRole, creditor.address)).wait();
  await (await escrow.connect(admin).grantRole(await escrow.MARKETPLACE_ROLE(), market.address)).wait();
  await (await escrow.connect(migrator).finalizeMigration(ethers.ZeroHash, 0n, [ETH, usdcAddress], [0n, 0n])).wait();
  return {
    escrow,
    escrowAddress: await escrow.getAddress(),
    usdc,
    usdcAddress,
    admin,
    treasury,
    migrator,
    creditor,
    market,
    sponsor,
    alice,
    host,
    stranger,
    creditsRole,
  };
}

/** Mints `amount` USDC to `from` and approves the escrow for it. */
export async function mintAndApprove(s: CreditsSetup, from: HardhatEthersSigner, amount: bigint): Promise<void> {
  await (await s.usdc.mint(from.address, amount)).wait();
  await (await s.usdc.connect(from).approve(s.escrowAddress, amount)).wait();
}

/** The sponsor funds the USDC pool with `amount`. */
export async function fundUsdcPool(s: CreditsSetup, amount: bigint): Promise<void> {
  await mintAndApprove(s, s.sponsor, amount);
  await (await s.escrow.connect(s.sponsor).fundCreditPool(s.usdcAddress, amount)).wait();
}

/** Per token, what the escrow holds equals free + locked + pool + outstanding credits, to the wei. */
export async function expectCreditsSolvent(s: CreditsSetup): Promise<void> {
  for (const token of [ETH, s.usdcAddress]) {
    const held =
      token === ETH ? await ethers.provider.getBalance(s.escrowAddress) : await s.usdc.balanceOf(s.escrowAddress);
    const owed =
      (await s.escrow.totalFree(token)) +
      (await s.escrow.totalLocked(token)) +
      (await s.escrow.creditPool(token)) +
      (await s.escrow.totalCredits(token));
    expect(held, `escrow holds what it owes in ${token}`).to.equal(owed);
  }
}
