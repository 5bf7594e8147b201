import { expect } from "chai";
import { GuideEscrowV1_1__factory, GuideRegistryV1_1__factory } from "../../typechain-types/index.js";
import { ethers, networkHelpers, v1Stack } from "../helpers/fixtures.js";

const { ZeroAddress, id, parseEther } = ethers;
const MIGRATOR_ROLE = id("MIGRATOR_ROLE");
const STAKE = parseEther("0.5");

/**
 * The bench-only V1.1 variants that model the migration guide's approach (funds to the
 * operator's wallet): who may call them, when, and that V1's accounting follows the funds out.
 */
async function guideStack() {
  const f = await v1Stack();
  const [admin, , operator, hostA, hostB, user, stranger] = f.signers;
  for (const [host, peer] of [
    [hostA!, "peer-a"],
    [hostB!, "peer-b"],
  ] as const) {
    await (await f.registry.connect(host).registerNode(peer, ["llama-3"], "eu", { value: STAKE })).wait();
  }
  await (await f.escrow.connect(user!).deposit(ZeroAddress, parseEther("1"), { value: parseEther("1") })).wait();
  const usdcAddress = await f.usdc.getAddress();
  await (await f.usdc.mint(user!.address, 5_000_000n)).wait();
  await (await f.usdc.connect(user!).approve(await f.escrow.getAddress(), 5_000_000n)).wait();
  await (await f.escrow.connect(user!).deposit(usdcAddress, 5_000_000n)).wait();
  for (const contract of [f.registry, f.escrow]) await (await contract.connect(admin!).pause()).wait();

  const registryImpl = await new GuideRegistryV1_1__factory(admin!).deploy();
  const escrowImpl = await new GuideEscrowV1_1__factory(admin!).deploy();
  await (await f.registry.connect(admin!).upgradeToAndCall(await registryImpl.getAddress(), "0x")).wait();
  await (await f.escrow.connect(admin!).upgradeToAndCall(await escrowImpl.getAddress(), "0x")).wait();
  const registry = GuideRegistryV1_1__factory.connect(await f.registry.getAddress(), operator!);
  const escrow = GuideEscrowV1_1__factory.connect(await f.escrow.getAddress(), operator!);
  await (await registry.connect(admin!).grantRole(MIGRATOR_ROLE, operator!.address)).wait();
  await (await escrow.connect(admin!).grantRole(MIGRATOR_ROLE, operator!.address)).wait();
  return {
    ...f,
    admin: admin!,
    operator: operator!,
    hostA: hostA!,
    hostB: hostB!,
    user: user!,
    stranger: stranger!,
    registry,
    escrow,
    usdcAddress,
  };
}

const setup = () => networkHelpers.loadFixture(guideStack);

describe("bench: GuideRegistryV1_1 (guide arm only)", function () {
  it("reports its version and keeps V1's role id", async function () {
    const f = await setup();
    expect(await f.registry.version()).to.equal("1.1.0-guide");
    expect(await f.registry.MIGRATOR_ROLE()).to.equal(MIGRATOR_ROLE);
  });

  it("sends a range of stakes to the operator and takes them out of V1's accounting", async function () {
    const f = await setup();
    const registry = await f.registry.getAddress();
    const tx = f.registry.withdrawStakesForMigration(0n, 2n);
    await expect(tx).to.changeEtherBalances(ethers, [f.operator.address, registry], [2n * STAKE, -2n * STAKE]);
    await expect(tx)
      .to.emit(f.registry, "StakesWithdrawnForMigration")
      .withArgs(0n, 2n, 2n * STAKE, f.operator.address);
    expect((await f.registry.getNode(f.hostA.address)).stake).to.equal(0n);
    expect((await f.registry.getNode(f.hostB.address)).stake).to.equal(0n);
    expect(await f.registry.totalStaked()).to.equal(0n);
  });

  it("takes only the range asked for", async function () {
    const f = await setup();
    await (await f.registry.withdrawStakesForMigration(1n, 1n)).wait();
    expect((await f.registry.getNode(f.hostA.address)).stake).to.equal(STAKE);
    expect((await f.registry.getNode(f.hostB.address)).stake).to.equal(0n);
    expect(await f.registry.totalStaked()).to.equal(STAKE);
  });

  it("refuses an empty range or one past the last node", async function () {
    const f = await setup();
    await expect(f.registry.withdrawStakesForMigration(0n, 0n))
      .to.be.revertedWithCustomError(f.registry, "ValueOutOfRange")
      .withArgs(0n, 1n, 2n);
    await expect(f.registry.withdrawStakesForMigration(1n, 2n))
      .to.be.revertedWithCustomError(f.registry, "ValueOutOfRange")
      .withArgs(2n, 1n, 1n);
    await expect(f.registry.withdrawStakesForMigration(5n, 1n))
      .to.be.revertedWithCustomError(f.registry, "ValueOutOfRange")
      .withArgs(1n, 1n, 0n);
  });

  it("needs MIGRATOR_ROLE and a paused V1", async function () {
    const f = await setup();
    await expect(f.registry.connect(f.stranger).withdrawStakesForMigration(0n, 1n))
      .to.be.revertedWithCustomError(f.registry, "AccessControlUnauthorizedAccount")
      .withArgs(f.stranger.address, MIGRATOR_ROLE);
    await (await f.registry.connect(f.admin).unpause()).wait();
    await expect(f.registry.withdrawStakesForMigration(0n, 1n)).to.be.revertedWithCustomError(
      f.registry,
      "ExpectedPause",
    );
  });
});

describe("bench: GuideEscrowV1_1 (guide arm only)", function () {
  it("reports its version and keeps V1's role id", async function () {
    const f = await setup();
    expect(await f.escrow.version()).to.equal("1.1.0-guide");
    expect(await f.escrow.MIGRATOR_ROLE()).to.equal(MIGRATOR_ROLE);
  });

  it("sends a user's ETH balance to the operator and removes it from V1's accounting", async function () {
    const f = await setup();
    const escrow = await f.escrow.getAddress();
    const tx = f.escrow.withdrawForMigration(f.user.address, ZeroAddress);
    await expect(tx).to.changeEtherBalances(ethers, [f.operator.address, escrow], [parseEther("1"), -parseEther("1")]);
    await expect(tx)
      .to.emit(f.escrow, "WithdrawnForMigration")
      .withArgs(f.user.address, ZeroAddress, parseEther("1"), f.operator.address);
    expect(await f.escrow.balanceOf(f.user.address, ZeroAddress)).to.equal(0n);
    expect(await f.escrow.totalFree(ZeroAddress)).to.equal(0n);
  });

  it("sends a user's ERC-20 balance to the operator", async function () {
    const f = await setup();
    await expect(f.escrow.withdrawForMigration(f.user.address, f.usdcAddress)).to.changeTokenBalances(
      ethers,
      f.usdc,
      [f.operator.address, await f.escrow.getAddress()],
      [5_000_000n, -5_000_000n],
    );
    expect(await f.escrow.balanceOf(f.user.address, f.usdcAddress)).to.equal(0n);
    expect(await f.escrow.totalFree(f.usdcAddress)).to.equal(0n);
  });

  it("refuses a zero balance, so a balance cannot be taken twice", async function () {
    const f = await setup();
    await (await f.escrow.withdrawForMigration(f.user.address, ZeroAddress)).wait();
    await expect(f.escrow.withdrawForMigration(f.user.address, ZeroAddress))
      .to.be.revertedWithCustomError(f.escrow, "NothingToWithdraw")
      .withArgs(f.user.address, ZeroAddress);
  });

  it("needs MIGRATOR_ROLE and a paused V1", async function () {
    const f = await setup();
    await expect(f.escrow.connect(f.stranger).withdrawForMigration(f.user.address, ZeroAddress))
      .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
      .withArgs(f.stranger.address, MIGRATOR_ROLE);
    await (await f.escrow.connect(f.admin).unpause()).wait();
    await expect(f.escrow.withdrawForMigration(f.user.address, ZeroAddress)).to.be.revertedWithCustomError(
      f.escrow,
      "ExpectedPause",
    );
  });
});
