import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { JobMarketplaceV2, NodeRegistryV2, PaymentEscrowV2, TestUSDC } from "../typechain-types/index.js";
import { ethers, networkHelpers, upgradesApi } from "./helpers/fixtures.js";
import { foldJobs, makeJobRecords } from "./helpers/jobsMigration.js";

const { ZeroAddress, ZeroHash, MaxUint256, id, parseEther, parseUnits } = ethers;

/** Mirrors IJobMarketplaceV2.JobStatus. */
const Status = { None: 0n, Posted: 1n, Claimed: 2n, Completed: 3n, Cancelled: 4n, Expired: 5n } as const;

const MODEL_NAME = "llama-3-8b";
const MODEL = id(MODEL_NAME);
const OTHER_MODEL_NAME = "mistral-7b";
const OTHER_MODEL = id(OTHER_MODEL_NAME);
const INPUT_HASH = id("prompt: hello");
const RESULT_HASH = id("completion: hi");
/** 5 USDC locked per job; the host asks 0.001 USDC per token, so 5,000 tokens use it all. */
const AMOUNT = parseUnits("5", 6);
const PRICE_PER_TOKEN = parseUnits("0.001", 6);
const HOUR = 3600n;
const DAY = 24n * HOUR;
const MINIMUM_STAKE = parseEther("0.01");
const COOLDOWN = 7n * DAY;
const FEE_BPS = 250n;
/** History imported before finalize: V2's own ids start after it. */
const HISTORY = 3n;
const MAX_UINT96 = 2n ** 96n - 1n;

interface Flow {
  registry: NodeRegistryV2;
  escrow: PaymentEscrowV2;
  marketplace: JobMarketplaceV2;
  usdc: TestUSDC;
  usdcAddress: string;
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  renter: HardhatEthersSigner;
  host: HardhatEthersSigner;
  host2: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  completionReward: bigint;
  expiryPenalty: bigint;
}

/** Finalizes `contract` with what it holds: the deployment below migrates nothing but history. */
async function finalize(contract: NodeRegistryV2 | PaymentEscrowV2 | JobMarketplaceV2): Promise<void> {
  const tokens = await contract.migrationTokens();
  const funds = await Promise.all(tokens.map((token) => contract.migratedFunds(token)));
  const commitment = await contract.migrationCommitment();
  const count = await contract.migratedCount();
  await (await contract.finalizeMigration(commitment, count, [...tokens], funds)).wait();
}

/**
 * The three V2 contracts wired as in production (MARKETPLACE_ROLE on the escrow for the
 * marketplace, REPUTATION_ROLE on the registry), USDC listed, three historical jobs imported,
 * all three finalized; one model registered and `host` serving it at PRICE_PER_TOKEN.
 */
async function deployFlow(): Promise<Flow> {
  const [admin, treasury, renter, host, host2, stranger] = await ethers.getSigners();
  if (
    admin === undefined ||
    treasury === undefined ||
    renter === undefined ||
    host === undefined ||
    host2 === undefined ||
    stranger === undefined
  ) {
    throw new Error("the test chain needs at least six accounts");
  }
  const deploy = async (name: string, args: unknown[]) =>
    upgradesApi.deployProxy(await ethers.getContractFactory(name, admin), args, {
      kind: "uups",
      initializer: "initialize",
    });
  const registry = (await deploy("NodeRegistryV2", [
    admin.address,
    admin.address,
    treasury.address,
    MINIMUM_STAKE,
    COOLDOWN,
  ])) as unknown as NodeRegistryV2;
  const escrow = (await deploy("PaymentEscrowV2", [
    admin.address,
    admin.address,
    treasury.address,
    FEE_BPS,
  ])) as unknown as PaymentEscrowV2;
  const marketplace = (await deploy("JobMarketplaceV2", [
    admin.address,
    admin.address,
    await registry.getAddress(),
    await escrow.getAddress(),
  ])) as unknown as JobMarketplaceV2;
  const usdc = await ethers.deployContract("TestUSDC", admin);
  const usdcAddress = await usdc.getAddress();
  const marketplaceAddress = await marketplace.getAddress();

  await (await escrow.grantRole(await escrow.MARKETPLACE_ROLE(), marketplaceAddress)).wait();
  await (await registry.grantRole(await registry.REPUTATION_ROLE(), marketplaceAddress)).wait();
  await (await escrow.setTokenAllowed(usdcAddress, true)).wait();
  await (await marketplace.importHistoricalJobs(0n, makeJobRecords(1n, Number(HISTORY)))).wait();
  for (const contract of [registry, escrow, marketplace]) await finalize(contract);

  await (await registry.registerModels([MODEL_NAME, OTHER_MODEL_NAME])).wait();
  await (await registry.connect(host).registerNode("peer-1", [MODEL], "eu-west", { value: MINIMUM_STAKE })).wait();
  await (await registry.connect(host).setModelPrice(MODEL, PRICE_PER_TOKEN)).wait();
  const [completionReward, expiryPenalty] = await marketplace.rewards();
  return {
    registry,
    escrow,
    marketplace,
    usdc: usdc as unknown as TestUSDC,
    usdcAddress,
    admin,
    treasury,
    renter,
    host,
    host2,
    stranger,
    completionReward,
    expiryPenalty,
  };
}

async function flow(): Promise<Flow> {
  return networkHelpers.loadFixture(deployFlow);
}

async function now(): Promise<bigint> {
  return BigInt(await networkHelpers.time.latest());
}

/** Mints, approves and deposits `amount` USDC into `who`'s escrow balance. */
async function fund(f: Flow, who: HardhatEthersSigner, amount: bigint): Promise<void> {
  await (await f.usdc.mint(who.address, amount)).wait();
  await (await f.usdc.connect(who).approve(await f.escrow.getAddress(), amount)).wait();
  await (await f.escrow.connect(who).deposit(f.usdcAddress, amount)).wait();
}

interface PostOptions {
  amount?: bigint;
  deadline?: bigint;
  model?: string;
}

/** Funds the renter and posts a USDC job; returns its id. */
async function post(f: Flow, options: PostOptions = {}): Promise<bigint> {
  const amount = options.amount ?? AMOUNT;
  await fund(f, f.renter, amount);
  const deadline = options.deadline ?? (await now()) + HOUR;
  await (
    await f.marketplace.connect(f.renter).postJob(options.model ?? MODEL, INPUT_HASH, f.usdcAddress, amount, deadline)
  ).wait();
  return f.marketplace.jobCount();
}

/** Posts a job and lets `host` claim it; returns its id. */
async function claimed(f: Flow, options: PostOptions = {}): Promise<bigint> {
  const jobId = await post(f, options);
  await (await f.marketplace.connect(f.host).claimJob(jobId)).wait();
  return jobId;
}

async function counts(f: Flow): Promise<bigint[]> {
  return Promise.all(Object.values(Status).map((status) => f.marketplace.countByStatus(status)));
}

function fee(amount: bigint): bigint {
  return (amount * FEE_BPS) / 10_000n;
}

describe("JobMarketplaceV2: user flow with NodeRegistryV2 and PaymentEscrowV2", () => {
  describe("postJob", () => {
    it("numbers the job after history, locks the amount and stamps schema-2 metadata", async () => {
      const f = await flow();
      await fund(f, f.renter, AMOUNT);
      const deadline = (await now()) + HOUR;
      const tx = f.marketplace.connect(f.renter).postJob(MODEL, INPUT_HASH, f.usdcAddress, AMOUNT, deadline);
      await expect(tx)
        .to.emit(f.marketplace, "JobPosted")
        .withArgs(HISTORY + 1n, f.renter.address, MODEL, INPUT_HASH, f.usdcAddress, AMOUNT, deadline);
      await expect(tx)
        .to.emit(f.escrow, "Locked")
        .withArgs(HISTORY + 1n, f.renter.address, f.usdcAddress, AMOUNT);
      const postedAt = await now();

      const job = await f.marketplace.getJob(HISTORY + 1n);
      expect([job.renter, job.status, job.deadline, job.host, job.pricePerToken]).to.deep.equal([
        f.renter.address,
        Status.Posted,
        deadline,
        ZeroAddress,
        0n,
      ]);
      expect([job.token, job.amount, job.modelId, job.inputHash, job.resultHash]).to.deep.equal([
        f.usdcAddress,
        AMOUNT,
        MODEL,
        INPUT_HASH,
        ZeroHash,
      ]);
      expect(job.metadata).to.deep.equal([postedAt, postedAt, 2n]);
      expect(await f.escrow.balanceOf(f.renter.address, f.usdcAddress)).to.equal(0n);
      expect(await f.escrow.totalLocked(f.usdcAddress)).to.equal(AMOUNT);
      expect(await f.marketplace.jobCount()).to.equal(HISTORY + 1n);
      expect(await f.marketplace.historicalJobCount()).to.equal(HISTORY);
      // History's counts stay in: the three imported jobs are one of each finished status.
      expect(await counts(f)).to.deep.equal([0n, 1n, 0n, 1n, 1n, 1n]);
    });

    it("accepts ETH and the largest amount a lock holds", async () => {
      const f = await flow();
      const deadline = (await now()) + HOUR;
      await (await f.escrow.connect(f.renter).deposit(ZeroAddress, parseEther("1"), { value: parseEther("1") })).wait();
      await (
        await f.marketplace.connect(f.renter).postJob(MODEL, INPUT_HASH, ZeroAddress, parseEther("1"), deadline)
      ).wait();
      expect((await f.marketplace.getJob(HISTORY + 1n)).token).to.equal(ZeroAddress);
      const jobId = await post(f, { amount: MAX_UINT96 });
      expect((await f.marketplace.getJob(jobId)).amount).to.equal(MAX_UINT96);
    });

    it("rejects a model without a registered name, naming the id", async () => {
      const f = await flow();
      await fund(f, f.renter, AMOUNT);
      const unknown = id("gpt-3.5-turbo");
      await expect(
        f.marketplace.connect(f.renter).postJob(unknown, INPUT_HASH, f.usdcAddress, AMOUNT, (await now()) + HOUR),
      )
        .to.be.revertedWithCustomError(f.marketplace, "UnknownModel")
        .withArgs(unknown);
    });

    it("rejects a zero input hash, a zero amount and an amount beyond 96 bits", async () => {
      const f = await flow();
      const m = f.marketplace.connect(f.renter);
      const deadline = (await now()) + HOUR;
      await expect(m.postJob(MODEL, ZeroHash, f.usdcAddress, AMOUNT, deadline)).to.be.revertedWithCustomError(
        m,
        "ZeroInputHash",
      );
      await expect(m.postJob(MODEL, INPUT_HASH, f.usdcAddress, 0n, deadline)).to.be.revertedWithCustomError(
        m,
        "ZeroPrice",
      );
      await expect(m.postJob(MODEL, INPUT_HASH, f.usdcAddress, MAX_UINT96 + 1n, deadline))
        .to.be.revertedWithCustomError(m, "ValueOutOfRange")
        .withArgs(MAX_UINT96 + 1n, 1n, MAX_UINT96);
    });

    it("rejects a deadline not in the future or beyond MAX_JOB_DURATION", async () => {
      const f = await flow();
      await fund(f, f.renter, AMOUNT);
      const m = f.marketplace.connect(f.renter);
      const t = (await now()) + 1n; // the next block's timestamp
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(m.postJob(MODEL, INPUT_HASH, f.usdcAddress, AMOUNT, t))
        .to.be.revertedWithCustomError(m, "InvalidDeadline")
        .withArgs(t, t + 30n * DAY);
      await networkHelpers.time.setNextBlockTimestamp(t + 1n);
      await expect(m.postJob(MODEL, INPUT_HASH, f.usdcAddress, AMOUNT, t + 1n + 30n * DAY + 1n))
        .to.be.revertedWithCustomError(m, "InvalidDeadline")
        .withArgs(t + 1n + 30n * DAY + 1n, t + 1n + 30n * DAY);
      await networkHelpers.time.setNextBlockTimestamp(t + 2n);
      await (await m.postJob(MODEL, INPUT_HASH, f.usdcAddress, AMOUNT, t + 2n + 30n * DAY)).wait();
    });

    it("leaves a short balance or an unlisted token to the escrow's checks", async () => {
      const f = await flow();
      await fund(f, f.renter, AMOUNT - 1n);
      const m = f.marketplace.connect(f.renter);
      const deadline = (await now()) + HOUR;
      await expect(m.postJob(MODEL, INPUT_HASH, f.usdcAddress, AMOUNT, deadline))
        .to.be.revertedWithCustomError(f.escrow, "InsufficientFreeBalance")
        .withArgs(f.renter.address, f.usdcAddress, AMOUNT - 1n, AMOUNT);
      await expect(m.postJob(MODEL, INPUT_HASH, f.stranger.address, AMOUNT, deadline))
        .to.be.revertedWithCustomError(f.escrow, "TokenNotAllowed")
        .withArgs(f.stranger.address);
      expect(await f.marketplace.jobCount()).to.equal(HISTORY);
    });
  });

  describe("claimJob", () => {
    it("assigns the host at its own price for the model", async () => {
      const f = await flow();
      const jobId = await post(f);
      const postedAt = (await f.marketplace.getJob(jobId)).metadata.createdAt;
      await networkHelpers.time.increase(60);
      await expect(f.marketplace.connect(f.host).claimJob(jobId))
        .to.emit(f.marketplace, "JobClaimed")
        .withArgs(jobId, f.host.address, PRICE_PER_TOKEN);
      const job = await f.marketplace.getJob(jobId);
      expect([job.status, job.host, job.pricePerToken]).to.deep.equal([
        Status.Claimed,
        f.host.address,
        PRICE_PER_TOKEN,
      ]);
      expect(job.metadata).to.deep.equal([postedAt, await now(), 2n]);
      // The price is fixed at claim: a later change does not reach the job.
      await (await f.registry.connect(f.host).setModelPrice(MODEL, PRICE_PER_TOKEN * 2n)).wait();
      expect((await f.marketplace.getJob(jobId)).pricePerToken).to.equal(PRICE_PER_TOKEN);
      expect(await counts(f)).to.deep.equal([0n, 0n, 1n, 1n, 1n, 1n]);
    });

    it("refuses hosts that cannot serve: unregistered, other model, no price, leaving, price beyond 96 bits", async () => {
      const f = await flow();
      const jobId = await post(f);
      const claim = (who: HardhatEthersSigner) => f.marketplace.connect(who).claimJob(jobId);
      await expect(claim(f.host2))
        .to.be.revertedWithCustomError(f.marketplace, "HostCannotServe")
        .withArgs(f.host2.address, MODEL);

      await (
        await f.registry.connect(f.host2).registerNode("peer-2", [OTHER_MODEL], "us-east", { value: MINIMUM_STAKE })
      ).wait();
      await (await f.registry.connect(f.host2).setModelPrice(OTHER_MODEL, PRICE_PER_TOKEN)).wait();
      await expect(claim(f.host2))
        .to.be.revertedWithCustomError(f.marketplace, "HostCannotServe")
        .withArgs(f.host2.address, MODEL);

      await (await f.registry.connect(f.host2).updateModels([MODEL, OTHER_MODEL])).wait();
      await expect(claim(f.host2))
        .to.be.revertedWithCustomError(f.marketplace, "HostCannotServe")
        .withArgs(f.host2.address, MODEL);

      await (await f.registry.connect(f.host2).setModelPrice(MODEL, MAX_UINT96 + 1n)).wait();
      await expect(claim(f.host2))
        .to.be.revertedWithCustomError(f.marketplace, "HostCannotServe")
        .withArgs(f.host2.address, MODEL);

      await (await f.registry.connect(f.host).requestUnstake()).wait();
      await expect(claim(f.host))
        .to.be.revertedWithCustomError(f.marketplace, "HostCannotServe")
        .withArgs(f.host.address, MODEL);

      await (await f.registry.connect(f.host2).setModelPrice(MODEL, MAX_UINT96)).wait();
      await (await claim(f.host2)).wait();
      expect((await f.marketplace.getJob(jobId)).pricePerToken).to.equal(MAX_UINT96);
    });

    it("refuses a job that is claimed, past its deadline, history or unknown", async () => {
      const f = await flow();
      const jobId = await claimed(f);
      await expect(f.marketplace.connect(f.host).claimJob(jobId))
        .to.be.revertedWithCustomError(f.marketplace, "InvalidJobStatus")
        .withArgs(jobId, Status.Claimed);
      const late = await post(f);
      const deadline = (await f.marketplace.getJob(late)).deadline;
      await networkHelpers.time.increaseTo(deadline + 1n);
      await expect(f.marketplace.connect(f.host).claimJob(late))
        .to.be.revertedWithCustomError(f.marketplace, "DeadlinePassed")
        .withArgs(deadline);
      await expect(f.marketplace.connect(f.host).claimJob(HISTORY))
        .to.be.revertedWithCustomError(f.marketplace, "HistoricalJob")
        .withArgs(HISTORY);
      await expect(f.marketplace.connect(f.host).claimJob(99n))
        .to.be.revertedWithCustomError(f.marketplace, "JobNotFound")
        .withArgs(99n);
    });
  });

  describe("completeJob", () => {
    it("pays price × tokens used, refunds the rest and raises the host's reputation", async () => {
      const f = await flow();
      const jobId = await claimed(f);
      const tokensUsed = 1_200n;
      const cost = PRICE_PER_TOKEN * tokensUsed;
      const reputation = await f.registry.reputationOf(f.host.address);
      const tx = f.marketplace.connect(f.host).completeJob(jobId, RESULT_HASH, tokensUsed);
      await expect(tx)
        .to.emit(f.marketplace, "JobCompleted")
        .withArgs(jobId, f.host.address, RESULT_HASH, tokensUsed, cost);
      await expect(tx)
        .to.emit(f.escrow, "Settled")
        .withArgs(jobId, f.host.address, f.usdcAddress, cost - fee(cost), fee(cost), AMOUNT - cost);
      expect(await f.escrow.balanceOf(f.host.address, f.usdcAddress)).to.equal(cost - fee(cost));
      expect(await f.escrow.balanceOf(f.treasury.address, f.usdcAddress)).to.equal(fee(cost));
      expect(await f.escrow.balanceOf(f.renter.address, f.usdcAddress)).to.equal(AMOUNT - cost);
      expect(await f.escrow.totalLocked(f.usdcAddress)).to.equal(0n);
      expect(await f.registry.reputationOf(f.host.address)).to.equal(reputation + f.completionReward);

      const job = await f.marketplace.getJob(jobId);
      expect([job.status, job.resultHash]).to.deep.equal([Status.Completed, RESULT_HASH]);
      expect(job.metadata.updatedAt).to.equal(await now());
      expect(await counts(f)).to.deep.equal([0n, 0n, 0n, 2n, 1n, 1n]);
    });

    it("caps the cost at the locked amount, exactly at the boundary and for any token count", async () => {
      const f = await flow();
      const exact = AMOUNT / PRICE_PER_TOKEN; // 5,000 tokens cost exactly the amount
      for (const [tokensUsed, cost] of [
        [0n, 0n],
        [exact - 1n, AMOUNT - PRICE_PER_TOKEN],
        [exact, AMOUNT],
        [exact + 1n, AMOUNT],
        [MaxUint256, AMOUNT],
      ] as const) {
        const jobId = await claimed(f);
        await expect(f.marketplace.connect(f.host).completeJob(jobId, RESULT_HASH, tokensUsed))
          .to.emit(f.marketplace, "JobCompleted")
          .withArgs(jobId, f.host.address, RESULT_HASH, tokensUsed, cost);
      }
    });

    it("does not overflow at the largest price and amount", async () => {
      const f = await flow();
      await (await f.registry.connect(f.host).setModelPrice(MODEL, MAX_UINT96)).wait();
      const jobId = await claimed(f, { amount: MAX_UINT96 });
      await expect(f.marketplace.connect(f.host).completeJob(jobId, RESULT_HASH, MaxUint256))
        .to.emit(f.marketplace, "JobCompleted")
        .withArgs(jobId, f.host.address, RESULT_HASH, MaxUint256, MAX_UINT96);
    });

    it("still pays a host that left the registry, without touching reputation", async () => {
      const f = await flow();
      const jobId = await claimed(f, { deadline: (await now()) + COOLDOWN + DAY });
      await (await f.registry.connect(f.host).requestUnstake()).wait();
      await networkHelpers.time.increase(COOLDOWN);
      await (await f.registry.connect(f.host).withdrawStake()).wait();
      expect(await f.registry.isRegistered(f.host.address)).to.equal(false);
      await expect(f.marketplace.connect(f.host).completeJob(jobId, RESULT_HASH, 10n)).to.not.emit(
        f.registry,
        "ReputationChanged",
      );
      expect(await f.escrow.balanceOf(f.host.address, f.usdcAddress)).to.equal(
        PRICE_PER_TOKEN * 10n - fee(PRICE_PER_TOKEN * 10n),
      );
    });

    it("refuses anyone but the assigned host, a passed deadline, a zero result and an unclaimed job", async () => {
      const f = await flow();
      const jobId = await claimed(f);
      await expect(f.marketplace.connect(f.stranger).completeJob(jobId, RESULT_HASH, 1n))
        .to.be.revertedWithCustomError(f.marketplace, "NotAssignedHost")
        .withArgs(jobId, f.stranger.address);
      await expect(f.marketplace.connect(f.host).completeJob(jobId, ZeroHash, 1n)).to.be.revertedWithCustomError(
        f.marketplace,
        "ZeroResultHash",
      );
      const posted = await post(f);
      await expect(f.marketplace.connect(f.host).completeJob(posted, RESULT_HASH, 1n))
        .to.be.revertedWithCustomError(f.marketplace, "InvalidJobStatus")
        .withArgs(posted, Status.Posted);
      const deadline = (await f.marketplace.getJob(jobId)).deadline;
      await networkHelpers.time.increaseTo(deadline + 1n);
      await expect(f.marketplace.connect(f.host).completeJob(jobId, RESULT_HASH, 1n))
        .to.be.revertedWithCustomError(f.marketplace, "DeadlinePassed")
        .withArgs(deadline);
      await expect(f.marketplace.connect(f.host).completeJob(1n, RESULT_HASH, 1n))
        .to.be.revertedWithCustomError(f.marketplace, "HistoricalJob")
        .withArgs(1n);
    });
  });

  describe("cancelJob", () => {
    it("lets the renter cancel an unclaimed job for a full refund", async () => {
      const f = await flow();
      const jobId = await post(f);
      await networkHelpers.time.increase(60);
      const tx = f.marketplace.connect(f.renter).cancelJob(jobId);
      await expect(tx).to.emit(f.marketplace, "JobCancelled").withArgs(jobId);
      await expect(tx).to.emit(f.escrow, "Refunded").withArgs(jobId, f.renter.address, f.usdcAddress, AMOUNT);
      const job = await f.marketplace.getJob(jobId);
      expect(job.status).to.equal(Status.Cancelled);
      expect(job.metadata.updatedAt).to.equal(await now());
      expect(job.metadata.updatedAt).to.be.greaterThan(job.metadata.createdAt);
      expect(await f.escrow.balanceOf(f.renter.address, f.usdcAddress)).to.equal(AMOUNT);
      expect(await counts(f)).to.deep.equal([0n, 0n, 0n, 1n, 2n, 1n]);
    });

    it("refuses anyone but the renter, and a claimed job", async () => {
      const f = await flow();
      const jobId = await post(f);
      await expect(f.marketplace.connect(f.stranger).cancelJob(jobId))
        .to.be.revertedWithCustomError(f.marketplace, "NotRenter")
        .withArgs(jobId, f.stranger.address);
      await (await f.marketplace.connect(f.host).claimJob(jobId)).wait();
      await expect(f.marketplace.connect(f.renter).cancelJob(jobId))
        .to.be.revertedWithCustomError(f.marketplace, "InvalidJobStatus")
        .withArgs(jobId, Status.Claimed);
    });
  });

  describe("expireJob", () => {
    it("refunds an unclaimed job past its deadline, without a host to penalize", async () => {
      const f = await flow();
      const jobId = await post(f);
      await networkHelpers.time.increaseTo((await f.marketplace.getJob(jobId)).deadline + 1n);
      const tx = f.marketplace.connect(f.stranger).expireJob(jobId);
      await expect(tx).to.emit(f.marketplace, "JobExpired").withArgs(jobId, ZeroAddress);
      await expect(tx).to.emit(f.escrow, "Refunded").withArgs(jobId, f.renter.address, f.usdcAddress, AMOUNT);
      await expect(tx).to.not.emit(f.registry, "ReputationChanged");
      expect((await f.marketplace.getJob(jobId)).status).to.equal(Status.Expired);
      expect(await counts(f)).to.deep.equal([0n, 0n, 0n, 1n, 1n, 2n]);
    });

    it("refunds a lapsed claim and lowers the host's reputation by the penalty", async () => {
      const f = await flow();
      const jobId = await claimed(f);
      const reputation = await f.registry.reputationOf(f.host.address);
      await networkHelpers.time.increaseTo((await f.marketplace.getJob(jobId)).deadline + 1n);
      await expect(f.marketplace.connect(f.stranger).expireJob(jobId))
        .to.emit(f.marketplace, "JobExpired")
        .withArgs(jobId, f.host.address);
      expect(await f.registry.reputationOf(f.host.address)).to.equal(reputation - f.expiryPenalty);
      expect(await f.escrow.balanceOf(f.renter.address, f.usdcAddress)).to.equal(AMOUNT);
    });

    it("skips the penalty when the host has left the registry", async () => {
      const f = await flow();
      const jobId = await claimed(f, { deadline: (await now()) + COOLDOWN + DAY });
      await (await f.registry.connect(f.host).requestUnstake()).wait();
      await networkHelpers.time.increase(COOLDOWN);
      await (await f.registry.connect(f.host).withdrawStake()).wait();
      await networkHelpers.time.increaseTo((await f.marketplace.getJob(jobId)).deadline + 1n);
      await expect(f.marketplace.expireJob(jobId)).to.not.emit(f.registry, "ReputationChanged");
      expect((await f.marketplace.getJob(jobId)).status).to.equal(Status.Expired);
    });

    it("refuses a job within its deadline and a finished one", async () => {
      const f = await flow();
      const jobId = await claimed(f);
      const deadline = (await f.marketplace.getJob(jobId)).deadline;
      await expect(f.marketplace.expireJob(jobId))
        .to.be.revertedWithCustomError(f.marketplace, "DeadlineNotPassed")
        .withArgs(deadline);
      await (await f.marketplace.connect(f.host).completeJob(jobId, RESULT_HASH, 1n)).wait();
      await expect(f.marketplace.expireJob(jobId))
        .to.be.revertedWithCustomError(f.marketplace, "InvalidJobStatus")
        .withArgs(jobId, Status.Completed);
    });
  });

  describe("pause", () => {
    it("blocks posting and claiming; completing, cancelling and expiring still work", async () => {
      const f = await flow();
      const toComplete = await claimed(f);
      const toCancel = await post(f);
      const toExpire = await post(f);
      const toClaim = await post(f);
      await (await f.marketplace.connect(f.admin).pause()).wait();

      await expect(
        f.marketplace.connect(f.renter).postJob(MODEL, INPUT_HASH, f.usdcAddress, AMOUNT, (await now()) + HOUR),
      ).to.be.revertedWithCustomError(f.marketplace, "EnforcedPause");
      await expect(f.marketplace.connect(f.host).claimJob(toClaim)).to.be.revertedWithCustomError(
        f.marketplace,
        "EnforcedPause",
      );

      await (await f.marketplace.connect(f.host).completeJob(toComplete, RESULT_HASH, 5n)).wait();
      await (await f.marketplace.connect(f.renter).cancelJob(toCancel)).wait();
      await networkHelpers.time.increaseTo((await f.marketplace.getJob(toExpire)).deadline + 1n);
      await (await f.marketplace.expireJob(toExpire)).wait();
      expect(
        await Promise.all([toComplete, toCancel, toExpire].map(async (j) => (await f.marketplace.getJob(j)).status)),
      ).to.deep.equal([Status.Completed, Status.Cancelled, Status.Expired]);

      await (await f.marketplace.connect(f.admin).unpause()).wait();
      await (await f.marketplace.connect(f.host).claimJob(toClaim)).wait();
    });
  });

  describe("history next to V2's own jobs", () => {
    it("keeps the finalized commitment and history while V2's jobs run", async () => {
      const f = await flow();
      const jobId = await claimed(f);
      await (await f.marketplace.connect(f.host).completeJob(jobId, RESULT_HASH, 3n)).wait();
      expect(await f.marketplace.migrationCommitment()).to.equal(foldJobs(makeJobRecords(1n, Number(HISTORY))));
      expect(await f.marketplace.historicalJobCount()).to.equal(HISTORY);
      expect(await f.marketplace.jobCount()).to.equal(HISTORY + 1n);
      for (let historical = 1n; historical <= HISTORY; historical++) {
        await expect(f.marketplace.getJob(historical))
          .to.be.revertedWithCustomError(f.marketplace, "HistoricalJob")
          .withArgs(historical);
      }
    });
  });
});
