import { expect } from "chai";
import hre from "hardhat";
import type { BaseContract } from "ethers";
import { ethers, networkHelpers, upgradesApi, v1Stack } from "./helpers/fixtures.js";

const IMPLEMENTATIONS = [
  "NodeRegistryV1",
  "PaymentEscrowV1",
  "JobMarketplaceV1",
  "NodeRegistryV1_1",
  "PaymentEscrowV1_1",
  "NodeRegistryV2",
  "PaymentEscrowV2",
  "JobMarketplaceV2",
] as const;

/** V1.1 keeps V1's storage: the proxies are upgraded in place to push state into V2. */
const IN_PLACE_UPGRADES = [
  ["NodeRegistryV1", "NodeRegistryV1_1"],
  ["PaymentEscrowV1", "PaymentEscrowV1_1"],
] as const;

/** V2 changes the layout on purpose (packed records): it is a new deployment that state is copied into. */
const COPY_MIGRATIONS = [
  ["NodeRegistryV1", "NodeRegistryV2"],
  ["PaymentEscrowV1", "PaymentEscrowV2"],
  ["JobMarketplaceV1", "JobMarketplaceV2"],
] as const;

describe("storage compatibility between the generations", () => {
  for (const [from, to] of IN_PLACE_UPGRADES) {
    it(`${from} → ${to} passes validateUpgrade: V1.1 can replace V1 behind its proxy`, async () => {
      await upgradesApi.validateUpgrade(await ethers.getContractFactory(from), await ethers.getContractFactory(to), {
        kind: "uups",
      });
    });
  }

  // Pinned so that nobody "fixes" V2 into an in-place upgrade: its layout differs for real reasons.
  for (const [from, to] of COPY_MIGRATIONS) {
    it(`${from} → ${to} fails validateUpgrade: V1's namespace is gone, so V2 must be a copy`, async () => {
      const failure = await upgradesApi
        .validateUpgrade(await ethers.getContractFactory(from), await ethers.getContractFactory(to), { kind: "uups" })
        .then(
          () => undefined,
          (error: Error) => error,
        );
      expect(failure, `${to} unexpectedly validates as an in-place upgrade of ${from}`).to.be.instanceOf(Error);
      expect(failure!.message).to.include(`Deleted namespace \`erc7201:fabstir.storage.${from}\``);
    });
  }
});

/** EIP-170: the largest runtime bytecode a chain accepts, Base included. */
const MAX_RUNTIME_BYTES = 24_576;

describe("deployability of the implementations", () => {
  for (const name of IMPLEMENTATIONS) {
    it(`${name} fits EIP-170's ${MAX_RUNTIME_BYTES}-byte limit on runtime code`, async function () {
      // Coverage instruments every statement, which inflates the bytecode: the limit is for real builds.
      if (hre.globalOptions.coverage === true) this.skip();
      const artifact = await hre.artifacts.readArtifact(name);
      const runtimeBytes = (artifact.deployedBytecode.length - 2) / 2;
      expect(runtimeBytes, `${name} runtime size`).to.be.at.most(MAX_RUNTIME_BYTES);
    });
  }
});

describe("upgrade safety of the implementations", () => {
  for (const name of IMPLEMENTATIONS) {
    it(`${name} passes hardhat-upgrades validation as a UUPS implementation`, async () => {
      const factory = await ethers.getContractFactory(name);
      await upgradesApi.validateImplementation(factory, { kind: "uups" });
    });
  }

  it("refuses to initialize an implementation directly, so nobody can take it over", async () => {
    const { registry, escrow, marketplace, signers } = await networkHelpers.loadFixture(v1Stack);
    const attacker = signers[5]!.address;
    const cases = [
      { proxy: registry, args: [attacker, attacker, 1n, 0n] },
      { proxy: escrow, args: [attacker, attacker, 0n] },
      { proxy: marketplace, args: [attacker, attacker, attacker] },
    ];
    for (const { proxy, args } of cases) {
      const implementation = await upgradesApi.erc1967.getImplementationAddress(await proxy.getAddress());
      const direct = proxy.attach(implementation) as BaseContract;
      await expect(direct.getFunction("initialize")(...args)).to.be.revertedWithCustomError(
        direct,
        "InvalidInitialization",
      );
    }
  });

  it("refuses a second initialization through the proxy", async () => {
    const { registry, signers } = await networkHelpers.loadFixture(v1Stack);
    const attacker = signers[5]!.address;
    await expect(registry.initialize(attacker, attacker, 1n, 0n)).to.be.revertedWithCustomError(
      registry,
      "InvalidInitialization",
    );
  });

  it("upgrades a proxy only through UPGRADER_ROLE, keeping its state", async () => {
    const { registry, signers } = await networkHelpers.loadFixture(v1Stack);
    const [admin, , host, stranger] = signers;
    const stake = await registry.minimumStake();
    await registry
      .connect(host!)
      .registerNode("12D3KooWpeer", ["llama-3.1-8b-instruct"], "eu-west-1", { value: stake });

    const factory = await ethers.getContractFactory("NodeRegistryV1");
    const implementation = await (await factory.deploy()).getAddress();
    await expect(registry.connect(stranger!).upgradeToAndCall(implementation, "0x"))
      .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
      .withArgs(stranger!.address, await registry.UPGRADER_ROLE());

    await registry.connect(admin!).upgradeToAndCall(implementation, "0x");
    expect(await upgradesApi.erc1967.getImplementationAddress(await registry.getAddress())).to.equal(implementation);
    expect((await registry.getNode(host!.address)).stake).to.equal(stake);
    expect(await registry.nodeCount()).to.equal(1n);
  });
});
