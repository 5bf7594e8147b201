import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { JobMarketplaceV1, NodeRegistryV1, PaymentEscrowV1, TestUSDC } from "../../typechain-types/index.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { expectCrossEvent, expectNoReputationChange } from "./crossEvents.js";
import {
  conformanceIt,
  v1OnlyIt,
  type Baseline,
  type ConformanceStack,
  type ContractKey,
  type Target,
} from "./targets.js";

const { ZeroAddress, ZeroHash, MaxUint256, id, parseEther, parseUnits } = ethers;
const ETH = ZeroAddress;

/** Mirrors IJobMarketplaceV1.JobStatus. */
const Status = { None: 0n, Posted: 1n, Claimed: 2n, Completed: 3n, Cancelled: 4n, Expired: 5n } as const;
const ALL_STATUSES = Object.values(Status);

const MODEL = "llama-3-8b";
const OTHER_MODEL = "mistral-7b";
const INPUT_HASH = id("prompt: hello");
const RESULT_HASH = id("completion: hi");
const PRICE = parseUnits("5", 6);
const HOUR = 3600n;

interface Setup {
  registry: NodeRegistryV1;
  escrow: PaymentEscrowV1;
  marketplace: JobMarketplaceV1;
  usdc: TestUSDC;
  usdcAddress: string;
  escrowAddress: string;
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  renter: HardhatEthersSigner;
  renter2: HardhatEthersSigner;
  host: HardhatEthersSigner;
  host2: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  maxDuration: bigint;
  feeBps: bigint;
  bpsDenominator: bigint;
  completionReward: bigint;
  expiryPenalty: bigint;
  /** The jobs present before the test (none on a fresh V1; V1's history behind the adapter). */
  base: Baseline;
  stack: ConformanceStack;
}

async function setupOn(target: Target): Promise<Setup> {
  const stack = await target.load();
  const { registry, escrow, marketplace, usdc, signers } = stack;
  const [, treasury, renter, renter2, host, host2, stranger] = signers;
  if (
    treasury === undefined ||
    renter === undefined ||
    renter2 === undefined ||
    host === undefined ||
    host2 === undefined ||
    stranger === undefined
  ) {
    throw new Error("the test chain needs at least seven accounts");
  }
  // The target's governing account: signer 0, or behind governance the timelock.
  const admin = stack.admin;
  const [completionReward, expiryPenalty] = await marketplace.rewards();
  return {
    registry,
    escrow,
    marketplace,
    usdc,
    usdcAddress: await usdc.getAddress(),
    escrowAddress: await escrow.getAddress(),
    admin,
    treasury,
    renter,
    renter2,
    host,
    host2,
    stranger,
    maxDuration: await marketplace.MAX_JOB_DURATION(),
    feeBps: await escrow.feeBps(),
    bpsDenominator: await escrow.BPS_DENOMINATOR(),
    completionReward,
    expiryPenalty,
    base: stack.baseline,
    stack,
  };
}

async function now(): Promise<bigint> {
  return BigInt(await networkHelpers.time.latest());
}

async function registerHost(s: Setup, host: HardhatEthersSigner, models: string[] = [MODEL]): Promise<void> {
  const stake = await s.registry.minimumStake();
  await (await s.registry.connect(host).registerNode("peer", models, "eu-west", { value: stake })).wait();
}

/** Mints, approves and deposits `amount` USDC into `renter`'s escrow balance. */
async function fundUsdc(s: Setup, renter: HardhatEthersSigner, amount: bigint): Promise<void> {
  await (await s.usdc.mint(renter.address, amount)).wait();
  await (await s.usdc.connect(renter).approve(s.escrowAddress, amount)).wait();
  await (await s.escrow.connect(renter).deposit(s.usdcAddress, amount)).wait();
}

interface PostOptions {
  renter?: HardhatEthersSigner;
  modelId?: string;
  price?: bigint;
  deadline?: bigint;
  token?: string;
  /** Deposit the price first (default true). */
  fund?: boolean;
}

/** Posts a job (funding the renter first unless told not to) and returns its id. */
async function postJob(s: Setup, options: PostOptions = {}): Promise<bigint> {
  const renter = options.renter ?? s.renter;
  const price = options.price ?? PRICE;
  const token = options.token ?? s.usdcAddress;
  if (options.fund ?? true) {
    if (token === ETH) await (await s.escrow.connect(renter).deposit(ETH, price, { value: price })).wait();
    else await fundUsdc(s, renter, price);
  }
  const deadline = options.deadline ?? (await now()) + HOUR;
  await (
    await s.marketplace.connect(renter).postJob(options.modelId ?? MODEL, INPUT_HASH, price, deadline, token)
  ).wait();
  return s.marketplace.jobCount();
}

/** Registers `host` (serving MODEL), posts a job and lets the host claim it. */
async function claimedJob(s: Setup, options: PostOptions = {}): Promise<bigint> {
  if (!(await s.registry.isRegistered(s.host.address))) await registerHost(s, s.host);
  const jobId = await postJob(s, options);
  await (await s.marketplace.connect(s.host).claimJob(jobId)).wait();
  return jobId;
}

function feeOf(s: Setup, amount: bigint): bigint {
  return (amount * s.feeBps) / s.bpsDenominator;
}

/** Jobs per status the test made: countByStatus less the jobs present before it. */
async function counts(s: Setup): Promise<bigint[]> {
  return Promise.all(
    ALL_STATUSES.map(async (status) => (await s.marketplace.countByStatus(status)) - baseCount(s, status)),
  );
}

function baseCount(s: Setup, status: bigint): bigint {
  return s.base.statusCounts[Number(status)] ?? 0n;
}

/** V1 JobMarketplace's external behaviour, run against `target`. */
export function describeJobMarketplaceConformance(target: Target): void {
  const it = conformanceIt(target);
  const itV1Only = v1OnlyIt(target);
  const setup = () => setupOn(target);
  const pause = (s: Setup, contract: ContractKey) => target.pause(s.stack, contract);
  describe("JobMarketplace", () => {
    describe("deployment", () => {
      it(`reports version ${target.version} and the registry and escrow it was wired to`, async () => {
        const s = await setup();
        expect(await s.marketplace.version()).to.equal(target.version);
        expect(await s.marketplace.registry()).to.equal(await s.registry.getAddress());
        expect(await s.marketplace.escrow()).to.equal(s.escrowAddress);
      });

      it("starts with rewards within MAX_REPUTATION_STEP and no jobs", async () => {
        const s = await setup();
        const maxStep = await s.marketplace.MAX_REPUTATION_STEP();
        expect(s.completionReward).to.be.greaterThan(0n).and.lessThanOrEqual(maxStep);
        expect(s.expiryPenalty).to.be.greaterThan(0n).and.lessThanOrEqual(maxStep);
        expect(await s.marketplace.jobCount()).to.equal(s.base.jobCount);
        expect(await counts(s)).to.deep.equal(ALL_STATUSES.map(() => 0n));
      });

      itV1Only("initializer arguments", "initializes a fresh proxy with the given registry and escrow", async () => {
        const s = await setup();
        const factory = await ethers.getContractFactory("JobMarketplaceV1", s.admin);
        const registryAddress = await s.registry.getAddress();
        const fresh = (await upgradesApi.deployProxy(factory, [s.admin.address, registryAddress, s.escrowAddress], {
          kind: "uups",
          initializer: "initialize",
        })) as unknown as JobMarketplaceV1;
        expect(await fresh.registry()).to.equal(registryAddress);
        expect(await fresh.escrow()).to.equal(s.escrowAddress);
        expect(await fresh.rewards()).to.deep.equal([s.completionReward, s.expiryPenalty]);
        expect(await fresh.hasRole(ZeroHash, s.admin.address)).to.equal(true);
      });

      itV1Only("initializer arguments", "rejects a zero registry, escrow or admin at initialization", async () => {
        const s = await setup();
        const factory = await ethers.getContractFactory("JobMarketplaceV1", s.admin);
        const registryAddress = await s.registry.getAddress();
        const bad: Array<[string, string, string]> = [
          [s.admin.address, ZeroAddress, s.escrowAddress],
          [s.admin.address, registryAddress, ZeroAddress],
          [s.admin.address, ZeroAddress, ZeroAddress],
          [ZeroAddress, registryAddress, s.escrowAddress],
        ];
        for (const args of bad) {
          await expect(
            upgradesApi.deployProxy(factory, args, { kind: "uups", initializer: "initialize" }),
          ).to.be.revertedWithCustomError(s.marketplace, "ZeroAddress");
        }
      });

      it("cannot be initialized a second time", async () => {
        const s = await setup();
        await expect(
          s.marketplace.initialize(s.admin.address, await s.registry.getAddress(), s.escrowAddress),
        ).to.be.revertedWithCustomError(s.marketplace, "InvalidInitialization");
      });
    });

    describe("postJob", () => {
      it("records the job, locks maxPrice from the renter's escrow balance and emits JobPosted", async () => {
        const s = await setup();
        const extra = parseUnits("1", 6);
        await fundUsdc(s, s.renter, PRICE + extra);
        const deadline = (await now()) + HOUR;
        // Ids continue after the jobs present before the test (1 on a fresh V1).
        const jobId = s.base.jobCount + 1n;
        const tx = s.marketplace.connect(s.renter).postJob(MODEL, INPUT_HASH, PRICE, deadline, s.usdcAddress);
        await expect(tx)
          .to.emit(s.marketplace, "JobPosted")
          .withArgs(jobId, s.renter.address, MODEL, INPUT_HASH, PRICE, deadline, s.usdcAddress);
        await expectCrossEvent(s.stack, tx, { name: "Locked", args: [jobId, s.renter.address, s.usdcAddress, PRICE] });
        const postedAt = await now();

        expect(await s.escrow.balanceOf(s.renter.address, s.usdcAddress)).to.equal(extra);
        expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(PRICE);
        const lock = await s.escrow.lockOf(jobId);
        expect([lock.payer, lock.token, lock.amount]).to.deep.equal([s.renter.address, s.usdcAddress, PRICE]);

        const job = await s.marketplace.getJob(jobId);
        expect(job.renter).to.equal(s.renter.address);
        expect(job.status).to.equal(Status.Posted);
        expect(job.assignedHost).to.equal(ZeroAddress);
        expect(job.maxPrice).to.equal(PRICE);
        expect(job.deadline).to.equal(deadline);
        expect(job.postedAt).to.equal(postedAt);
        expect(job.completedAt).to.equal(0n);
        expect(job.modelId).to.equal(MODEL);
        expect(job.inputHash).to.equal(INPUT_HASH);
        expect(job.resultHash).to.equal(ZeroHash);
        expect(job.paymentToken).to.equal(s.usdcAddress);
        expect(await s.marketplace.countByStatus(Status.Posted)).to.equal(baseCount(s, Status.Posted) + 1n);
      });

      it("numbers jobs from 1 upwards (after the jobs already present)", async () => {
        const s = await setup();
        await fundUsdc(s, s.renter, PRICE * 2n);
        const deadline = (await now()) + HOUR;
        expect(
          await s.marketplace.connect(s.renter).postJob.staticCall(MODEL, INPUT_HASH, PRICE, deadline, s.usdcAddress),
        ).to.equal(s.base.jobCount + 1n);
        expect(await postJob(s, { fund: false })).to.equal(s.base.jobCount + 1n);
        expect(await postJob(s, { fund: false })).to.equal(s.base.jobCount + 2n);
        expect(await s.marketplace.jobCount()).to.equal(s.base.jobCount + 2n);
      });

      it("accepts ETH as the payment token", async () => {
        const s = await setup();
        const price = parseEther("0.01");
        const jobId = await postJob(s, { token: ETH, price });
        expect((await s.marketplace.getJob(jobId)).paymentToken).to.equal(ETH);
        expect(await s.escrow.totalLocked(ETH)).to.equal(price);
        expect(await s.escrow.balanceOf(s.renter.address, ETH)).to.equal(0n);
      });

      it("accepts a model id of exactly MAX_MODEL_ID_LENGTH bytes", async () => {
        const s = await setup();
        const modelId = "m".repeat(Number(await s.marketplace.MAX_MODEL_ID_LENGTH()));
        const jobId = await postJob(s, { modelId });
        expect((await s.marketplace.getJob(jobId)).modelId).to.equal(modelId);
      });

      it("rejects an empty or too long model id", async () => {
        const s = await setup();
        await fundUsdc(s, s.renter, PRICE);
        const max = await s.marketplace.MAX_MODEL_ID_LENGTH();
        const deadline = (await now()) + HOUR;
        await expect(s.marketplace.connect(s.renter).postJob("", INPUT_HASH, PRICE, deadline, s.usdcAddress))
          .to.be.revertedWithCustomError(s.marketplace, "InvalidModelId")
          .withArgs(0n, max);
        const tooLong = "m".repeat(Number(max) + 1);
        await expect(s.marketplace.connect(s.renter).postJob(tooLong, INPUT_HASH, PRICE, deadline, s.usdcAddress))
          .to.be.revertedWithCustomError(s.marketplace, "InvalidModelId")
          .withArgs(max + 1n, max);
        // Length is counted in bytes, not characters.
        const multiByte = "é".repeat(Number(max) / 2 + 1);
        await expect(s.marketplace.connect(s.renter).postJob(multiByte, INPUT_HASH, PRICE, deadline, s.usdcAddress))
          .to.be.revertedWithCustomError(s.marketplace, "InvalidModelId")
          .withArgs(BigInt(Buffer.byteLength(multiByte)), max);
      });

      it("rejects a zero input hash", async () => {
        const s = await setup();
        await fundUsdc(s, s.renter, PRICE);
        const deadline = (await now()) + HOUR;
        await expect(
          s.marketplace.connect(s.renter).postJob(MODEL, ZeroHash, PRICE, deadline, s.usdcAddress),
        ).to.be.revertedWithCustomError(s.marketplace, "ZeroInputHash");
      });

      it("rejects a zero price", async () => {
        const s = await setup();
        const deadline = (await now()) + HOUR;
        await expect(
          s.marketplace.connect(s.renter).postJob(MODEL, INPUT_HASH, 0n, deadline, s.usdcAddress),
        ).to.be.revertedWithCustomError(s.marketplace, "ZeroPrice");
      });

      it("rejects a deadline that is not in the future", async () => {
        const s = await setup();
        await fundUsdc(s, s.renter, PRICE);
        const blockTime = (await now()) + 100n;
        for (const deadline of [blockTime, blockTime - 1n, 0n]) {
          await networkHelpers.time.setNextBlockTimestamp(blockTime);
          await expect(s.marketplace.connect(s.renter).postJob(MODEL, INPUT_HASH, PRICE, deadline, s.usdcAddress))
            .to.be.revertedWithCustomError(s.marketplace, "InvalidDeadline")
            .withArgs(deadline, blockTime + s.maxDuration);
        }
      });

      it("rejects a deadline beyond MAX_JOB_DURATION and accepts one exactly at it", async () => {
        const s = await setup();
        await fundUsdc(s, s.renter, PRICE);
        const blockTime = (await now()) + 100n;
        const latest = blockTime + s.maxDuration;
        await networkHelpers.time.setNextBlockTimestamp(blockTime);
        await expect(s.marketplace.connect(s.renter).postJob(MODEL, INPUT_HASH, PRICE, latest + 1n, s.usdcAddress))
          .to.be.revertedWithCustomError(s.marketplace, "InvalidDeadline")
          .withArgs(latest + 1n, latest);
        await networkHelpers.time.setNextBlockTimestamp(blockTime);
        await expect(s.marketplace.connect(s.renter).postJob(MODEL, INPUT_HASH, PRICE, latest, s.usdcAddress)).to.emit(
          s.marketplace,
          "JobPosted",
        );
      });

      it("rejects a job whose price exceeds the renter's escrow balance, leaving no trace", async () => {
        const s = await setup();
        await fundUsdc(s, s.renter, PRICE - 1n);
        const deadline = (await now()) + HOUR;
        await expect(s.marketplace.connect(s.renter).postJob(MODEL, INPUT_HASH, PRICE, deadline, s.usdcAddress))
          .to.be.revertedWithCustomError(s.escrow, "InsufficientFreeBalance")
          .withArgs(s.renter.address, s.usdcAddress, PRICE - 1n, PRICE);
        expect(await s.marketplace.jobCount()).to.equal(s.base.jobCount);
        expect(await s.marketplace.countByStatus(Status.Posted)).to.equal(baseCount(s, Status.Posted) + 0n);
      });

      it("rejects a payment token the escrow does not allow", async () => {
        const s = await setup();
        const other = await ethers.deployContract("TestUSDC");
        const otherAddress = await other.getAddress();
        const deadline = (await now()) + HOUR;
        await expect(s.marketplace.connect(s.renter).postJob(MODEL, INPUT_HASH, PRICE, deadline, otherAddress))
          .to.be.revertedWithCustomError(s.escrow, "TokenNotAllowed")
          .withArgs(otherAddress);
      });

      it("is blocked while the marketplace is paused", async () => {
        const s = await setup();
        await fundUsdc(s, s.renter, PRICE);
        await pause(s, "marketplace");
        const deadline = (await now()) + HOUR;
        await expect(
          s.marketplace.connect(s.renter).postJob(MODEL, INPUT_HASH, PRICE, deadline, s.usdcAddress),
        ).to.be.revertedWithCustomError(s.marketplace, "EnforcedPause");
      });

      it("is blocked while the escrow is paused", async () => {
        const s = await setup();
        await fundUsdc(s, s.renter, PRICE);
        await pause(s, "escrow");
        const deadline = (await now()) + HOUR;
        await expect(
          s.marketplace.connect(s.renter).postJob(MODEL, INPUT_HASH, PRICE, deadline, s.usdcAddress),
        ).to.be.revertedWithCustomError(s.escrow, "EnforcedPause");
      });
    });

    describe("claimJob", () => {
      it("assigns the job to an active host serving the model", async () => {
        const s = await setup();
        await registerHost(s, s.host, [OTHER_MODEL, MODEL]);
        const jobId = await postJob(s);
        await expect(s.marketplace.connect(s.host).claimJob(jobId))
          .to.emit(s.marketplace, "JobClaimed")
          .withArgs(jobId, s.host.address);
        const job = await s.marketplace.getJob(jobId);
        expect(job.status).to.equal(Status.Claimed);
        expect(job.assignedHost).to.equal(s.host.address);
        expect(await s.marketplace.countByStatus(Status.Posted)).to.equal(baseCount(s, Status.Posted) + 0n);
        expect(await s.marketplace.countByStatus(Status.Claimed)).to.equal(baseCount(s, Status.Claimed) + 1n);
        // The funds stay locked until the job settles.
        expect((await s.escrow.lockOf(jobId)).amount).to.equal(PRICE);
      });

      it("rejects an address without a node", async () => {
        const s = await setup();
        const jobId = await postJob(s);
        await expect(s.marketplace.connect(s.stranger).claimJob(jobId))
          .to.be.revertedWithCustomError(s.marketplace, "HostCannotServe")
          .withArgs(s.stranger.address, MODEL);
      });

      it("rejects a node that requested to unstake", async () => {
        const s = await setup();
        await registerHost(s, s.host);
        await (await s.registry.connect(s.host).requestUnstake()).wait();
        const jobId = await postJob(s);
        await expect(s.marketplace.connect(s.host).claimJob(jobId))
          .to.be.revertedWithCustomError(s.marketplace, "HostCannotServe")
          .withArgs(s.host.address, MODEL);
      });

      it("rejects a node slashed below the minimum stake", async () => {
        const s = await setup();
        await registerHost(s, s.host);
        await (await s.registry.connect(s.admin).slash(s.host.address, 1n, "misbehaved")).wait();
        const jobId = await postJob(s);
        await expect(s.marketplace.connect(s.host).claimJob(jobId))
          .to.be.revertedWithCustomError(s.marketplace, "HostCannotServe")
          .withArgs(s.host.address, MODEL);
      });

      it("rejects an active node that does not serve the model", async () => {
        const s = await setup();
        await registerHost(s, s.host, [OTHER_MODEL]);
        const jobId = await postJob(s);
        await expect(s.marketplace.connect(s.host).claimJob(jobId))
          .to.be.revertedWithCustomError(s.marketplace, "HostCannotServe")
          .withArgs(s.host.address, MODEL);
      });

      it("rejects unknown jobs", async () => {
        const s = await setup();
        await registerHost(s, s.host);
        const unknown = s.base.jobCount + 1n;
        await expect(s.marketplace.connect(s.host).claimJob(unknown))
          .to.be.revertedWithCustomError(s.marketplace, "JobNotFound")
          .withArgs(unknown);
      });

      it("rejects jobs that are no longer posted", async () => {
        const s = await setup();
        await registerHost(s, s.host);
        await registerHost(s, s.host2);
        const claimed = await postJob(s);
        await (await s.marketplace.connect(s.host).claimJob(claimed)).wait();
        await expect(s.marketplace.connect(s.host2).claimJob(claimed))
          .to.be.revertedWithCustomError(s.marketplace, "InvalidJobStatus")
          .withArgs(claimed, Status.Claimed);
        const cancelled = await postJob(s);
        await (await s.marketplace.connect(s.renter).cancelJob(cancelled)).wait();
        await expect(s.marketplace.connect(s.host2).claimJob(cancelled))
          .to.be.revertedWithCustomError(s.marketplace, "InvalidJobStatus")
          .withArgs(cancelled, Status.Cancelled);
      });

      it("accepts a claim at the deadline and rejects one after it", async () => {
        const s = await setup();
        await registerHost(s, s.host);
        const deadline = (await now()) + HOUR;
        const first = await postJob(s, { deadline });
        const second = await postJob(s, { deadline });
        await networkHelpers.time.setNextBlockTimestamp(deadline);
        await expect(s.marketplace.connect(s.host).claimJob(first)).to.emit(s.marketplace, "JobClaimed");
        await expect(s.marketplace.connect(s.host).claimJob(second))
          .to.be.revertedWithCustomError(s.marketplace, "DeadlinePassed")
          .withArgs(deadline);
      });

      it("is blocked while paused", async () => {
        const s = await setup();
        await registerHost(s, s.host);
        const jobId = await postJob(s);
        await pause(s, "marketplace");
        await expect(s.marketplace.connect(s.host).claimJob(jobId)).to.be.revertedWithCustomError(
          s.marketplace,
          "EnforcedPause",
        );
      });
    });

    describe("completeJob", () => {
      it("records the result, pays the host minus the fee and raises its reputation", async () => {
        const s = await setup();
        const jobId = await claimedJob(s);
        const reputationBefore = await s.registry.reputationOf(s.host.address);
        const maxReputation = await s.registry.MAX_REPUTATION();
        const expectedReputation =
          reputationBefore + s.completionReward > maxReputation ? maxReputation : reputationBefore + s.completionReward;
        const fee = feeOf(s, PRICE);

        const tx = s.marketplace.connect(s.host).completeJob(jobId, RESULT_HASH);
        await expect(tx).to.emit(s.marketplace, "JobCompleted").withArgs(jobId, s.host.address, RESULT_HASH);
        await expectCrossEvent(s.stack, tx, {
          name: "Released",
          args: [jobId, s.host.address, s.usdcAddress, PRICE - fee, fee],
        });
        await expectCrossEvent(s.stack, tx, {
          name: "ReputationChanged",
          args: [s.host.address, reputationBefore, expectedReputation],
        });
        const completedAt = await now();

        expect(await s.registry.reputationOf(s.host.address)).to.equal(expectedReputation);
        expect(await s.escrow.balanceOf(s.host.address, s.usdcAddress)).to.equal(PRICE - fee);
        expect(await s.escrow.balanceOf(s.treasury.address, s.usdcAddress)).to.equal(fee);
        expect(await s.escrow.balanceOf(s.renter.address, s.usdcAddress)).to.equal(0n);
        expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(0n);

        const job = await s.marketplace.getJob(jobId);
        expect(job.status).to.equal(Status.Completed);
        expect(job.resultHash).to.equal(RESULT_HASH);
        expect(job.completedAt).to.equal(completedAt);
        expect(await s.marketplace.countByStatus(Status.Claimed)).to.equal(baseCount(s, Status.Claimed) + 0n);
        expect(await s.marketplace.countByStatus(Status.Completed)).to.equal(baseCount(s, Status.Completed) + 1n);
      });

      it("lets the host withdraw its ETH payment", async () => {
        const s = await setup();
        const price = parseEther("0.02");
        const jobId = await claimedJob(s, { token: ETH, price });
        await (await s.marketplace.connect(s.host).completeJob(jobId, RESULT_HASH)).wait();
        const earned = price - feeOf(s, price);
        await expect(s.escrow.connect(s.host).withdraw(ETH, earned)).to.changeEtherBalances(
          ethers,
          [s.host, s.stack.custody.escrow],
          [earned, -earned],
        );
      });

      it("still pays a host that left the registry after claiming, skipping only the reputation", async () => {
        const s = await setup();
        const jobId = await claimedJob(s, { deadline: (await now()) + 20n * 24n * HOUR });
        await (await s.registry.connect(s.host).requestUnstake()).wait();
        await networkHelpers.time.increase(await s.registry.unstakeCooldown());
        await (await s.registry.connect(s.host).withdrawStake()).wait();

        const tx = s.marketplace.connect(s.host).completeJob(jobId, RESULT_HASH);
        await expect(tx).to.emit(s.marketplace, "JobCompleted").withArgs(jobId, s.host.address, RESULT_HASH);
        await expectNoReputationChange(s.stack, tx);
        expect(await s.escrow.balanceOf(s.host.address, s.usdcAddress)).to.equal(PRICE - feeOf(s, PRICE));
      });

      it("applies the reward set by the admin", async () => {
        const s = await setup();
        const maxStep = await s.marketplace.MAX_REPUTATION_STEP();
        await (await s.marketplace.connect(s.admin).setRewards(maxStep, s.expiryPenalty)).wait();
        const jobId = await claimedJob(s);
        const before = await s.registry.reputationOf(s.host.address);
        await (await s.marketplace.connect(s.host).completeJob(jobId, RESULT_HASH)).wait();
        expect(await s.registry.reputationOf(s.host.address)).to.equal(before + maxStep);
      });

      it("may only be called by the assigned host", async () => {
        const s = await setup();
        await registerHost(s, s.host2);
        const jobId = await claimedJob(s);
        for (const caller of [s.host2, s.renter, s.stranger]) {
          await expect(s.marketplace.connect(caller).completeJob(jobId, RESULT_HASH))
            .to.be.revertedWithCustomError(s.marketplace, "NotAssignedHost")
            .withArgs(jobId, caller.address);
        }
      });

      it("rejects a zero result hash", async () => {
        const s = await setup();
        const jobId = await claimedJob(s);
        await expect(s.marketplace.connect(s.host).completeJob(jobId, ZeroHash)).to.be.revertedWithCustomError(
          s.marketplace,
          "ZeroResultHash",
        );
      });

      it("accepts completion at the deadline and rejects it after", async () => {
        const s = await setup();
        const deadline = (await now()) + HOUR;
        const first = await claimedJob(s, { deadline });
        const second = await claimedJob(s, { deadline });
        await networkHelpers.time.setNextBlockTimestamp(deadline);
        await expect(s.marketplace.connect(s.host).completeJob(first, RESULT_HASH)).to.emit(
          s.marketplace,
          "JobCompleted",
        );
        await expect(s.marketplace.connect(s.host).completeJob(second, RESULT_HASH))
          .to.be.revertedWithCustomError(s.marketplace, "DeadlinePassed")
          .withArgs(deadline);
      });

      it("rejects jobs that are not claimed", async () => {
        const s = await setup();
        await registerHost(s, s.host);
        const unknown = s.base.jobCount + 1n;
        await expect(s.marketplace.connect(s.host).completeJob(unknown, RESULT_HASH))
          .to.be.revertedWithCustomError(s.marketplace, "JobNotFound")
          .withArgs(unknown);
        const posted = await postJob(s);
        await expect(s.marketplace.connect(s.host).completeJob(posted, RESULT_HASH))
          .to.be.revertedWithCustomError(s.marketplace, "InvalidJobStatus")
          .withArgs(posted, Status.Posted);
        await (await s.marketplace.connect(s.host).claimJob(posted)).wait();
        await (await s.marketplace.connect(s.host).completeJob(posted, RESULT_HASH)).wait();
        await expect(s.marketplace.connect(s.host).completeJob(posted, RESULT_HASH))
          .to.be.revertedWithCustomError(s.marketplace, "InvalidJobStatus")
          .withArgs(posted, Status.Completed);
      });

      it("lets a host that requested to unstake finish a job it already claimed", async () => {
        const s = await setup();
        const jobId = await claimedJob(s);
        await (await s.registry.connect(s.host).requestUnstake()).wait();
        await expect(s.marketplace.connect(s.host).completeJob(jobId, RESULT_HASH)).to.emit(
          s.marketplace,
          "JobCompleted",
        );
      });

      it("still settles a job whose payment token was disallowed after it was posted", async () => {
        const s = await setup();
        const jobId = await claimedJob(s);
        await (await s.escrow.connect(s.admin).setTokenAllowed(s.usdcAddress, false)).wait();
        await expect(s.marketplace.connect(s.host).completeJob(jobId, RESULT_HASH)).to.emit(
          s.marketplace,
          "JobCompleted",
        );
        const earned = PRICE - feeOf(s, PRICE);
        await expect(s.escrow.connect(s.host).withdraw(s.usdcAddress, earned)).to.changeTokenBalances(
          ethers,
          s.usdc,
          [s.host],
          [earned],
        );
      });

      it("is allowed while the marketplace, escrow and registry are paused", async () => {
        const s = await setup();
        const jobId = await claimedJob(s);
        for (const contract of ["marketplace", "escrow", "registry"] as const) await pause(s, contract);
        await expect(s.marketplace.connect(s.host).completeJob(jobId, RESULT_HASH)).to.emit(
          s.marketplace,
          "JobCompleted",
        );
        expect(await s.escrow.balanceOf(s.host.address, s.usdcAddress)).to.equal(PRICE - feeOf(s, PRICE));
      });
    });

    describe("cancelJob", () => {
      it("refunds the renter when an unclaimed job is cancelled", async () => {
        const s = await setup();
        const jobId = await postJob(s);
        const tx = s.marketplace.connect(s.renter).cancelJob(jobId);
        await expect(tx).to.emit(s.marketplace, "JobCancelled").withArgs(jobId);
        await expectCrossEvent(s.stack, tx, {
          name: "Refunded",
          args: [jobId, s.renter.address, s.usdcAddress, PRICE],
        });
        expect(await s.escrow.balanceOf(s.renter.address, s.usdcAddress)).to.equal(PRICE);
        expect(await s.escrow.totalLocked(s.usdcAddress)).to.equal(0n);
        expect((await s.marketplace.getJob(jobId)).status).to.equal(Status.Cancelled);
        expect(await s.marketplace.countByStatus(Status.Posted)).to.equal(baseCount(s, Status.Posted) + 0n);
        expect(await s.marketplace.countByStatus(Status.Cancelled)).to.equal(baseCount(s, Status.Cancelled) + 1n);
        // The refund is withdrawable.
        await expect(s.escrow.connect(s.renter).withdraw(s.usdcAddress, PRICE)).to.changeTokenBalances(
          ethers,
          s.usdc,
          [s.renter],
          [PRICE],
        );
      });

      it("may only be called by the renter", async () => {
        const s = await setup();
        const jobId = await postJob(s);
        for (const caller of [s.renter2, s.admin, s.stranger]) {
          await expect(s.marketplace.connect(caller).cancelJob(jobId))
            .to.be.revertedWithCustomError(s.marketplace, "NotRenter")
            .withArgs(jobId, caller.address);
        }
      });

      it("rejects jobs that are no longer posted", async () => {
        const s = await setup();
        const claimed = await claimedJob(s);
        await expect(s.marketplace.connect(s.renter).cancelJob(claimed))
          .to.be.revertedWithCustomError(s.marketplace, "InvalidJobStatus")
          .withArgs(claimed, Status.Claimed);
        const cancelled = await postJob(s);
        await (await s.marketplace.connect(s.renter).cancelJob(cancelled)).wait();
        await expect(s.marketplace.connect(s.renter).cancelJob(cancelled))
          .to.be.revertedWithCustomError(s.marketplace, "InvalidJobStatus")
          .withArgs(cancelled, Status.Cancelled);
        await expect(s.marketplace.connect(s.renter).cancelJob(99n))
          .to.be.revertedWithCustomError(s.marketplace, "JobNotFound")
          .withArgs(99n);
      });

      it("is allowed while the marketplace and escrow are paused", async () => {
        const s = await setup();
        const jobId = await postJob(s);
        await pause(s, "marketplace");
        await pause(s, "escrow");
        await expect(s.marketplace.connect(s.renter).cancelJob(jobId)).to.emit(s.marketplace, "JobCancelled");
        expect(await s.escrow.balanceOf(s.renter.address, s.usdcAddress)).to.equal(PRICE);
      });
    });

    describe("expireJob", () => {
      it("rejects expiring a job before or at its deadline", async () => {
        const s = await setup();
        const deadline = (await now()) + HOUR;
        const jobId = await postJob(s, { deadline });
        await expect(s.marketplace.connect(s.stranger).expireJob(jobId))
          .to.be.revertedWithCustomError(s.marketplace, "DeadlineNotPassed")
          .withArgs(deadline);
        // A fixed gas limit skips estimation, so the reverting call is mined in a block at the deadline.
        await networkHelpers.time.setNextBlockTimestamp(deadline);
        await expect(s.marketplace.connect(s.stranger).expireJob(jobId, { gasLimit: 1_000_000n }))
          .to.be.revertedWithCustomError(s.marketplace, "DeadlineNotPassed")
          .withArgs(deadline);
        expect(await now()).to.equal(deadline);
        await expect(s.marketplace.connect(s.stranger).expireJob(jobId)).to.emit(s.marketplace, "JobExpired");
      });

      it("refunds the renter when an unclaimed job expires", async () => {
        const s = await setup();
        const deadline = (await now()) + HOUR;
        const jobId = await postJob(s, { deadline });
        await networkHelpers.time.increaseTo(deadline);
        const tx = s.marketplace.connect(s.stranger).expireJob(jobId);
        await expect(tx).to.emit(s.marketplace, "JobExpired").withArgs(jobId, ZeroAddress);
        await expectCrossEvent(s.stack, tx, {
          name: "Refunded",
          args: [jobId, s.renter.address, s.usdcAddress, PRICE],
        });
        await expectNoReputationChange(s.stack, tx);
        expect(await s.escrow.balanceOf(s.renter.address, s.usdcAddress)).to.equal(PRICE);
        expect((await s.marketplace.getJob(jobId)).status).to.equal(Status.Expired);
        expect(await s.marketplace.countByStatus(Status.Posted)).to.equal(baseCount(s, Status.Posted) + 0n);
        expect(await s.marketplace.countByStatus(Status.Expired)).to.equal(baseCount(s, Status.Expired) + 1n);
      });

      it("refunds the renter and lowers the host's reputation when a claimed job expires", async () => {
        const s = await setup();
        const deadline = (await now()) + HOUR;
        const jobId = await claimedJob(s, { deadline });
        const before = await s.registry.reputationOf(s.host.address);
        const expected = s.expiryPenalty > before ? 0n : before - s.expiryPenalty;
        await networkHelpers.time.increaseTo(deadline + 1n);
        const tx = s.marketplace.connect(s.stranger).expireJob(jobId);
        await expect(tx).to.emit(s.marketplace, "JobExpired").withArgs(jobId, s.host.address);
        await expectCrossEvent(s.stack, tx, {
          name: "Refunded",
          args: [jobId, s.renter.address, s.usdcAddress, PRICE],
        });
        await expectCrossEvent(s.stack, tx, { name: "ReputationChanged", args: [s.host.address, before, expected] });
        expect(await s.registry.reputationOf(s.host.address)).to.equal(expected);
        expect(await s.escrow.balanceOf(s.renter.address, s.usdcAddress)).to.equal(PRICE);
        expect(await s.escrow.balanceOf(s.host.address, s.usdcAddress)).to.equal(0n);
        expect(await s.marketplace.countByStatus(Status.Claimed)).to.equal(baseCount(s, Status.Claimed) + 0n);
        expect(await s.marketplace.countByStatus(Status.Expired)).to.equal(baseCount(s, Status.Expired) + 1n);
      });

      it("rejects jobs that already settled", async () => {
        const s = await setup();
        const deadline = (await now()) + HOUR;
        const completed = await claimedJob(s, { deadline });
        await (await s.marketplace.connect(s.host).completeJob(completed, RESULT_HASH)).wait();
        const cancelled = await postJob(s, { deadline });
        await (await s.marketplace.connect(s.renter).cancelJob(cancelled)).wait();
        const expired = await postJob(s, { deadline });
        await networkHelpers.time.increaseTo(deadline + 1n);
        await (await s.marketplace.expireJob(expired)).wait();

        for (const [jobId, status] of [
          [completed, Status.Completed],
          [cancelled, Status.Cancelled],
          [expired, Status.Expired],
        ] as const) {
          await expect(s.marketplace.connect(s.stranger).expireJob(jobId))
            .to.be.revertedWithCustomError(s.marketplace, "InvalidJobStatus")
            .withArgs(jobId, status);
        }
        await expect(s.marketplace.expireJob(42n))
          .to.be.revertedWithCustomError(s.marketplace, "JobNotFound")
          .withArgs(42n);
      });

      it("skips the reputation penalty without reverting when the host has left the registry", async () => {
        const s = await setup();
        const deadline = (await now()) + HOUR;
        const jobId = await claimedJob(s, { deadline });
        await (await s.registry.connect(s.host).requestUnstake()).wait();
        await networkHelpers.time.increase(await s.registry.unstakeCooldown());
        await (await s.registry.connect(s.host).withdrawStake()).wait();
        expect(await s.registry.isRegistered(s.host.address)).to.equal(false);
        expect(await now()).to.be.greaterThan(deadline);

        const tx = s.marketplace.connect(s.stranger).expireJob(jobId);
        await expect(tx).to.emit(s.marketplace, "JobExpired").withArgs(jobId, s.host.address);
        await expectNoReputationChange(s.stack, tx);
        expect(await s.escrow.balanceOf(s.renter.address, s.usdcAddress)).to.equal(PRICE);
        expect((await s.marketplace.getJob(jobId)).status).to.equal(Status.Expired);
      });

      it("is allowed while the marketplace, escrow and registry are paused", async () => {
        const s = await setup();
        const deadline = (await now()) + HOUR;
        const jobId = await claimedJob(s, { deadline });
        const before = await s.registry.reputationOf(s.host.address);
        for (const contract of ["marketplace", "escrow", "registry"] as const) await pause(s, contract);
        await networkHelpers.time.increaseTo(deadline + 1n);
        await expect(s.marketplace.expireJob(jobId)).to.emit(s.marketplace, "JobExpired");
        expect(await s.escrow.balanceOf(s.renter.address, s.usdcAddress)).to.equal(PRICE);
        expect(await s.registry.reputationOf(s.host.address)).to.equal(
          s.expiryPenalty > before ? 0n : before - s.expiryPenalty,
        );
      });
    });

    describe("views", () => {
      it("returns an all-zero job for unknown ids", async () => {
        const s = await setup();
        await postJob(s);
        for (const jobId of [0n, s.base.jobCount + 2n, MaxUint256]) {
          const job = await s.marketplace.getJob(jobId);
          expect(job.renter).to.equal(ZeroAddress);
          expect(job.status).to.equal(Status.None);
          expect(job.assignedHost).to.equal(ZeroAddress);
          expect(job.maxPrice).to.equal(0n);
          expect(job.deadline).to.equal(0n);
          expect(job.postedAt).to.equal(0n);
          expect(job.completedAt).to.equal(0n);
          expect(job.modelId).to.equal("");
          expect(job.inputHash).to.equal(ZeroHash);
          expect(job.resultHash).to.equal(ZeroHash);
          expect(job.paymentToken).to.equal(ZeroAddress);
        }
      });

      it("pages jobs in id order, clipping at the end and returning nothing past it", async () => {
        const s = await setup();
        // Offsets count from the first job this test posts (job 1 on a fresh V1).
        const b = s.base.jobCount;
        expect(await s.marketplace.getJobsPage(b, 10n)).to.deep.equal([]);
        const prices = [1n, 2n, 3n, 4n, 5n].map((n) => parseUnits(n.toString(), 6));
        for (const price of prices) await postJob(s, { price });
        const total = await s.marketplace.jobCount();
        expect(total).to.equal(b + BigInt(prices.length));
        const pricesOf = async (offset: bigint, limit: bigint): Promise<bigint[]> =>
          (await s.marketplace.getJobsPage(offset, limit)).map((job) => job.maxPrice);

        expect(await pricesOf(b, 2n)).to.deep.equal(prices.slice(0, 2));
        expect(await pricesOf(b + 2n, 2n)).to.deep.equal(prices.slice(2, 4));
        expect(await pricesOf(b + 3n, 10n)).to.deep.equal(prices.slice(3));
        expect(await pricesOf(b + 1n, MaxUint256)).to.deep.equal(prices.slice(1));
        expect(await pricesOf(b, 0n)).to.deep.equal([]);
        expect(await pricesOf(total, 1n)).to.deep.equal([]);
        expect(await pricesOf(total + 7n, 3n)).to.deep.equal([]);
        expect(await pricesOf(MaxUint256, MaxUint256)).to.deep.equal([]);

        // Page entries equal getJob of the matching id (offset + index + 1).
        const page = await s.marketplace.getJobsPage(b + 1n, 2n);
        for (const [index, job] of page.entries()) {
          expect([...job]).to.deep.equal([...(await s.marketplace.getJob(b + BigInt(index) + 2n))]);
        }
      });

      it("counts jobs by status after a mix of transitions", async () => {
        const s = await setup();
        const deadline = (await now()) + HOUR;
        await registerHost(s, s.host);
        const ids: bigint[] = [];
        for (let i = 0; i < 7; i++)
          ids.push(await postJob(s, { deadline, renter: i % 2 === 0 ? s.renter : s.renter2 }));
        const [a, b, c, d, e, f, g] = ids as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
        // a: completed; b, c: claimed then c expires; d: cancelled; e: expires unclaimed; f, g: stay posted.
        for (const jobId of [a, b, c]) await (await s.marketplace.connect(s.host).claimJob(jobId)).wait();
        await (await s.marketplace.connect(s.host).completeJob(a, RESULT_HASH)).wait();
        await (await s.marketplace.connect(s.renter2).cancelJob(d)).wait();
        expect(await counts(s)).to.deep.equal([0n, 3n, 2n, 1n, 1n, 0n]);

        await networkHelpers.time.increaseTo(deadline + 1n);
        await (await s.marketplace.expireJob(c)).wait();
        await (await s.marketplace.expireJob(e)).wait();
        const byStatus = await counts(s);
        expect(byStatus).to.deep.equal([0n, 2n, 1n, 1n, 1n, 2n]);
        expect(byStatus.reduce((sum, n) => sum + n, 0n)).to.equal((await s.marketplace.jobCount()) - s.base.jobCount);
        // Each count matches the jobs this test made that are actually in that status.
        const jobs = await s.marketplace.getJobsPage(s.base.jobCount, 100n);
        for (const status of ALL_STATUSES) {
          expect(BigInt(jobs.filter((job) => job.status === status).length)).to.equal(byStatus[Number(status)]);
        }
        for (const jobId of [f, g]) expect((await s.marketplace.getJob(jobId)).status).to.equal(Status.Posted);
        expect((await s.marketplace.getJob(b)).status).to.equal(Status.Claimed);
        // Only jobs still claimed or posted hold escrow locks.
        const locked = (await s.escrow.totalLocked(s.usdcAddress)) / PRICE;
        expect(locked).to.equal(byStatus[Number(Status.Posted)]! + byStatus[Number(Status.Claimed)]!);
      });
    });

    describe("setRewards", () => {
      it("lets the admin set rewards up to MAX_REPUTATION_STEP", async () => {
        const s = await setup();
        const maxStep = await s.marketplace.MAX_REPUTATION_STEP();
        await expect(s.marketplace.connect(s.admin).setRewards(maxStep, 0n))
          .to.emit(s.marketplace, "RewardsChanged")
          .withArgs(maxStep, 0n);
        expect(await s.marketplace.rewards()).to.deep.equal([maxStep, 0n]);
        await (await s.marketplace.connect(s.admin).setRewards(0n, maxStep)).wait();
        expect(await s.marketplace.rewards()).to.deep.equal([0n, maxStep]);
      });

      it("rejects a completion reward or expiry penalty above MAX_REPUTATION_STEP", async () => {
        const s = await setup();
        const maxStep = await s.marketplace.MAX_REPUTATION_STEP();
        await expect(s.marketplace.connect(s.admin).setRewards(maxStep + 1n, 0n))
          .to.be.revertedWithCustomError(s.marketplace, "ValueOutOfRange")
          .withArgs(maxStep + 1n, 0n, maxStep);
        await expect(s.marketplace.connect(s.admin).setRewards(0n, maxStep + 1n))
          .to.be.revertedWithCustomError(s.marketplace, "ValueOutOfRange")
          .withArgs(maxStep + 1n, 0n, maxStep);
        expect(await s.marketplace.rewards()).to.deep.equal([s.completionReward, s.expiryPenalty]);
      });

      it("may only be called by the admin", async () => {
        const s = await setup();
        await expect(s.marketplace.connect(s.stranger).setRewards(1n, 1n))
          .to.be.revertedWithCustomError(s.marketplace, "AccessControlUnauthorizedAccount")
          .withArgs(s.stranger.address, ZeroHash);
      });

      it("applies a zero penalty to later expiries", async () => {
        const s = await setup();
        await (await s.marketplace.connect(s.admin).setRewards(s.completionReward, 0n)).wait();
        const deadline = (await now()) + HOUR;
        const jobId = await claimedJob(s, { deadline });
        const before = await s.registry.reputationOf(s.host.address);
        await networkHelpers.time.increaseTo(deadline + 1n);
        await (await s.marketplace.expireJob(jobId)).wait();
        expect(await s.registry.reputationOf(s.host.address)).to.equal(before);
      });
    });
  });
}
