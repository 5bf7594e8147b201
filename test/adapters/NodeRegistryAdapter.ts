import { expect } from "chai";
import { id, keccak256, parseEther, toUtf8Bytes } from "ethers";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { adapterStack, MODEL, OTHER_MODEL, STAKE } from "./adapterStack.js";

const selector = (signature: string): string => id(signature).slice(0, 10);

describe("NodeRegistryV1Adapter", () => {
  it("registerNode: V1's call registers in V2 as the caller, with model names registered, and V1's event", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const registry = f.adapters.registry.connect(f.stranger);
    await expect(registry.registerNode("peer-new", [OTHER_MODEL], "us-east", { value: STAKE }))
      .to.emit(f.adapters.registry, "NodeRegistered")
      .withArgs(f.stranger.address, "peer-new", STAKE, [OTHER_MODEL], "us-east");
    const node = await f.v2.registry.getNode(f.stranger.address);
    expect(node.operator).to.equal(f.stranger.address);
    expect(node.models).to.deep.equal([keccak256(toUtf8Bytes(OTHER_MODEL))]);
    expect(await ethers.provider.getBalance(await f.v2.registry.getAddress())).to.equal(STAKE * 2n);
    expect(await ethers.provider.getBalance(await f.adapters.registry.getAddress())).to.equal(0n);
    const v1 = await f.adapters.registry.getNode(f.stranger.address);
    expect([v1.operator, v1.peerId, v1.stake, v1.active, [...v1.models], v1.region]).to.deep.equal([
      f.stranger.address,
      "peer-new",
      STAKE,
      true,
      [OTHER_MODEL],
      "us-east",
    ]);
    expect(await f.adapters.registry.supportsModel(f.stranger.address, OTHER_MODEL)).to.equal(true);
    expect(await f.adapters.registry.supportsModel(f.stranger.address, MODEL)).to.equal(false);
  });

  it("applies V1's model validation with V1's errors before V2 sees the call", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const registry = f.adapters.registry.connect(f.stranger);
    await expect(registry.registerNode("p", ["ok", ""], "r", { value: STAKE }))
      .to.be.revertedWithCustomError(f.adapters.registry, "InvalidModelName")
      .withArgs(1n, 0n, 128n);
    await expect(registry.updateModels(Array.from({ length: 33 }, (_, i) => `m${i}`)))
      .to.be.revertedWithCustomError(f.adapters.registry, "InvalidModels")
      .withArgs(33n, 32n);
  });

  it("a migrated host manages its node through V1's API, with V1's events", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const registry = f.adapters.registry.connect(f.host);
    await expect(registry.addStake({ value: 5n }))
      .to.emit(f.adapters.registry, "StakeAdded")
      .withArgs(f.host.address, 5n, STAKE + 5n);
    await expect(registry.updateModels([MODEL, OTHER_MODEL]))
      .to.emit(f.adapters.registry, "ModelsUpdated")
      .withArgs(f.host.address, [MODEL, OTHER_MODEL]);
    await expect(registry.updateRegion("ap-south"))
      .to.emit(f.adapters.registry, "RegionUpdated")
      .withArgs(f.host.address, "ap-south");
    const cooldown = await f.v2.registry.unstakeCooldown();
    await expect(registry.requestUnstake()).to.emit(f.adapters.registry, "UnstakeRequested");
    expect(await f.adapters.registry.isActiveNode(f.host.address)).to.equal(false);
    await expect(registry.cancelUnstake()).to.emit(f.adapters.registry, "UnstakeCancelled").withArgs(f.host.address);
    await (await registry.requestUnstake()).wait();
    await networkHelpers.time.increase(cooldown);
    const before = await ethers.provider.getBalance(f.host.address);
    const receipt = await (await registry.withdrawStake()).wait();
    await expect(receipt).to.not.equal(null);
    const fee = receipt!.gasUsed * receipt!.gasPrice;
    expect(await ethers.provider.getBalance(f.host.address)).to.equal(before + STAKE + 5n - fee);
    expect(await f.adapters.registry.isRegistered(f.host.address)).to.equal(false);
  });

  it("reads V2 in V1's shapes: page with reputations, counts, totals and settings", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const [nodes, reputations] = await f.adapters.registry.getNodesPage(0, 10);
    expect(nodes.map((n) => n.operator)).to.deep.equal([f.host.address]);
    expect([...nodes[0]!.models]).to.deep.equal([MODEL]);
    expect(reputations).to.deep.equal([100n]);
    expect(await f.adapters.registry.reputationOf(f.host.address)).to.equal(100n);
    expect(await f.adapters.registry.nodeCount()).to.equal(1n);
    expect(await f.adapters.registry.totalStaked()).to.equal(STAKE);
    expect(await f.adapters.registry.minimumStake()).to.equal(await f.v2.registry.minimumStake());
    expect(await f.adapters.registry.unstakeCooldown()).to.equal(await f.v2.registry.unstakeCooldown());
    expect(await f.adapters.registry.treasury()).to.equal(f.treasury.address);
    expect(await f.adapters.registry.MAX_MODELS()).to.equal(32n);
    expect(await f.adapters.registry.INITIAL_REPUTATION()).to.equal(100n);
    expect(await f.adapters.registry.MAX_REPUTATION()).to.equal(1000n);
    expect(await f.adapters.registry.MAX_PEER_ID_LENGTH()).to.equal(256n);
    expect(await f.adapters.registry.MAX_MODEL_NAME_LENGTH()).to.equal(128n);
    expect(await f.adapters.registry.MAX_REGION_LENGTH()).to.equal(64n);
    expect(await f.adapters.registry.MAX_MINIMUM_STAKE()).to.equal(parseEther("1000"));
    expect(await f.adapters.registry.MAX_UNSTAKE_COOLDOWN()).to.equal(90n * 24n * 3600n);
    expect(await f.adapters.registry.SLASHER_ROLE()).to.equal(id("SLASHER_ROLE"));
    expect(await f.adapters.registry.REPUTATION_ROLE()).to.equal(id("REPUTATION_ROLE"));
    const unknown = await f.adapters.registry.getNode(f.stranger.address);
    expect(unknown.operator).to.equal(ethers.ZeroAddress);
  });

  it("admin and role functions forward as the caller and re-emit V1's events", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    const registry = f.adapters.registry.connect(f.admin);
    const oldMinimum = await f.v2.registry.minimumStake();
    await expect(registry.setMinimumStake(7n))
      .to.emit(f.adapters.registry, "MinimumStakeChanged")
      .withArgs(oldMinimum, 7n);
    const oldCooldown = await f.v2.registry.unstakeCooldown();
    await expect(registry.setUnstakeCooldown(60n))
      .to.emit(f.adapters.registry, "UnstakeCooldownChanged")
      .withArgs(oldCooldown, 60n);
    await expect(registry.setTreasury(f.stranger.address))
      .to.emit(f.adapters.registry, "TreasuryChanged")
      .withArgs(f.treasury.address, f.stranger.address);
    await (await f.v2.registry.grantRole(await f.v2.registry.REPUTATION_ROLE(), f.admin.address)).wait();
    await expect(registry.increaseReputation(f.host.address, 5n))
      .to.emit(f.adapters.registry, "ReputationChanged")
      .withArgs(f.host.address, 100n, 105n);
    await expect(registry.decreaseReputation(f.host.address, 10n))
      .to.emit(f.adapters.registry, "ReputationChanged")
      .withArgs(f.host.address, 105n, 95n);
    await expect(f.adapters.registry.connect(f.stranger).setMinimumStake(1n)).to.be.revertedWithCustomError(
      f.v2.registry,
      "AccessControlUnauthorizedAccount",
    );
  });

  it("initialize is deprecated", async () => {
    const f = await networkHelpers.loadFixture(adapterStack);
    await expect(f.adapters.registry.initialize(f.admin.address, f.admin.address, 1n, 1n))
      .to.be.revertedWithCustomError(f.adapters.registry, "Deprecated")
      .withArgs(
        selector("initialize(address,address,uint256,uint256)"),
        "the proxy is initialized; V2 is configured by governance",
      );
  });
});
