import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { ContractTransactionResponse } from "ethers";
import { DEFAULT_V1_PARAMETERS } from "../../deploy/v1.js";
import type { NodeRegistryV1 } from "../../typechain-types/index.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { conformanceIt, v1OnlyIt, type Baseline, type ConformanceStack, type Target } from "./targets.js";

const { ZeroAddress, MaxUint256 } = ethers;

/** A string of `bytes` ASCII characters (one byte each). */
function ascii(bytes: number | bigint, char = "a"): string {
  return char.repeat(Number(bytes));
}

/** `count` distinct, valid model names. */
function modelNames(count: number | bigint): string[] {
  return Array.from({ length: Number(count) }, (_, i) => `model-${i}`);
}

function peerIdOf(signer: HardhatEthersSigner): string {
  return `12D3KooW-${signer.address.slice(2, 14)}`;
}

async function timestampOf(tx: ContractTransactionResponse): Promise<bigint> {
  const receipt = await tx.wait();
  if (receipt === null) throw new Error("transaction was not mined");
  const block = await ethers.provider.getBlock(receipt.blockNumber);
  if (block === null) throw new Error("block not found");
  return BigInt(block.timestamp);
}

interface Setup {
  registry: NodeRegistryV1;
  /** The marketplace that settles jobs, which holds REPUTATION_ROLE (V1's, or V2's behind the adapter). */
  marketplace: string;
  /** The V1 marketplace proxy, the REPUTATION_ROLE holder V1 callers see in the registry's roles. */
  marketplaceProxy: string;
  /** The address holding the stakes: the registry itself on V1, V2's registry behind the adapter. */
  custody: string;
  /** The nodes and stake present before the test (none on a fresh V1). */
  base: Baseline;
  stack: ConformanceStack;
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  /** Plain accounts without any role, used as node operators. */
  operators: HardhatEthersSigner[];
  /** An account without any role. */
  stranger: HardhatEthersSigner;
  /** An account that was granted REPUTATION_ROLE by the admin. */
  reputer: HardhatEthersSigner;
  minimumStake: bigint;
  cooldown: bigint;
}

async function setupOn(target: Target): Promise<Setup> {
  const s = await target.load();
  const { registry, signers } = s;
  const [, treasury, a, b, c, d, stranger, reputer] = signers;
  if (
    treasury === undefined ||
    a === undefined ||
    b === undefined ||
    c === undefined ||
    d === undefined ||
    stranger === undefined ||
    reputer === undefined
  ) {
    throw new Error("the test chain needs at least eight accounts");
  }
  // The target's governing account: signer 0, or behind governance the timelock.
  const admin = s.admin;
  await target.grantRole(s, "registry", await s.raw.registry.REPUTATION_ROLE(), reputer.address);
  return {
    registry,
    marketplace: s.settlingMarketplace,
    marketplaceProxy: await s.raw.marketplace.getAddress(),
    custody: s.custody.registry,
    base: s.baseline,
    stack: s,
    admin,
    treasury,
    operators: [a, b, c, d],
    stranger,
    reputer,
    minimumStake: await registry.minimumStake(),
    cooldown: await registry.unstakeCooldown(),
  };
}

function first<T>(items: T[]): T {
  const item = items[0];
  if (item === undefined) throw new Error("empty list");
  return item;
}

interface RegisterOptions {
  peerId?: string;
  models?: string[];
  region?: string;
  stake?: bigint;
}

async function register(
  registry: NodeRegistryV1,
  operator: HardhatEthersSigner,
  options: RegisterOptions = {},
): Promise<ContractTransactionResponse> {
  const stake = options.stake ?? (await registry.minimumStake());
  const tx = await registry
    .connect(operator)
    .registerNode(options.peerId ?? peerIdOf(operator), options.models ?? ["llama-3-8b"], options.region ?? "eu-west", {
      value: stake,
    });
  await tx.wait();
  return tx;
}

/** Sum of the stakes of every registered node, read through pagination. */
async function sumOfStakes(registry: NodeRegistryV1): Promise<bigint> {
  const [nodes] = await registry.getNodesPage(0n, await registry.nodeCount());
  return nodes.reduce((sum, node) => sum + node.stake, 0n);
}

async function expectBalanceInvariant({ registry, custody }: Setup): Promise<void> {
  const total = await registry.totalStaked();
  expect(await ethers.provider.getBalance(custody)).to.equal(total, "registry balance != totalStaked");
  expect(await sumOfStakes(registry)).to.equal(total, "sum of node stakes != totalStaked");
}

/** V1 NodeRegistry's external behaviour, run against `target`. */
export function describeNodeRegistryConformance(target: Target): void {
  const it = conformanceIt(target);
  const itV1Only = v1OnlyIt(target);
  // The baseline and custody of the stack the running test loaded (tests run one at a time).
  let base: Baseline;
  let custody: string;
  let stack: ConformanceStack;
  const setup = async (): Promise<Setup> => {
    const loaded = await setupOn(target);
    ({ base, custody, stack } = loaded);
    return loaded;
  };
  const pause = () => target.pause(stack, "registry");
  const unpause = () => target.unpause(stack, "registry");
  describe("NodeRegistry", () => {
    describe("deployment", () => {
      it("is initialised with the deploy parameters and the treasury", async () => {
        const { registry, treasury } = await setup();
        expect(await registry.minimumStake()).to.equal(DEFAULT_V1_PARAMETERS.minimumStake);
        expect(await registry.unstakeCooldown()).to.equal(DEFAULT_V1_PARAMETERS.unstakeCooldownSeconds);
        expect(await registry.treasury()).to.equal(treasury.address);
        expect(await registry.nodeCount()).to.equal(base.nodeCount);
        expect(await registry.totalStaked()).to.equal(base.totalStaked);
        expect(await registry.paused()).to.equal(false);
      });

      it("gives the admin the governing roles and the marketplace the reputation role", async () => {
        const { registry, marketplaceProxy, admin } = await setup();
        for (const role of [
          await registry.DEFAULT_ADMIN_ROLE(),
          await registry.UPGRADER_ROLE(),
          await registry.PAUSER_ROLE(),
          await registry.SLASHER_ROLE(),
        ]) {
          expect(await registry.hasRole(role, admin.address)).to.equal(true);
        }
        expect(await registry.hasRole(await registry.REPUTATION_ROLE(), marketplaceProxy)).to.equal(true);
        expect(await registry.hasRole(await registry.REPUTATION_ROLE(), admin.address)).to.equal(false);
      });

      it(`reports version ${target.version}`, async () => {
        const { registry } = await setup();
        expect(await registry.version()).to.equal(target.version);
      });
    });

    describe("registerNode", () => {
      it("stores every field of the node", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        const models = ["llama-3-8b", "mistral-7b"];
        const stake = (await registry.minimumStake()) * 3n;
        const tx = await register(registry, operator, { peerId: "peer-1", models, region: "us-east", stake });
        const registeredAt = await timestampOf(tx);

        const node = await registry.getNode(operator.address);
        expect(node.operator).to.equal(operator.address);
        expect(node.peerId).to.equal("peer-1");
        expect(node.stake).to.equal(stake);
        expect(node.active).to.equal(true);
        expect([...node.models]).to.deep.equal(models);
        expect(node.region).to.equal("us-east");
        expect(node.registeredAt).to.equal(registeredAt);
        expect(node.unstakeRequestedAt).to.equal(0n);
        expect(await registry.isRegistered(operator.address)).to.equal(true);
        expect(await registry.isActiveNode(operator.address)).to.equal(true);
      });

      it("starts the node at INITIAL_REPUTATION and counts its stake", async () => {
        const { registry, operators } = await setup();
        const [a, b] = operators as [HardhatEthersSigner, HardhatEthersSigner];
        const min = await registry.minimumStake();
        await register(registry, a, { stake: min });
        await register(registry, b, { stake: min * 2n });
        expect(await registry.reputationOf(a.address)).to.equal(await registry.INITIAL_REPUTATION());
        expect(await registry.reputationOf(b.address)).to.equal(await registry.INITIAL_REPUTATION());
        expect(await registry.nodeCount()).to.equal(base.nodeCount + 2n);
        expect(await registry.totalStaked()).to.equal(base.totalStaked + min * 3n);
      });

      it("takes the stake from the operator into the registry", async () => {
        const { registry, operators, minimumStake } = await setup();
        const operator = first(operators);
        await expect(
          registry.connect(operator).registerNode("peer", ["m"], "eu", { value: minimumStake }),
        ).to.changeEtherBalances(ethers, [operator, custody], [-minimumStake, minimumStake]);
      });

      it("emits NodeRegistered with the operator, peer id, stake, models and region", async () => {
        const { registry, operators, minimumStake } = await setup();
        const operator = first(operators);
        const models = ["llama-3-8b", "mistral-7b"];
        await expect(
          registry.connect(operator).registerNode("peer-x", models, "ap-south", { value: minimumStake + 1n }),
        )
          .to.emit(registry, "NodeRegistered")
          .withArgs(operator.address, "peer-x", minimumStake + 1n, models, "ap-south");
      });

      it("accepts exactly the minimum stake", async () => {
        const { registry, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake });
        expect((await registry.getNode(operator.address)).stake).to.equal(minimumStake);
      });

      it("accepts an empty model list and an empty region", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator, { models: [], region: "" });
        const node = await registry.getNode(operator.address);
        expect([...node.models]).to.deep.equal([]);
        expect(node.region).to.equal("");
        expect(node.active).to.equal(true);
      });

      it("accepts MAX_MODELS models of MAX_MODEL_NAME_LENGTH bytes, and a peer id and region at their maximum lengths", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        const maxModels = await registry.MAX_MODELS();
        const nameLength = await registry.MAX_MODEL_NAME_LENGTH();
        const models = modelNames(maxModels).map((name) => name + ascii(nameLength - BigInt(name.length), "x"));
        const peerId = ascii(await registry.MAX_PEER_ID_LENGTH(), "p");
        const region = ascii(await registry.MAX_REGION_LENGTH(), "r");
        await register(registry, operator, { peerId, models, region });

        const node = await registry.getNode(operator.address);
        expect(node.models.length).to.equal(Number(maxModels));
        expect([...node.models]).to.deep.equal(models);
        expect(node.peerId).to.equal(peerId);
        expect(node.region).to.equal(region);
      });

      it("stores a unicode region byte for byte", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        const region = "東京 🇯🇵 São Paulo";
        await register(registry, operator, { region });
        expect((await registry.getNode(operator.address)).region).to.equal(region);
      });

      it("measures the region in UTF-8 bytes, not characters", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        const maxRegion = await registry.MAX_REGION_LENGTH();
        // "€" is three bytes: this region has fewer characters than the limit but more bytes.
        const count = Number(maxRegion) / 3 + 1;
        const region = "€".repeat(count);
        const bytes = BigInt(Buffer.byteLength(region, "utf8"));
        expect(BigInt(region.length)).to.be.lessThanOrEqual(maxRegion);
        expect(bytes).to.be.greaterThan(maxRegion);
        await expect(
          registry.connect(operator).registerNode("peer", [], region, { value: await registry.minimumStake() }),
        )
          .to.be.revertedWithCustomError(registry, "InvalidRegion")
          .withArgs(bytes, maxRegion);
      });

      it("reverts when the operator is already registered", async () => {
        const { registry, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await expect(registry.connect(operator).registerNode("other", [], "", { value: minimumStake }))
          .to.be.revertedWithCustomError(registry, "NodeAlreadyRegistered")
          .withArgs(operator.address);
      });

      it("reverts when the operator is registered but leaving", async () => {
        const { registry, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await registry.connect(operator).requestUnstake();
        await expect(registry.connect(operator).registerNode("other", [], "", { value: minimumStake }))
          .to.be.revertedWithCustomError(registry, "NodeAlreadyRegistered")
          .withArgs(operator.address);
      });

      it("reverts when the stake is below the minimum", async () => {
        const { registry, operators, minimumStake } = await setup();
        const operator = first(operators);
        await expect(registry.connect(operator).registerNode("peer", [], "", { value: minimumStake - 1n }))
          .to.be.revertedWithCustomError(registry, "StakeBelowMinimum")
          .withArgs(minimumStake - 1n, minimumStake);
        await expect(registry.connect(operator).registerNode("peer", [], ""))
          .to.be.revertedWithCustomError(registry, "StakeBelowMinimum")
          .withArgs(0n, minimumStake);
        expect(await registry.isRegistered(operator.address)).to.equal(false);
      });

      it("reverts with an empty peer id", async () => {
        const { registry, operators, minimumStake } = await setup();
        await expect(registry.connect(first(operators)).registerNode("", [], "", { value: minimumStake }))
          .to.be.revertedWithCustomError(registry, "InvalidPeerId")
          .withArgs(0n, await registry.MAX_PEER_ID_LENGTH());
      });

      it("reverts with a peer id longer than MAX_PEER_ID_LENGTH bytes", async () => {
        const { registry, operators, minimumStake } = await setup();
        const max = await registry.MAX_PEER_ID_LENGTH();
        await expect(registry.connect(first(operators)).registerNode(ascii(max + 1n), [], "", { value: minimumStake }))
          .to.be.revertedWithCustomError(registry, "InvalidPeerId")
          .withArgs(max + 1n, max);
      });

      it("reverts with a region longer than MAX_REGION_LENGTH bytes", async () => {
        const { registry, operators, minimumStake } = await setup();
        const max = await registry.MAX_REGION_LENGTH();
        await expect(
          registry.connect(first(operators)).registerNode("peer", [], ascii(max + 1n), { value: minimumStake }),
        )
          .to.be.revertedWithCustomError(registry, "InvalidRegion")
          .withArgs(max + 1n, max);
      });

      it("reverts with more than MAX_MODELS models", async () => {
        const { registry, operators, minimumStake } = await setup();
        const max = await registry.MAX_MODELS();
        await expect(
          registry.connect(first(operators)).registerNode("peer", modelNames(max + 1n), "", { value: minimumStake }),
        )
          .to.be.revertedWithCustomError(registry, "InvalidModels")
          .withArgs(max + 1n, max);
      });

      it("reverts when a model name is empty, naming its position", async () => {
        const { registry, operators, minimumStake } = await setup();
        const nameMax = await registry.MAX_MODEL_NAME_LENGTH();
        const models = ["llama", "", "mistral"];
        await expect(registry.connect(first(operators)).registerNode("peer", models, "", { value: minimumStake }))
          .to.be.revertedWithCustomError(registry, "InvalidModelName")
          .withArgs(1n, 0n, nameMax);
      });

      it("reverts when a model name is longer than MAX_MODEL_NAME_LENGTH bytes, naming its position", async () => {
        const { registry, operators, minimumStake } = await setup();
        const nameMax = await registry.MAX_MODEL_NAME_LENGTH();
        const models = ["llama", ascii(nameMax + 1n)];
        await expect(registry.connect(first(operators)).registerNode("peer", models, "", { value: minimumStake }))
          .to.be.revertedWithCustomError(registry, "InvalidModelName")
          .withArgs(1n, nameMax + 1n, nameMax);
      });

      it("reverts while paused and works again after unpausing", async () => {
        const { registry, admin, operators, minimumStake } = await setup();
        const operator = first(operators);
        await pause();
        await expect(
          registry.connect(operator).registerNode("peer", [], "", { value: minimumStake }),
        ).to.be.revertedWithCustomError(registry, "EnforcedPause");
        await unpause();
        await register(registry, operator);
        expect(await registry.isRegistered(operator.address)).to.equal(true);
      });
    });

    describe("addStake", () => {
      it("adds the ETH sent to the node's stake and the total, and emits StakeAdded", async () => {
        const { registry, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake });
        const amount = 12345n;
        await expect(registry.connect(operator).addStake({ value: amount }))
          .to.emit(registry, "StakeAdded")
          .withArgs(operator.address, amount, minimumStake + amount);
        expect((await registry.getNode(operator.address)).stake).to.equal(minimumStake + amount);
        expect(await registry.totalStaked()).to.equal(base.totalStaked + minimumStake + amount);
      });

      it("moves the ETH from the operator into the registry", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await expect(registry.connect(operator).addStake({ value: 777n })).to.changeEtherBalances(
          ethers,
          [operator, custody],
          [-777n, 777n],
        );
      });

      it("reverts with zero value", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await expect(registry.connect(operator).addStake({ value: 0n })).to.be.revertedWithCustomError(
          registry,
          "ZeroAmount",
        );
      });

      it("adds stake while the node is leaving without reactivating it", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await registry.connect(operator).requestUnstake();
        const before = (await registry.getNode(operator.address)).stake;
        await registry.connect(operator).addStake({ value: 1n });
        const node = await registry.getNode(operator.address);
        expect(node.stake).to.equal(before + 1n);
        expect(node.active).to.equal(false);
      });
    });

    describe("updateModels", () => {
      it("replaces the whole model list and emits ModelsUpdated", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator, { models: ["a", "b", "c"], region: "eu", peerId: "peer" });
        await expect(registry.connect(operator).updateModels(["d"]))
          .to.emit(registry, "ModelsUpdated")
          .withArgs(operator.address, ["d"]);
        const node = await registry.getNode(operator.address);
        expect([...node.models]).to.deep.equal(["d"]);
        expect(await registry.supportsModel(operator.address, "a")).to.equal(false);
        expect(await registry.supportsModel(operator.address, "d")).to.equal(true);
        // Other fields are untouched.
        expect(node.region).to.equal("eu");
        expect(node.peerId).to.equal("peer");
        expect(node.active).to.equal(true);
      });

      it("can clear the model list and fill it up to MAX_MODELS", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator, { models: ["a"] });
        await registry.connect(operator).updateModels([]);
        expect([...(await registry.getNode(operator.address)).models]).to.deep.equal([]);
        const full = modelNames(await registry.MAX_MODELS());
        await registry.connect(operator).updateModels(full);
        expect([...(await registry.getNode(operator.address)).models]).to.deep.equal(full);
      });

      it("validates the list like registerNode does", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator, { models: ["keep"] });
        const max = await registry.MAX_MODELS();
        const nameMax = await registry.MAX_MODEL_NAME_LENGTH();
        await expect(registry.connect(operator).updateModels(modelNames(max + 1n)))
          .to.be.revertedWithCustomError(registry, "InvalidModels")
          .withArgs(max + 1n, max);
        await expect(registry.connect(operator).updateModels([""]))
          .to.be.revertedWithCustomError(registry, "InvalidModelName")
          .withArgs(0n, 0n, nameMax);
        await expect(registry.connect(operator).updateModels(["ok", ascii(nameMax + 1n)]))
          .to.be.revertedWithCustomError(registry, "InvalidModelName")
          .withArgs(1n, nameMax + 1n, nameMax);
        expect([...(await registry.getNode(operator.address)).models]).to.deep.equal(["keep"]);
      });
    });

    describe("updateRegion", () => {
      it("changes the region and emits RegionUpdated", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator, { region: "eu-west" });
        await expect(registry.connect(operator).updateRegion("ásia-東"))
          .to.emit(registry, "RegionUpdated")
          .withArgs(operator.address, "ásia-東");
        expect((await registry.getNode(operator.address)).region).to.equal("ásia-東");
      });

      it("can clear the region and set it to MAX_REGION_LENGTH bytes", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator, { region: "eu-west" });
        await registry.connect(operator).updateRegion("");
        expect((await registry.getNode(operator.address)).region).to.equal("");
        const longest = ascii(await registry.MAX_REGION_LENGTH());
        await registry.connect(operator).updateRegion(longest);
        expect((await registry.getNode(operator.address)).region).to.equal(longest);
      });

      it("reverts with a region longer than MAX_REGION_LENGTH bytes", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator, { region: "eu-west" });
        const max = await registry.MAX_REGION_LENGTH();
        await expect(registry.connect(operator).updateRegion(ascii(max + 1n)))
          .to.be.revertedWithCustomError(registry, "InvalidRegion")
          .withArgs(max + 1n, max);
        expect((await registry.getNode(operator.address)).region).to.equal("eu-west");
      });
    });

    describe("supportsModel", () => {
      it("matches listed models exactly", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator, { models: ["llama-3-8b", "mistral-7b"] });
        expect(await registry.supportsModel(operator.address, "llama-3-8b")).to.equal(true);
        expect(await registry.supportsModel(operator.address, "mistral-7b")).to.equal(true);
        expect(await registry.supportsModel(operator.address, "llama")).to.equal(false);
        expect(await registry.supportsModel(operator.address, "LLAMA-3-8B")).to.equal(false);
        expect(await registry.supportsModel(operator.address, "")).to.equal(false);
      });

      it("is false for a node without models and for an unregistered operator", async () => {
        const { registry, operators, stranger } = await setup();
        const operator = first(operators);
        await register(registry, operator, { models: [] });
        expect(await registry.supportsModel(operator.address, "llama-3-8b")).to.equal(false);
        expect(await registry.supportsModel(stranger.address, "llama-3-8b")).to.equal(false);
      });
    });

    describe("requestUnstake", () => {
      it("deactivates the node, records the request and emits availableAt = now + cooldown", async () => {
        const { registry, operators, cooldown, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const tx = await registry.connect(operator).requestUnstake();
        const requestedAt = await timestampOf(tx);
        await expect(tx)
          .to.emit(registry, "UnstakeRequested")
          .withArgs(operator.address, requestedAt + cooldown);
        const node = await registry.getNode(operator.address);
        expect(node.active).to.equal(false);
        expect(node.unstakeRequestedAt).to.equal(requestedAt);
        expect(await registry.isActiveNode(operator.address)).to.equal(false);
        // The node stays registered and its stake stays owed until it withdraws.
        expect(await registry.isRegistered(operator.address)).to.equal(true);
        expect(node.stake).to.equal(minimumStake);
        expect(await registry.totalStaked()).to.equal(base.totalStaked + minimumStake);
      });

      it("reverts when an unstake is already pending", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await registry.connect(operator).requestUnstake();
        await expect(registry.connect(operator).requestUnstake())
          .to.be.revertedWithCustomError(registry, "UnstakePending")
          .withArgs(operator.address);
      });
    });

    describe("cancelUnstake", () => {
      it("reactivates the node, clears the request and emits UnstakeCancelled", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await registry.connect(operator).requestUnstake();
        await expect(registry.connect(operator).cancelUnstake())
          .to.emit(registry, "UnstakeCancelled")
          .withArgs(operator.address);
        const node = await registry.getNode(operator.address);
        expect(node.active).to.equal(true);
        expect(node.unstakeRequestedAt).to.equal(0n);
        // With the request cleared, withdrawing is no longer possible and staking is again.
        await expect(registry.connect(operator).withdrawStake())
          .to.be.revertedWithCustomError(registry, "UnstakeNotRequested")
          .withArgs(operator.address);
        await registry.connect(operator).addStake({ value: 1n });
      });

      it("reverts when no unstake was requested", async () => {
        const { registry, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await expect(registry.connect(operator).cancelUnstake())
          .to.be.revertedWithCustomError(registry, "UnstakeNotRequested")
          .withArgs(operator.address);
      });

      it("refuses to reactivate a node slashed below the minimum while leaving", async () => {
        const { registry, admin, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake });
        await registry.connect(operator).requestUnstake();
        await registry.connect(admin).slash(operator.address, 1n, "misbehaved while leaving");
        await expect(registry.connect(operator).cancelUnstake())
          .to.be.revertedWithCustomError(registry, "StakeBelowMinimum")
          .withArgs(minimumStake - 1n, minimumStake);
        const node = await registry.getNode(operator.address);
        expect(node.active).to.equal(false);
        expect(node.unstakeRequestedAt).to.not.equal(0n);
        // Topping up while leaving unblocks the cancellation.
        await registry.connect(operator).addStake({ value: 1n });
        await registry.connect(operator).cancelUnstake();
        expect(await registry.isActiveNode(operator.address)).to.equal(true);
      });
    });

    describe("withdrawStake", () => {
      it("reverts with CooldownNotElapsed(availableAt) before the cooldown", async () => {
        const { registry, operators, cooldown } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const requestedAt = await timestampOf(await registry.connect(operator).requestUnstake());
        const availableAt = requestedAt + cooldown;
        await expect(registry.connect(operator).withdrawStake())
          .to.be.revertedWithCustomError(registry, "CooldownNotElapsed")
          .withArgs(availableAt);
        await networkHelpers.time.increaseTo(availableAt - 2n);
        // The next block is at availableAt - 1: still one second short.
        await expect(registry.connect(operator).withdrawStake())
          .to.be.revertedWithCustomError(registry, "CooldownNotElapsed")
          .withArgs(availableAt);
        expect(await registry.isRegistered(operator.address)).to.equal(true);
      });

      it("allows withdrawing exactly when the cooldown ends", async () => {
        const { registry, operators, cooldown } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const requestedAt = await timestampOf(await registry.connect(operator).requestUnstake());
        await networkHelpers.time.setNextBlockTimestamp(requestedAt + cooldown);
        const tx = await registry.connect(operator).withdrawStake();
        expect(await timestampOf(tx)).to.equal(requestedAt + cooldown);
        expect(await registry.isRegistered(operator.address)).to.equal(false);
      });

      it("pays the whole stake back to the operator after the cooldown", async () => {
        const { registry, operators, cooldown, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake * 2n });
        await registry.connect(operator).addStake({ value: 5n });
        const stake = minimumStake * 2n + 5n;
        await registry.connect(operator).requestUnstake();
        await networkHelpers.time.increase(cooldown);
        await expect(registry.connect(operator).withdrawStake()).to.changeEtherBalances(
          ethers,
          [operator, custody],
          [stake, -stake],
        );
      });

      it("emits StakeWithdrawn with the amount paid", async () => {
        const { registry, operators, cooldown, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake + 9n });
        await registry.connect(operator).requestUnstake();
        await networkHelpers.time.increase(cooldown);
        await expect(registry.connect(operator).withdrawStake())
          .to.emit(registry, "StakeWithdrawn")
          .withArgs(operator.address, minimumStake + 9n);
      });

      it("removes the node, its reputation and its stake from the totals", async () => {
        const { registry, operators, reputer, cooldown, minimumStake } = await setup();
        const [a, b] = operators as [HardhatEthersSigner, HardhatEthersSigner];
        await register(registry, a, { stake: minimumStake * 2n, models: ["m1", "m2"] });
        await register(registry, b, { stake: minimumStake });
        await registry.connect(reputer).increaseReputation(a.address, 50n);
        await registry.connect(a).requestUnstake();
        await networkHelpers.time.increase(cooldown);
        await registry.connect(a).withdrawStake();

        expect(await registry.isRegistered(a.address)).to.equal(false);
        expect(await registry.isActiveNode(a.address)).to.equal(false);
        expect(await registry.reputationOf(a.address)).to.equal(0n);
        expect(await registry.supportsModel(a.address, "m1")).to.equal(false);
        expect(await registry.nodeCount()).to.equal(base.nodeCount + 1n);
        expect(await registry.totalStaked()).to.equal(base.totalStaked + minimumStake);
        const node = await registry.getNode(a.address);
        expect(node.operator).to.equal(ZeroAddress);
        expect(node.peerId).to.equal("");
        expect(node.stake).to.equal(0n);
        expect([...node.models]).to.deep.equal([]);
        expect(node.region).to.equal("");
        expect(node.registeredAt).to.equal(0n);
        expect(node.unstakeRequestedAt).to.equal(0n);
      });

      it("lets the operator register again afterwards with a fresh reputation", async () => {
        const { registry, operators, reputer, cooldown } = await setup();
        const operator = first(operators);
        await register(registry, operator, { models: ["old"] });
        await registry.connect(reputer).decreaseReputation(operator.address, 30n);
        await registry.connect(operator).requestUnstake();
        await networkHelpers.time.increase(cooldown);
        await registry.connect(operator).withdrawStake();
        await register(registry, operator, { models: ["new"] });
        expect(await registry.reputationOf(operator.address)).to.equal(await registry.INITIAL_REPUTATION());
        expect([...(await registry.getNode(operator.address)).models]).to.deep.equal(["new"]);
        expect(await registry.nodeCount()).to.equal(base.nodeCount + 1n);
      });

      it("keeps enumeration dense and correct when a node in the middle of the list leaves", async () => {
        const { registry, operators, reputer, cooldown } = await setup();
        const [a, b, c] = operators as [HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner];
        await register(registry, a);
        await register(registry, b);
        await register(registry, c);
        await registry.connect(reputer).increaseReputation(b.address, 20n);
        await registry.connect(reputer).increaseReputation(c.address, 30n);
        const initial = await registry.INITIAL_REPUTATION();

        await registry.connect(a).requestUnstake();
        await networkHelpers.time.increase(cooldown);
        await registry.connect(a).withdrawStake();

        expect(await registry.nodeCount()).to.equal(base.nodeCount + 2n);
        const [nodes, reputations] = await registry.getNodesPage(base.nodeCount, 10n);
        const listed = nodes.map((node) => node.operator);
        expect(listed).to.have.members([b.address, c.address]);
        expect(listed).to.have.lengthOf(2);
        for (let i = 0; i < nodes.length; ++i) {
          const expected = listed[i] === b.address ? initial + 20n : initial + 30n;
          expect(reputations[i]).to.equal(expected);
        }
        expect(await registry.isRegistered(a.address)).to.equal(false);
        expect(await registry.isRegistered(b.address)).to.equal(true);
        expect(await registry.isRegistered(c.address)).to.equal(true);

        // The node moved into the freed slot must still be removable without disturbing the other.
        await registry.connect(c).requestUnstake();
        await networkHelpers.time.increase(cooldown);
        await registry.connect(c).withdrawStake();
        const [after] = await registry.getNodesPage(base.nodeCount, 10n);
        expect(after.map((node) => node.operator)).to.deep.equal([b.address]);
        expect(await registry.isRegistered(c.address)).to.equal(false);
        expect(await registry.isRegistered(b.address)).to.equal(true);

        // And the last one leaves an empty registry.
        await registry.connect(b).requestUnstake();
        await networkHelpers.time.increase(cooldown);
        await registry.connect(b).withdrawStake();
        expect(await registry.nodeCount()).to.equal(base.nodeCount);
        expect((await registry.getNodesPage(base.nodeCount, 10n))[0]).to.have.lengthOf(0);
      });

      it("removes a fully slashed node without paying anything", async () => {
        const { registry, admin, operators, cooldown, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake });
        await registry.connect(operator).requestUnstake();
        await registry.connect(admin).slash(operator.address, minimumStake, "fraud");
        await networkHelpers.time.increase(cooldown);
        const tx = registry.connect(operator).withdrawStake();
        await expect(tx).to.emit(registry, "StakeWithdrawn").withArgs(operator.address, 0n);
        await expect(tx).to.changeEtherBalances(ethers, [operator, custody], [0n, 0n]);
        expect(await registry.isRegistered(operator.address)).to.equal(false);
      });

      it("reverts when no unstake was requested", async () => {
        const { registry, operators, cooldown } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await networkHelpers.time.increase(cooldown);
        await expect(registry.connect(operator).withdrawStake())
          .to.be.revertedWithCustomError(registry, "UnstakeNotRequested")
          .withArgs(operator.address);
      });
    });

    /**
     * The operator functions: each is reserved to a registered node and blocked while the registry is paused.
     * `prepare` brings a freshly registered operator to the state in which the call would otherwise succeed.
     */
    interface HostFunction {
      name: string;
      call(registry: NodeRegistryV1, signer: HardhatEthersSigner): Promise<ContractTransactionResponse>;
      prepare?(s: Setup, operator: HardhatEthersSigner): Promise<void>;
    }

    const hostFunctions: HostFunction[] = [
      { name: "addStake", call: (registry, signer) => registry.connect(signer).addStake({ value: 1n }) },
      { name: "updateModels", call: (registry, signer) => registry.connect(signer).updateModels(["a"]) },
      { name: "updateRegion", call: (registry, signer) => registry.connect(signer).updateRegion("eu") },
      { name: "requestUnstake", call: (registry, signer) => registry.connect(signer).requestUnstake() },
      {
        name: "cancelUnstake",
        call: (registry, signer) => registry.connect(signer).cancelUnstake(),
        prepare: async ({ registry }, operator) => {
          await registry.connect(operator).requestUnstake();
        },
      },
      {
        name: "withdrawStake",
        call: (registry, signer) => registry.connect(signer).withdrawStake(),
        prepare: async ({ registry, cooldown }, operator) => {
          await registry.connect(operator).requestUnstake();
          await networkHelpers.time.increase(cooldown);
        },
      },
    ];

    describe("operator functions: caller and pause guards", () => {
      for (const { name, call, prepare } of hostFunctions) {
        it(`${name} reverts for an unregistered caller`, async () => {
          const { registry, stranger } = await setup();
          await expect(call(registry, stranger))
            .to.be.revertedWithCustomError(registry, "NodeNotRegistered")
            .withArgs(stranger.address);
        });

        it(`${name} reverts while paused`, async () => {
          const s = await setup();
          const { registry, admin, operators } = s;
          const operator = first(operators);
          await register(registry, operator);
          await prepare?.(s, operator);
          await pause();
          await expect(call(registry, operator)).to.be.revertedWithCustomError(registry, "EnforcedPause");
        });
      }
    });

    describe("slash", () => {
      it("moves exactly the slashed amount from the registry to the treasury", async () => {
        const { registry, admin, treasury, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake * 2n });
        await expect(registry.connect(admin).slash(operator.address, 1234n, "late")).to.changeEtherBalances(
          ethers,
          [custody, treasury, operator],
          [-1234n, 1234n, 0n],
        );
        expect((await registry.getNode(operator.address)).stake).to.equal(minimumStake * 2n - 1234n);
        expect(await registry.totalStaked()).to.equal(base.totalStaked + minimumStake * 2n - 1234n);
      });

      it("emits NodeSlashed with the amount and reason", async () => {
        const { registry, admin, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await expect(registry.connect(admin).slash(operator.address, 1n, "served wrong model"))
          .to.emit(registry, "NodeSlashed")
          .withArgs(operator.address, 1n, "served wrong model");
      });

      it("keeps the node active while its stake stays at or above the minimum", async () => {
        const { registry, admin, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake + 10n });
        await registry.connect(admin).slash(operator.address, 10n, "minor");
        expect((await registry.getNode(operator.address)).stake).to.equal(minimumStake);
        expect(await registry.isActiveNode(operator.address)).to.equal(true);
      });

      it("deactivates the node when its stake falls below the minimum", async () => {
        const { registry, admin, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake + 10n });
        await registry.connect(admin).slash(operator.address, 11n, "major");
        expect(await registry.isActiveNode(operator.address)).to.equal(false);
        expect(await registry.isRegistered(operator.address)).to.equal(true);
      });

      it("can take the whole stake", async () => {
        const { registry, admin, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake });
        await registry.connect(admin).slash(operator.address, minimumStake, "fraud");
        expect((await registry.getNode(operator.address)).stake).to.equal(0n);
        expect(await registry.totalStaked()).to.equal(base.totalStaked);
        expect(await registry.isActiveNode(operator.address)).to.equal(false);
      });

      it("lets a node slashed below the minimum top up and serve again", async () => {
        const { registry, admin, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake });
        await registry.connect(admin).slash(operator.address, minimumStake / 2n, "late");
        await registry.connect(operator).addStake({ value: minimumStake / 2n - 1n });
        expect(await registry.isActiveNode(operator.address)).to.equal(false);
        await registry.connect(operator).addStake({ value: 1n });
        expect(await registry.isActiveNode(operator.address)).to.equal(true);
      });

      it("works while paused", async () => {
        const { registry, admin, treasury, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await pause();
        await expect(registry.connect(admin).slash(operator.address, 5n, "paused")).to.changeEtherBalances(
          ethers,
          [custody, treasury],
          [-5n, 5n],
        );
      });

      it("reverts for a caller without SLASHER_ROLE", async () => {
        const { registry, operators, stranger } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await expect(registry.connect(stranger).slash(operator.address, 1n, "x"))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, await registry.SLASHER_ROLE());
      });

      it("reverts with a zero amount", async () => {
        const { registry, admin, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        await expect(registry.connect(admin).slash(operator.address, 0n, "x")).to.be.revertedWithCustomError(
          registry,
          "ZeroAmount",
        );
      });

      it("reverts when the amount exceeds the stake", async () => {
        const { registry, admin, operators, minimumStake } = await setup();
        const operator = first(operators);
        await register(registry, operator, { stake: minimumStake });
        await expect(registry.connect(admin).slash(operator.address, minimumStake + 1n, "x"))
          .to.be.revertedWithCustomError(registry, "SlashExceedsStake")
          .withArgs(minimumStake + 1n, minimumStake);
      });

      it("reverts for an unregistered operator", async () => {
        const { registry, admin, stranger } = await setup();
        await expect(registry.connect(admin).slash(stranger.address, 1n, "x"))
          .to.be.revertedWithCustomError(registry, "NodeNotRegistered")
          .withArgs(stranger.address);
      });
    });

    describe("reputation", () => {
      it("increaseReputation adds the amount and emits ReputationChanged(old, new)", async () => {
        const { registry, operators, reputer } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const initial = await registry.INITIAL_REPUTATION();
        await expect(registry.connect(reputer).increaseReputation(operator.address, 7n))
          .to.emit(registry, "ReputationChanged")
          .withArgs(operator.address, initial, initial + 7n);
        expect(await registry.reputationOf(operator.address)).to.equal(initial + 7n);
      });

      it("increaseReputation caps at MAX_REPUTATION", async () => {
        const { registry, operators, reputer } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const initial = await registry.INITIAL_REPUTATION();
        const max = await registry.MAX_REPUTATION();
        // Exactly reaching the maximum.
        await registry.connect(reputer).increaseReputation(operator.address, max - initial);
        expect(await registry.reputationOf(operator.address)).to.equal(max);
        // Beyond it, nothing more.
        await expect(registry.connect(reputer).increaseReputation(operator.address, 1n))
          .to.emit(registry, "ReputationChanged")
          .withArgs(operator.address, max, max);
        expect(await registry.reputationOf(operator.address)).to.equal(max);
      });

      it("increaseReputation caps rather than overshooting in a single large step", async () => {
        const { registry, operators, reputer } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const initial = await registry.INITIAL_REPUTATION();
        const max = await registry.MAX_REPUTATION();
        await expect(registry.connect(reputer).increaseReputation(operator.address, max))
          .to.emit(registry, "ReputationChanged")
          .withArgs(operator.address, initial, max);
      });

      it("increaseReputation caps at MAX_REPUTATION even for the largest uint256 amount", async () => {
        const { registry, operators, reputer } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const initial = await registry.INITIAL_REPUTATION();
        const max = await registry.MAX_REPUTATION();
        await expect(registry.connect(reputer).increaseReputation(operator.address, MaxUint256))
          .to.emit(registry, "ReputationChanged")
          .withArgs(operator.address, initial, max);
        expect(await registry.reputationOf(operator.address)).to.equal(max);
      });

      it("decreaseReputation subtracts the amount and emits ReputationChanged(old, new)", async () => {
        const { registry, operators, reputer } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const initial = await registry.INITIAL_REPUTATION();
        await expect(registry.connect(reputer).decreaseReputation(operator.address, 7n))
          .to.emit(registry, "ReputationChanged")
          .withArgs(operator.address, initial, initial - 7n);
        expect(await registry.reputationOf(operator.address)).to.equal(initial - 7n);
      });

      it("decreaseReputation floors at zero", async () => {
        const { registry, operators, reputer } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const initial = await registry.INITIAL_REPUTATION();
        // Exactly reaching zero.
        await expect(registry.connect(reputer).decreaseReputation(operator.address, initial))
          .to.emit(registry, "ReputationChanged")
          .withArgs(operator.address, initial, 0n);
        await registry.connect(reputer).increaseReputation(operator.address, 3n);
        // Far beyond it.
        await expect(registry.connect(reputer).decreaseReputation(operator.address, MaxUint256))
          .to.emit(registry, "ReputationChanged")
          .withArgs(operator.address, 3n, 0n);
        expect(await registry.reputationOf(operator.address)).to.equal(0n);
      });

      it("changes only the targeted node's reputation", async () => {
        const { registry, operators, reputer } = await setup();
        const [a, b] = operators as [HardhatEthersSigner, HardhatEthersSigner];
        await register(registry, a);
        await register(registry, b);
        const initial = await registry.INITIAL_REPUTATION();
        await registry.connect(reputer).increaseReputation(a.address, 10n);
        await registry.connect(reputer).decreaseReputation(a.address, 3n);
        expect(await registry.reputationOf(a.address)).to.equal(initial + 7n);
        expect(await registry.reputationOf(b.address)).to.equal(initial);
      });

      it("the marketplace (REPUTATION_ROLE holder) may change reputation", async () => {
        const { registry, marketplace, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const marketplaceAddress = marketplace;
        await networkHelpers.impersonateAccount(marketplaceAddress);
        await networkHelpers.setBalance(marketplaceAddress, 10n ** 18n);
        const asMarketplace = await ethers.getSigner(marketplaceAddress);
        await registry.connect(asMarketplace).decreaseReputation(operator.address, 1n);
        await networkHelpers.stopImpersonatingAccount(marketplaceAddress);
        expect(await registry.reputationOf(operator.address)).to.equal((await registry.INITIAL_REPUTATION()) - 1n);
      });

      it("reverts for an unregistered operator", async () => {
        const { registry, reputer, stranger } = await setup();
        await expect(registry.connect(reputer).increaseReputation(stranger.address, 1n))
          .to.be.revertedWithCustomError(registry, "NodeNotRegistered")
          .withArgs(stranger.address);
        await expect(registry.connect(reputer).decreaseReputation(stranger.address, 1n))
          .to.be.revertedWithCustomError(registry, "NodeNotRegistered")
          .withArgs(stranger.address);
      });

      it("reverts for a caller without REPUTATION_ROLE, even the admin", async () => {
        const { registry, admin, operators } = await setup();
        const operator = first(operators);
        await register(registry, operator);
        const role = await registry.REPUTATION_ROLE();
        await expect(registry.connect(admin).increaseReputation(operator.address, 1n))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(admin.address, role);
        await expect(registry.connect(operator).decreaseReputation(operator.address, 1n))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(operator.address, role);
      });
    });

    describe("admin setters", () => {
      it("setMinimumStake updates the minimum, emits MinimumStakeChanged and applies to registrations", async () => {
        const { registry, admin, operators, minimumStake } = await setup();
        const operator = first(operators);
        const updated = minimumStake * 5n;
        await expect(registry.connect(admin).setMinimumStake(updated))
          .to.emit(registry, "MinimumStakeChanged")
          .withArgs(minimumStake, updated);
        expect(await registry.minimumStake()).to.equal(updated);
        await expect(registry.connect(operator).registerNode("peer", [], "", { value: updated - 1n }))
          .to.be.revertedWithCustomError(registry, "StakeBelowMinimum")
          .withArgs(updated - 1n, updated);
        await register(registry, operator, { stake: updated });
      });

      it("setMinimumStake accepts the bounds 1 wei and MAX_MINIMUM_STAKE", async () => {
        const { registry, admin } = await setup();
        const max = await registry.MAX_MINIMUM_STAKE();
        await registry.connect(admin).setMinimumStake(1n);
        expect(await registry.minimumStake()).to.equal(1n);
        await registry.connect(admin).setMinimumStake(max);
        expect(await registry.minimumStake()).to.equal(max);
      });

      it("setMinimumStake rejects zero and values above MAX_MINIMUM_STAKE", async () => {
        const { registry, admin, minimumStake } = await setup();
        const max = await registry.MAX_MINIMUM_STAKE();
        await expect(registry.connect(admin).setMinimumStake(0n))
          .to.be.revertedWithCustomError(registry, "ValueOutOfRange")
          .withArgs(0n, 1n, max);
        await expect(registry.connect(admin).setMinimumStake(max + 1n))
          .to.be.revertedWithCustomError(registry, "ValueOutOfRange")
          .withArgs(max + 1n, 1n, max);
        expect(await registry.minimumStake()).to.equal(minimumStake);
      });

      it("setUnstakeCooldown updates the cooldown and emits UnstakeCooldownChanged", async () => {
        const { registry, admin, cooldown } = await setup();
        await expect(registry.connect(admin).setUnstakeCooldown(cooldown + 1n))
          .to.emit(registry, "UnstakeCooldownChanged")
          .withArgs(cooldown, cooldown + 1n);
        expect(await registry.unstakeCooldown()).to.equal(cooldown + 1n);
      });

      it("setUnstakeCooldown accepts 0 (immediate withdrawal) and MAX_UNSTAKE_COOLDOWN", async () => {
        const { registry, admin, operators, minimumStake } = await setup();
        const operator = first(operators);
        const max = await registry.MAX_UNSTAKE_COOLDOWN();
        await registry.connect(admin).setUnstakeCooldown(max);
        expect(await registry.unstakeCooldown()).to.equal(max);
        await registry.connect(admin).setUnstakeCooldown(0n);
        expect(await registry.unstakeCooldown()).to.equal(0n);
        await register(registry, operator, { stake: minimumStake });
        await registry.connect(operator).requestUnstake();
        await expect(registry.connect(operator).withdrawStake()).to.changeEtherBalance(ethers, operator, minimumStake);
      });

      it("setUnstakeCooldown rejects values above MAX_UNSTAKE_COOLDOWN", async () => {
        const { registry, admin, cooldown } = await setup();
        const max = await registry.MAX_UNSTAKE_COOLDOWN();
        await expect(registry.connect(admin).setUnstakeCooldown(max + 1n))
          .to.be.revertedWithCustomError(registry, "ValueOutOfRange")
          .withArgs(max + 1n, 0n, max);
        expect(await registry.unstakeCooldown()).to.equal(cooldown);
      });

      it("setTreasury updates the treasury, emits TreasuryChanged and redirects slashed stake", async () => {
        const { registry, admin, treasury, operators, stranger } = await setup();
        const operator = first(operators);
        await expect(registry.connect(admin).setTreasury(stranger.address))
          .to.emit(registry, "TreasuryChanged")
          .withArgs(treasury.address, stranger.address);
        expect(await registry.treasury()).to.equal(stranger.address);
        await register(registry, operator);
        await expect(registry.connect(admin).slash(operator.address, 3n, "x")).to.changeEtherBalances(
          ethers,
          [stranger, treasury],
          [3n, 0n],
        );
      });

      it("setTreasury rejects the zero address", async () => {
        const { registry, admin, treasury } = await setup();
        await expect(registry.connect(admin).setTreasury(ZeroAddress)).to.be.revertedWithCustomError(
          registry,
          "ZeroAddress",
        );
        expect(await registry.treasury()).to.equal(treasury.address);
      });

      it("only DEFAULT_ADMIN_ROLE may call the setters", async () => {
        const { registry, stranger, minimumStake, cooldown } = await setup();
        const role = await registry.DEFAULT_ADMIN_ROLE();
        await expect(registry.connect(stranger).setMinimumStake(minimumStake))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, role);
        await expect(registry.connect(stranger).setUnstakeCooldown(cooldown))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, role);
        await expect(registry.connect(stranger).setTreasury(stranger.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, role);
      });
    });

    describe("getNodesPage", () => {
      async function threeNodes() {
        const s = await setup();
        const [a, b, c] = s.operators as [HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner];
        const min = s.minimumStake;
        await register(s.registry, a, { stake: min, models: ["a"] });
        await register(s.registry, b, { stake: min * 2n, models: ["b"] });
        await register(s.registry, c, { stake: min * 3n, models: ["c"] });
        return { ...s, a, b, c };
      }

      it("returns empty arrays for an empty registry", async () => {
        const { registry } = await setup();
        // Past the nodes already present (none on a fresh V1).
        const [nodes, reputations] = await registry.getNodesPage(base.nodeCount, 10n);
        expect(nodes).to.have.lengthOf(0);
        expect(reputations).to.have.lengthOf(0);
      });

      it("returns empty arrays when the offset is at or beyond the node count", async () => {
        const { registry } = await threeNodes();
        for (const offset of [base.nodeCount + 3n, base.nodeCount + 4n, MaxUint256]) {
          const [nodes, reputations] = await registry.getNodesPage(offset, 10n);
          expect(nodes).to.have.lengthOf(0, `offset ${offset}`);
          expect(reputations).to.have.lengthOf(0, `offset ${offset}`);
        }
      });

      it("returns nodes in registration order with all their fields", async () => {
        const { registry, a, b, c, minimumStake } = await threeNodes();
        const [nodes] = await registry.getNodesPage(base.nodeCount, 3n);
        expect(nodes.map((n) => n.operator)).to.deep.equal([a.address, b.address, c.address]);
        expect(nodes.map((n) => n.stake)).to.deep.equal([minimumStake, minimumStake * 2n, minimumStake * 3n]);
        expect(nodes.map((n) => [...n.models])).to.deep.equal([["a"], ["b"], ["c"]]);
        expect(nodes.map((n) => n.active)).to.deep.equal([true, true, true]);
      });

      it("clips the page to the nodes that exist", async () => {
        const { registry, a, b, c } = await threeNodes();
        // Offsets count from the first node this test registered (the first node on a fresh V1).
        const operatorsOf = async (offset: bigint, limit: bigint) =>
          (await registry.getNodesPage(base.nodeCount + offset, limit))[0].map((n) => n.operator);
        expect(await operatorsOf(0n, 2n)).to.deep.equal([a.address, b.address]);
        expect(await operatorsOf(1n, 10n)).to.deep.equal([b.address, c.address]);
        expect(await operatorsOf(2n, 1n)).to.deep.equal([c.address]);
        expect(await operatorsOf(1n, 1n)).to.deep.equal([b.address]);
        expect(await operatorsOf(1n, MaxUint256)).to.deep.equal([b.address, c.address]);
        expect(await operatorsOf(0n, 0n)).to.deep.equal([]);
      });

      it("returns reputations aligned with the nodes", async () => {
        const { registry, reputer, a, b, c } = await threeNodes();
        const initial = await registry.INITIAL_REPUTATION();
        await registry.connect(reputer).increaseReputation(a.address, 1n);
        await registry.connect(reputer).decreaseReputation(b.address, 2n);
        await registry.connect(reputer).increaseReputation(c.address, 3n);
        const [nodes, reputations] = await registry.getNodesPage(base.nodeCount + 1n, 2n);
        expect(nodes.map((n) => n.operator)).to.deep.equal([b.address, c.address]);
        expect([...reputations]).to.deep.equal([initial - 2n, initial + 3n]);
        const [, all] = await registry.getNodesPage(base.nodeCount, 3n);
        expect([...all]).to.deep.equal([initial + 1n, initial - 2n, initial + 3n]);
      });
    });

    describe("accounting invariant", () => {
      it("keeps the registry balance equal to totalStaked and to the sum of node stakes", async () => {
        const s = await setup();
        const { registry, admin, operators, cooldown, minimumStake } = s;
        const [a, b, c, d] = operators as [
          HardhatEthersSigner,
          HardhatEthersSigner,
          HardhatEthersSigner,
          HardhatEthersSigner,
        ];
        await expectBalanceInvariant(s);
        await register(registry, a, { stake: minimumStake });
        await register(registry, b, { stake: minimumStake * 3n + 7n });
        await register(registry, c, { stake: minimumStake * 2n });
        await expectBalanceInvariant(s);

        await registry.connect(a).addStake({ value: 11n });
        await registry.connect(b).addStake({ value: minimumStake });
        await expectBalanceInvariant(s);

        await registry.connect(admin).slash(b.address, minimumStake + 3n, "late");
        await registry.connect(admin).slash(c.address, minimumStake * 2n, "fraud");
        await expectBalanceInvariant(s);

        await registry.connect(a).requestUnstake();
        await registry.connect(c).requestUnstake();
        await register(registry, d, { stake: minimumStake * 4n });
        await registry.connect(admin).slash(a.address, 1n, "while leaving");
        await networkHelpers.time.increase(cooldown);
        await registry.connect(a).withdrawStake();
        await expectBalanceInvariant(s);
        await registry.connect(c).withdrawStake();
        await expectBalanceInvariant(s);

        await registry.connect(d).addStake({ value: 5n });
        await registry.connect(admin).slash(d.address, 2n, "late");
        await expectBalanceInvariant(s);

        expect(await registry.nodeCount()).to.equal(base.nodeCount + 2n);
        expect(await registry.totalStaked()).to.equal(
          base.totalStaked + minimumStake * 3n + 7n + minimumStake - (minimumStake + 3n) + minimumStake * 4n + 5n - 2n,
        );
      });
    });

    describe("governance", () => {
      it("pause and unpause are reserved to PAUSER_ROLE", async () => {
        const { registry, stranger, admin } = await setup();
        const role = await registry.PAUSER_ROLE();
        await expect(registry.connect(stranger).pause())
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, role);
        await expect(registry.connect(admin).pause()).to.emit(registry, "Paused").withArgs(admin.address);
        expect(await registry.paused()).to.equal(true);
        await expect(registry.connect(stranger).unpause())
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, role);
        await expect(registry.connect(admin).unpause()).to.emit(registry, "Unpaused").withArgs(admin.address);
        expect(await registry.paused()).to.equal(false);
      });

      it("a PAUSER_ROLE holder without admin rights can pause", async () => {
        const { registry, admin, stranger } = await setup();
        await registry.connect(admin).grantRole(await registry.PAUSER_ROLE(), stranger.address);
        await registry.connect(stranger).pause();
        expect(await registry.paused()).to.equal(true);
      });

      it("upgradeToAndCall by an account without UPGRADER_ROLE reverts", async () => {
        const { registry, stranger } = await setup();
        const implementation = await ethers.deployContract("NodeRegistryV1");
        await expect(registry.connect(stranger).upgradeToAndCall(await implementation.getAddress(), "0x"))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, await registry.UPGRADER_ROLE());
      });

      itV1Only(
        "an upgrade to another V1 implementation",
        "the UPGRADER_ROLE holder can upgrade, and state survives the upgrade",
        async () => {
          const { registry, admin, operators, minimumStake } = await setup();
          const operator = first(operators);
          await register(registry, operator, { stake: minimumStake * 2n, models: ["m"] });
          const proxy = await registry.getAddress();
          const before = await upgradesApi.erc1967.getImplementationAddress(proxy);
          const implementation = await ethers.deployContract("NodeRegistryV1");
          const implementationAddress = await implementation.getAddress();
          await expect(registry.connect(admin).upgradeToAndCall(implementationAddress, "0x"))
            .to.emit(registry, "Upgraded")
            .withArgs(implementationAddress);
          const after = await upgradesApi.erc1967.getImplementationAddress(proxy);
          expect(after).to.not.equal(before);
          expect(after).to.equal(implementationAddress);
          expect(await registry.isRegistered(operator.address)).to.equal(true);
          expect((await registry.getNode(operator.address)).stake).to.equal(minimumStake * 2n);
          expect(await registry.totalStaked()).to.equal(minimumStake * 2n);
          expect(await registry.minimumStake()).to.equal(minimumStake);
        },
      );

      it("initialize cannot be called again on the proxy", async () => {
        const { registry, stranger, minimumStake, cooldown } = await setup();
        await expect(
          registry.connect(stranger).initialize(stranger.address, stranger.address, minimumStake, cooldown),
        ).to.be.revertedWithCustomError(registry, "InvalidInitialization");
      });

      itV1Only(
        "V1's implementation contract",
        "the implementation behind the proxy cannot be initialized",
        async () => {
          const { registry, stranger, minimumStake, cooldown } = await setup();
          const implementation = await ethers.getContractAt(
            "NodeRegistryV1",
            await upgradesApi.erc1967.getImplementationAddress(await registry.getAddress()),
          );
          await expect(
            implementation.connect(stranger).initialize(stranger.address, stranger.address, minimumStake, cooldown),
          ).to.be.revertedWithCustomError(implementation, "InvalidInitialization");
        },
      );

      describe("initialize validates its arguments", () => {
        async function deployProxy(args: [string, string, bigint, bigint]) {
          const factory = await ethers.getContractFactory("NodeRegistryV1");
          return upgradesApi.deployProxy(factory, args, { kind: "uups", initializer: "initialize" });
        }

        itV1Only("initializer arguments", "rejects a zero admin", async () => {
          const { registry, treasury, minimumStake, cooldown } = await setup();
          await expect(
            deployProxy([ZeroAddress, treasury.address, minimumStake, cooldown]),
          ).to.be.revertedWithCustomError(registry, "ZeroAddress");
        });

        itV1Only("initializer arguments", "rejects a zero treasury", async () => {
          const { registry, admin, minimumStake, cooldown } = await setup();
          await expect(deployProxy([admin.address, ZeroAddress, minimumStake, cooldown])).to.be.revertedWithCustomError(
            registry,
            "ZeroAddress",
          );
        });

        itV1Only("initializer arguments", "rejects an out-of-range minimum stake or cooldown", async () => {
          const { registry, admin, treasury, minimumStake, cooldown } = await setup();
          const maxCooldown = await registry.MAX_UNSTAKE_COOLDOWN();
          await expect(deployProxy([admin.address, treasury.address, 0n, cooldown]))
            .to.be.revertedWithCustomError(registry, "ValueOutOfRange")
            .withArgs(0n, 1n, await registry.MAX_MINIMUM_STAKE());
          await expect(deployProxy([admin.address, treasury.address, minimumStake, maxCooldown + 1n]))
            .to.be.revertedWithCustomError(registry, "ValueOutOfRange")
            .withArgs(maxCooldown + 1n, 0n, maxCooldown);
        });

        itV1Only("initializer arguments", "sets up a fresh proxy with the given parameters", async () => {
          const { registry, admin, treasury } = await setup();
          const fresh = (await deployProxy([admin.address, treasury.address, 1n, 0n])) as unknown as NodeRegistryV1;
          expect(await fresh.minimumStake()).to.equal(1n);
          expect(await fresh.unstakeCooldown()).to.equal(0n);
          expect(await fresh.treasury()).to.equal(treasury.address);
          expect(await fresh.hasRole(await registry.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
          expect(await fresh.hasRole(await registry.UPGRADER_ROLE(), admin.address)).to.equal(true);
          expect(await fresh.hasRole(await registry.PAUSER_ROLE(), admin.address)).to.equal(true);
          // The initializer does not hand out the slasher role: the deploy script does.
          expect(await fresh.hasRole(await registry.SLASHER_ROLE(), admin.address)).to.equal(false);
        });
      });
    });
  });
}
