import { expect } from "chai";
import type { PaymentEscrowV2 } from "../../typechain-types/index.js";
import { applyCreditPlan, checkCreditPlan, connectCreditsEscrow, CreditsError } from "../../lib/credits/apply.js";
import { MIGRATION_BONUS_BPS, type CreditPlan } from "../../lib/credits/types.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { ETH, type CreditsSetup, fundUsdcPool, openCreditsEscrow } from "../helpers/creditsEscrow.js";

const { id } = ethers;
const DAY = 24 * 60 * 60;

async function planFor(s: CreditsSetup, overrides: Partial<CreditPlan> = {}): Promise<CreditPlan> {
  return {
    grantId: id("bundle-digest-1"),
    user: s.alice.address,
    token: s.usdcAddress,
    basisWei: "1000",
    bonusBps: MIGRATION_BONUS_BPS,
    amountWei: "100",
    expiresAt: (await networkHelpers.time.latest()) + 90 * DAY,
    ...overrides,
  };
}

/** A finalized escrow with a USDC pool of 1,000 and CREDITS_ROLE held by `creditor`. */
async function funded(): Promise<CreditsSetup> {
  const s = await openCreditsEscrow();
  await fundUsdcPool(s, 1_000n);
  return s;
}

async function expectCreditsError(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected a CreditsError").to.be.instanceOf(CreditsError);
  for (const part of parts) expect((caught as Error).message).to.include(part);
}

describe("credits: applying a CreditPlan on chain", () => {
  it("checks a new plan, grants it with the CREDITS_ROLE signer and waits for the receipt", async () => {
    const s = await networkHelpers.loadFixture(funded);
    const plan = await planFor(s);
    const escrow = s.escrow.connect(s.creditor);
    expect(await checkCreditPlan(escrow, s.creditor.address, plan)).to.equal("new");
    const result = await applyCreditPlan(escrow, plan);
    expect(result.status).to.equal("granted");
    const receipt = await ethers.provider.getTransactionReceipt(result.txHash!);
    expect(receipt!.blockNumber).to.equal(result.blockNumber);
    const grant = await s.escrow.grantOf(plan.grantId);
    expect([grant.user, grant.token, grant.amount, grant.expiresAt]).to.deep.equal([
      s.alice.address,
      s.usdcAddress,
      100n,
      BigInt(plan.expiresAt),
    ]);
    expect(await s.escrow.liveCreditsOf(s.alice.address, s.usdcAddress)).to.equal(100n);
    expect(await s.escrow.creditPool(s.usdcAddress)).to.equal(900n);
  });

  it("is idempotent: the same plan again sends nothing, whoever checks it", async () => {
    const s = await networkHelpers.loadFixture(funded);
    const plan = await planFor(s);
    await applyCreditPlan(s.escrow.connect(s.creditor), plan);
    const block = await ethers.provider.getBlockNumber();
    expect(await applyCreditPlan(s.escrow.connect(s.creditor), plan)).to.deep.equal({ status: "already-granted" });
    expect(await checkCreditPlan(s.escrow, s.stranger.address, plan)).to.equal("already-granted");
    expect(await ethers.provider.getBlockNumber()).to.equal(block);
    expect(await s.escrow.creditPool(s.usdcAddress)).to.equal(900n);
  });

  it("works through the plain ethers contract from connectCreditsEscrow, in ETH too", async () => {
    const s = await networkHelpers.loadFixture(funded);
    await (await s.escrow.connect(s.sponsor).fundCreditPool(ETH, 50n, { value: 50n })).wait();
    const escrow = connectCreditsEscrow(s.escrowAddress, s.creditor);
    const plan = await planFor(s, { token: ETH, amountWei: "50", grantId: id("eth") });
    expect((await applyCreditPlan(escrow, plan)).status).to.equal("granted");
    expect(await s.escrow.liveCreditsOf(s.alice.address, ETH)).to.equal(50n);
  });

  it("asks governance for CREDITS_ROLE when the signer lacks it, before sending anything", async () => {
    const s = await networkHelpers.loadFixture(funded);
    const plan = await planFor(s);
    const block = await ethers.provider.getBlockNumber();
    await expectCreditsError(
      applyCreditPlan(s.escrow.connect(s.stranger), plan),
      `ask governance to grant CREDITS_ROLE to ${s.stranger.address}`,
    );
    expect(await ethers.provider.getBlockNumber()).to.equal(block);
  });

  it("says how much to fund when the pool is short, for a token and for ETH", async () => {
    const s = await networkHelpers.loadFixture(funded);
    await expectCreditsError(
      checkCreditPlan(s.escrow, s.creditor.address, await planFor(s, { amountWei: "1500" })),
      "holds 1000, 500 short of 1500",
      `fund it with fundCreditPool(${s.usdcAddress}, 500) after approving`,
    );
    await expectCreditsError(
      checkCreditPlan(s.escrow, s.creditor.address, await planFor(s, { token: ETH, amountWei: "7" })),
      `fundCreditPool(${ETH}, 7) with 7 wei as value`,
    );
  });

  it("refuses a plan whose expiry has passed", async () => {
    const s = await networkHelpers.loadFixture(funded);
    const now = await networkHelpers.time.latest();
    await expectCreditsError(
      checkCreditPlan(s.escrow, s.creditor.address, await planFor(s, { expiresAt: now })),
      "regenerate the plan with a future expiry",
    );
  });

  it("refuses a grant id that exists with other contents", async () => {
    const s = await networkHelpers.loadFixture(funded);
    const plan = await planFor(s);
    await applyCreditPlan(s.escrow.connect(s.creditor), plan);
    await expectCreditsError(
      applyCreditPlan(s.escrow.connect(s.creditor), { ...plan, amountWei: "101" }),
      `grant ${plan.grantId} already exists`,
      "amount 100",
      "not the one that was applied",
    );
  });

  it("refuses while the escrow is paused or still in its migration window", async () => {
    const s = await networkHelpers.loadFixture(funded);
    const plan = await planFor(s);
    await (await s.escrow.connect(s.admin).pause()).wait();
    await expectCreditsError(checkCreditPlan(s.escrow, s.creditor.address, plan), "is paused");
    const windowOpen = (await upgradesApi.deployProxy(
      await ethers.getContractFactory("PaymentEscrowV2"),
      [s.admin.address, s.migrator.address, s.treasury.address, 0n],
      { kind: "uups", initializer: "initialize" },
    )) as unknown as PaymentEscrowV2;
    await expectCreditsError(checkCreditPlan(windowOpen, s.creditor.address, plan), "after finalizeMigration");
  });

  it("refuses malformed plans with what to fix, and an escrow without a signer", async () => {
    const s = await networkHelpers.loadFixture(funded);
    const plan = await planFor(s);
    const cases: [Partial<CreditPlan>, string][] = [
      [{ grantId: "0x1234" }, "is not 32 bytes of hex"],
      [{ user: "alice" }, "is not an address"],
      [{ user: ethers.ZeroAddress }, "user is the zero address"],
      [{ amountWei: "1e3" }, "is not a decimal integer string"],
      [{ amountWei: "0" }, "must be between 1 and 2^96 - 1"],
      [{ amountWei: (1n << 96n).toString() }, "must be between 1 and 2^96 - 1"],
      [{ expiresAt: 1.5 }, "is not a Unix time in seconds"],
    ];
    for (const [override, message] of cases) {
      await expectCreditsError(checkCreditPlan(s.escrow, s.creditor.address, { ...plan, ...override }), message);
    }
    await expectCreditsError(
      applyCreditPlan(connectCreditsEscrow(s.escrowAddress, ethers.provider), plan),
      "not connected to a signer",
    );
  });
});
