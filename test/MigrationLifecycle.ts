import { expect } from "chai";
import { ethers, networkHelpers } from "./helpers/fixtures.js";
import { migrationStack } from "./helpers/migrationStack.js";

describe("MigrationLifecycle.finalizeMigration solvency", () => {
  it("refuses to finalize an escrow whose token balance is below what it accounts for (a fee-on-transfer token)", async () => {
    const { v2, signers } = await networkHelpers.loadFixture(migrationStack);
    const [operator, , user] = signers;
    const token = await ethers.deployContract("FeeOnTransferToken");
    const tokenAddress = await token.getAddress();
    await (await v2.escrow.setTokenAllowed(tokenAddress, true)).wait();

    // The operator migrates 1,000 units; 1% burns on the way, so the escrow receives 990.
    await (await token.mint(operator!.address, 1_000n)).wait();
    await (await token.approve(await v2.escrow.getAddress(), 1_000n)).wait();
    await (await v2.escrow.migrateDeposit(user!.address, tokenAddress, 1_000n)).wait();
    expect(await v2.escrow.balanceOf(user!.address, tokenAddress)).to.equal(1_000n);
    expect(await token.balanceOf(await v2.escrow.getAddress())).to.equal(990n);

    const tokens = [...(await v2.escrow.tokens())];
    const funds = await Promise.all(tokens.map((t) => v2.escrow.migratedFunds(t)));
    const commitment = await v2.escrow.migrationCommitment();
    await expect(v2.escrow.finalizeMigration(commitment, 1n, tokens, funds))
      .to.be.revertedWithCustomError(v2.escrow, "Insolvent")
      .withArgs(tokenAddress, 990n, 1_000n);
    expect(await v2.escrow.migrationFinalized()).to.equal(false);
  });
});
