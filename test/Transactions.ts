import { expect } from "chai";
import { Wallet, id } from "ethers";
import { pauseAutomine, sendCalls, setBalance, type Call, type RpcProvider } from "../lib/transactions.js";
import { ethers, networkHelpers, v1Stack, type V1Fixture } from "./helpers/fixtures.js";
import { expectRejection } from "./helpers/rejections.js";

const ETH = ethers.ZeroAddress;
const provider = ethers.provider as unknown as RpcProvider;
const automine = async () => (await provider.send("hardhat_getAutomine", [])) as boolean;

/** `count` funded keys, each depositing `amounts[r]` wei into the escrow in round r. */
async function depositCalls(fixture: V1Fixture, count: number, amounts: bigint[]) {
  const escrow = await fixture.escrow.getAddress();
  const wallets = Array.from({ length: count }, (_, i) => new Wallet(id(`transactions test ${i}`), ethers.provider));
  for (const wallet of wallets) await setBalance(provider, wallet.address, 10n ** 18n);
  const calls: Call[] = wallets.flatMap((signer) =>
    amounts.map((amount) => ({
      signer,
      to: escrow,
      data: fixture.escrow.interface.encodeFunctionData("deposit", [ETH, amount]),
      value: amount,
      gasLimit: 300_000n,
    })),
  );
  return { wallets, calls };
}

describe("sendCalls: many signed calls from many keys", () => {
  it("with batchBlocks mines each round in one block, in call order, and turns automine back on", async () => {
    const fixture = await networkHelpers.loadFixture(v1Stack);
    const { wallets, calls } = await depositCalls(fixture, 6, [5n, 7n]);
    const receipts = await sendCalls(provider, calls, fixture.escrow.interface, { batchBlocks: true });

    expect(receipts.every((receipt) => receipt.status === 1)).to.equal(true);
    // calls[2i] is key i's first call (round 0), calls[2i + 1] its second (round 1).
    const round = (r: number) => receipts.filter((_, i) => i % 2 === r);
    for (const r of [0, 1]) {
      expect(new Set(round(r).map((receipt) => receipt.blockNumber)).size).to.equal(1);
      expect(round(r).map((receipt) => receipt.index)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    }
    expect(round(1)[0]!.blockNumber).to.be.greaterThan(round(0)[0]!.blockNumber);
    for (const wallet of wallets) expect(await fixture.escrow.balanceOf(wallet.address, ETH)).to.equal(12n);
    expect(await automine()).to.equal(true);
  });

  it("without batchBlocks mines one block per call", async () => {
    const fixture = await networkHelpers.loadFixture(v1Stack);
    const { calls } = await depositCalls(fixture, 3, [1n, 2n]);
    const receipts = await sendCalls(provider, calls, fixture.escrow.interface);
    expect(new Set(receipts.map((receipt) => receipt.blockNumber)).size).to.equal(calls.length);
  });

  it("stops at a reverted call with its decoded error, and automine is on again", async () => {
    const fixture = await networkHelpers.loadFixture(v1Stack);
    const { calls } = await depositCalls(fixture, 3, [1n]);
    // The second key sends less ETH than it claims to deposit.
    calls[1] = { ...calls[1]!, value: 0n };
    await expectRejection(
      sendCalls(provider, calls, fixture.escrow.interface, { batchBlocks: true }),
      Error,
      "reverted: InvalidAmount(1, 0)",
    );
    expect(await automine()).to.equal(true);
  });

  it("leaves a chain that already mines another way alone", async () => {
    await provider.send("evm_setAutomine", [false]);
    try {
      expect(await pauseAutomine(provider)).to.equal(undefined);
      expect(await automine()).to.equal(false);
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
  });
});
