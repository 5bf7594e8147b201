import { expect } from "chai";
import { id, keccak256, toUtf8Bytes } from "ethers";
import { networkHelpers } from "../helpers/fixtures.js";
import { adapterStack, MODEL } from "./adapterStack.js";

const selector = (signature: string): string => id(signature).slice(0, 10);
const INPUT = keccak256(toUtf8Bytes("input"));
const RESULT = keccak256(toUtf8Bytes("result"));
const PRICE = 1_000_000n;

describe("JobMarketplaceV1Adapter", () => {
  async function posted() {
    const f = await adapterStack();
    const usdc = await f.usdc.getAddress();
    const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
    const tx = await f.adapters.marketplace.connect(f.renter).postJob(MODEL, INPUT, PRICE, deadline, usdc);
    return { ...f, usdc, deadline, tx, jobId: 1n };
  }

  it("postJob: V1's call posts in V2 as the renter, locks in V2's escrow, V1's JobPosted with the id", async () => {
    const f = await networkHelpers.loadFixture(posted);
    await expect(f.tx)
      .to.emit(f.adapters.marketplace, "JobPosted")
      .withArgs(f.jobId, f.renter.address, MODEL, INPUT, PRICE, f.deadline, f.usdc);
    expect((await f.v2.marketplace.getJob(f.jobId)).renter).to.equal(f.renter.address);
    expect(await f.v2.escrow.totalLocked(f.usdc)).to.equal(PRICE);
    const job = await f.adapters.marketplace.getJob(f.jobId);
    expect([job.renter, job.status, job.maxPrice, job.modelId, job.paymentToken, job.deadline]).to.deep.equal([
      f.renter.address,
      1n,
      PRICE,
      MODEL,
      f.usdc,
      f.deadline,
    ]);
    expect(await f.adapters.marketplace.jobCount()).to.equal(1n);
    expect((await f.adapters.marketplace.getJobsPage(0, 5)).length).to.equal(1);
    expect(await f.adapters.marketplace.countByStatus(1)).to.equal(1n);
  });

  it("keeps V1's model id check", async () => {
    const f = await networkHelpers.loadFixture(posted);
    await expect(f.adapters.marketplace.connect(f.renter).postJob("", INPUT, PRICE, f.deadline, f.usdc))
      .to.be.revertedWithCustomError(f.adapters.marketplace, "InvalidModelId")
      .withArgs(0n, 128n);
  });

  it("claim and complete pay the host the whole lock, as V1 did, and leave its V2 price offer at zero", async () => {
    const f = await networkHelpers.loadFixture(posted);
    await expect(f.adapters.marketplace.connect(f.host).claimJob(f.jobId))
      .to.emit(f.adapters.marketplace, "JobClaimed")
      .withArgs(f.jobId, f.host.address);
    const modelId = keccak256(toUtf8Bytes(MODEL));
    expect(await f.v2.registry.priceOf(f.host.address, modelId)).to.equal(0n);
    await expect(f.adapters.marketplace.connect(f.host).completeJob(f.jobId, RESULT))
      .to.emit(f.adapters.marketplace, "JobCompleted")
      .withArgs(f.jobId, f.host.address, RESULT);
    const fee = (PRICE * (await f.v2.escrow.feeBps())) / 10_000n;
    expect(await f.v2.escrow.balanceOf(f.host.address, f.usdc)).to.equal(PRICE - fee);
    const job = await f.adapters.marketplace.getJob(f.jobId);
    expect([job.status, job.assignedHost, job.resultHash]).to.deep.equal([3n, f.host.address, RESULT]);
    expect(job.completedAt).to.not.equal(0n);
  });

  it("a host with its own V2 price is still paid the whole lock through V1's completeJob", async () => {
    const f = await networkHelpers.loadFixture(posted);
    await (await f.v2.registry.connect(f.host).setModelPrice(keccak256(toUtf8Bytes(MODEL)), 3n)).wait();
    await (await f.adapters.marketplace.connect(f.host).claimJob(f.jobId)).wait();
    await (await f.adapters.marketplace.connect(f.host).completeJob(f.jobId, RESULT)).wait();
    const fee = (PRICE * (await f.v2.escrow.feeBps())) / 10_000n;
    expect(await f.v2.escrow.balanceOf(f.host.address, f.usdc)).to.equal(PRICE - fee);
  });

  it("claimJob keeps V1's HostCannotServe with the model's name", async () => {
    const f = await networkHelpers.loadFixture(posted);
    await expect(f.adapters.marketplace.connect(f.stranger).claimJob(f.jobId))
      .to.be.revertedWithCustomError(f.adapters.marketplace, "HostCannotServe")
      .withArgs(f.stranger.address, MODEL);
  });

  it("cancelJob refunds the renter; expireJob names the host; V1's events", async () => {
    const f = await networkHelpers.loadFixture(posted);
    await expect(f.adapters.marketplace.connect(f.stranger).cancelJob(f.jobId))
      .to.be.revertedWithCustomError(f.v2.marketplace, "NotRenter")
      .withArgs(f.jobId, f.stranger.address);
    await expect(f.adapters.marketplace.connect(f.renter).cancelJob(f.jobId))
      .to.emit(f.adapters.marketplace, "JobCancelled")
      .withArgs(f.jobId);
    expect(await f.v2.escrow.balanceOf(f.renter.address, f.usdc)).to.equal(1_000_000_000n);
    const deadline = BigInt(await networkHelpers.time.latest()) + 100n;
    await (await f.adapters.marketplace.connect(f.renter).postJob(MODEL, INPUT, PRICE, deadline, f.usdc)).wait();
    await (await f.adapters.marketplace.connect(f.host).claimJob(2n)).wait();
    await networkHelpers.time.increase(200);
    await expect(f.adapters.marketplace.connect(f.stranger).expireJob(2n))
      .to.emit(f.adapters.marketplace, "JobExpired")
      .withArgs(2n, f.host.address);
  });

  it("views: V1's zero job for unknown ids, V1's proxies, rewards and constants; admin setter", async () => {
    const f = await networkHelpers.loadFixture(posted);
    expect((await f.adapters.marketplace.getJob(99n)).renter).to.equal("0x0000000000000000000000000000000000000000");
    expect(await f.adapters.marketplace.registry()).to.equal(await f.registry.getAddress());
    expect(await f.adapters.marketplace.escrow()).to.equal(await f.escrow.getAddress());
    expect(await f.adapters.marketplace.rewards()).to.deep.equal([10n, 20n]);
    expect(await f.adapters.marketplace.MAX_MODEL_ID_LENGTH()).to.equal(128n);
    expect(await f.adapters.marketplace.MAX_JOB_DURATION()).to.equal(30n * 24n * 3600n);
    expect(await f.adapters.marketplace.MAX_REPUTATION_STEP()).to.equal(100n);
    await expect(f.adapters.marketplace.connect(f.admin).setRewards(5n, 6n))
      .to.emit(f.adapters.marketplace, "RewardsChanged")
      .withArgs(5n, 6n);
    expect(await f.v2.marketplace.rewards()).to.deep.equal([5n, 6n]);
    await expect(f.adapters.marketplace.initialize(f.admin.address, f.admin.address, f.admin.address))
      .to.be.revertedWithCustomError(f.adapters.marketplace, "Deprecated")
      .withArgs(
        selector("initialize(address,address,address)"),
        "the proxy is initialized; V2 is configured by governance",
      );
  });
});
