import { expect } from "chai";
import hre from "hardhat";
import { Contract, HDNodeWallet, Transaction, Wallet, dataLength, id, parseEther, toQuantity } from "ethers";
import type { JobMarketplaceV2 } from "../typechain-types/index.js";
import {
  DEFAULT_MAX_CALLDATA_BYTES,
  PlanningError,
  TX_GAS_CAP,
  estimateCost,
  estimateDuration,
  measureBlockTiming,
  planBatch,
  plannerLimits,
  type PlanBatchOptions,
} from "../lib/migration/planner.js";
import { GAS_PRICE_ORACLE, isOpStack, setL1FeeScalars } from "../lib/migration/l1Fee.js";
import { ethers, networkHelpers } from "./helpers/fixtures.js";
import { FINISHED, makeJobRecords, migrationSetup, type JobRecord } from "./helpers/jobsMigration.js";
import { migrationStack, type MigrationFixture } from "./helpers/migrationStack.js";
import { v1Batch } from "./helpers/nodesMigration.js";
import { nodeBatchBytes } from "../lib/migration/steps/copy.js";
import { expectRejection } from "./helpers/rejections.js";

async function expectPlanningError(promise: Promise<unknown>, message: string): Promise<void> {
  await expectRejection(promise, PlanningError, message);
}

function expectPlanningErrorSync(run: () => unknown, message: string): void {
  expect(run).to.throw(PlanningError, message);
}

/** Planner inputs for importing `records` from `cursor` as the migrator does, with every estimate's size logged. */
function historyBatches(marketplace: JobMarketplaceV2, records: readonly JobRecord[], cursor = 0) {
  const tried: number[] = [];
  const slice = (size: number) => records.slice(cursor, cursor + size);
  const options = {
    remaining: records.length - cursor,
    estimate: (size: number) => {
      tried.push(size);
      return marketplace.importHistoricalJobs.estimateGas(cursor, slice(size));
    },
    calldataBytes: (size: number) =>
      dataLength(marketplace.interface.encodeFunctionData("importHistoricalJobs", [cursor, slice(size)])),
  } satisfies Partial<PlanBatchOptions>;
  return { options, tried, slice };
}

const TWO_MILLION = 2_000_000n;

describe("planBatch", () => {
  describe("history: JobMarketplaceV2.importHistoricalJobs", () => {
    it("fills close to 85% of a lowered cap in a few estimates, and the batch runs within its gas limit", async () => {
      const s = await migrationSetup();
      const market = s.marketplace.connect(s.migrator);
      const records = makeJobRecords(1n, 600);
      const { options, tried, slice } = historyBatches(market, records);
      const plan = await planBatch({ ...options, maxGasPerTx: TWO_MILLION });

      expect(plan.cap).to.equal(TWO_MILLION);
      expect(plan.target).to.equal(1_700_000n);
      expect(plan.gasEstimate <= plan.target).to.equal(true);
      expect(plan.fill).to.be.within(0.98, 1);
      expect(plan.limitedBy).to.equal("target");
      expect(plan.estimates).to.equal(tried.length).and.to.be.at.most(6);
      expect(tried[0]).to.equal(1); // no hint: the search starts at one record
      expect(plan.gasLimit).to.equal((plan.gasEstimate * 110n) / 100n);
      expect(plan.gasLimit <= plan.cap).to.equal(true);
      expect(plan.gasPerRecord).to.equal(plan.gasEstimate / BigInt(plan.size));

      const receipt = await (
        await market.importHistoricalJobs(0, slice(plan.size), { gasLimit: plan.gasLimit })
      ).wait();
      expect(receipt?.status).to.equal(1);
      expect(receipt!.gasUsed <= plan.gasEstimate).to.equal(true);
      expect(await s.marketplace.migratedCount()).to.equal(BigInt(plan.size));
    });

    it("with no tolerance finds the largest batch: one record more overshoots the target", async () => {
      const s = await migrationSetup();
      const market = s.marketplace.connect(s.migrator);
      const { options } = historyBatches(market, makeJobRecords(1n, 600));
      const plan = await planBatch({ ...options, maxGasPerTx: TWO_MILLION, tolerance: 0 });
      expect(plan.limitedBy).to.equal("target");
      expect(plan.gasEstimate <= plan.target).to.equal(true);
      expect((await options.estimate(plan.size + 1)) > plan.target).to.equal(true);
    });

    it("starts the next batch from the last batch's gas per record and adapts to records of another size", async () => {
      const s = await migrationSetup();
      const market = s.marketplace.connect(s.migrator);
      // Completed jobs first, then cancelled ones: no host, no result, more zero bytes, cheaper.
      const records = makeJobRecords(1n, 800).map((record, index) =>
        index < 200
          ? {
              ...record,
              status: FINISHED.Completed,
              host: record.renter,
              resultHash: id(`result ${index}`),
              completedAt: 1n,
            }
          : {
              ...record,
              status: FINISHED.Cancelled,
              host: ethers.ZeroAddress,
              resultHash: ethers.ZeroHash,
              completedAt: 0n,
            },
      );
      const first = historyBatches(market, records);
      const plan1 = await planBatch({ ...first.options, maxGasPerTx: TWO_MILLION });
      await (await market.importHistoricalJobs(0, first.slice(plan1.size))).wait();

      const second = historyBatches(market, records, plan1.size);
      const plan2 = await planBatch({
        ...second.options,
        maxGasPerTx: TWO_MILLION,
        hintGasPerRecord: plan1.gasPerRecord,
      });
      expect(second.tried[0]).to.equal(Number(plan2.target / plan1.gasPerRecord)); // the hint's size first
      expect(plan2.estimates).to.be.at.most(plan1.estimates);
      expect(plan2.fill).to.be.within(0.98, 1);
      // Cheaper records: more of them fit (the first batch held only completed jobs).
      expect(plan1.size).to.be.at.most(200);
      expect(plan2.size).to.be.above(plan1.size);
    });

    it("at the chain's 2^24 cap, history is bounded by the 128 KiB transaction pool limit instead", async () => {
      const s = await migrationSetup();
      const market = s.marketplace.connect(s.migrator);
      const { options } = historyBatches(market, makeJobRecords(1n, 2000));
      const plan = await planBatch(options);
      expect(plan.cap).to.equal(TX_GAS_CAP);
      expect(plan.limitedBy).to.equal("calldata");
      expect(options.calldataBytes(plan.size)).to.be.at.most(DEFAULT_MAX_CALLDATA_BYTES);
      expect(options.calldataBytes(plan.size + 1)).to.be.above(DEFAULT_MAX_CALLDATA_BYTES);
      expect(plan.fill).to.be.below(0.5); // gas was never the limit
      expect(plan.estimates).to.be.at.most(3);
    });

    it("halves when an estimate fails because the batch needs more than 2^24 gas", async function () {
      // Sized by real gas per job: coverage's instrumentation makes every job dearer.
      if (hre.globalOptions.coverage === true) this.skip();
      const s = await migrationSetup();
      const market = s.marketplace.connect(s.migrator);
      const { options, tried } = historyBatches(market, makeJobRecords(1n, 2400));
      // No calldata bound, and a hint far too low: the first candidate is every record (~20M gas).
      const { calldataBytes: _ignored, ...withoutCalldata } = options;
      const plan = await planBatch({ ...withoutCalldata, hintGasPerRecord: 5_000n });
      expect(tried.slice(0, 2)).to.deep.equal([2400, 1200]);
      expect(plan.gasEstimate <= plan.target).to.equal(true);
      expect(plan.fill).to.be.within(0.98, 1);
      expect(plan.size).to.be.within(1201, 2399);
    });

    it("halves past a record the contract refuses and stops right before it", async () => {
      const s = await migrationSetup();
      const market = s.marketplace.connect(s.migrator);
      const records = makeJobRecords(1n, 300);
      records[40] = { ...(records[40] as JobRecord), status: 1n }; // a Posted job is not history
      const { options, tried } = historyBatches(market, records);
      const plan = await planBatch({ ...options, maxGasPerTx: TWO_MILLION });
      expect(plan.size).to.equal(40);
      expect(plan.limitedBy).to.equal("failure");
      expect(tried.some((size) => size > 40)).to.equal(true);
    });

    it("refuses when even one record cannot be sent, with the contract's reason", async () => {
      const s = await migrationSetup();
      const market = s.marketplace.connect(s.migrator);
      const { options } = historyBatches(market, makeJobRecords(1n, 20), 5); // the contract is at 0
      await expectPlanningError(planBatch(options), "a batch of one record cannot be sent");
      await expectPlanningError(planBatch(options), "UnexpectedCursor(5, 0)");
    });

    it("refuses when one record alone is above the target", async () => {
      const s = await migrationSetup();
      const { options } = historyBatches(s.marketplace.connect(s.migrator), makeJobRecords(1n, 20));
      await expectPlanningError(planBatch({ ...options, maxGasPerTx: 100_000n }), "one record needs");
    });

    it("returns the best batch so far when the estimate budget runs out", async () => {
      const s = await migrationSetup();
      const { options, tried } = historyBatches(s.marketplace.connect(s.migrator), makeJobRecords(1n, 600));
      const plan = await planBatch({ ...options, maxGasPerTx: TWO_MILLION, tolerance: 0, maxEstimates: 2 });
      expect(plan.limitedBy).to.equal("estimates");
      expect(tried).to.have.length(2);
      expect(plan.gasEstimate <= plan.target).to.equal(true);
    });

    it("refuses when nothing fits within the estimate budget", async () => {
      const s = await migrationSetup();
      const { options } = historyBatches(s.marketplace.connect(s.migrator), makeJobRecords(1n, 2400));
      const { calldataBytes: _ignored, ...withoutCalldata } = options;
      await expectPlanningError(
        planBatch({ ...withoutCalldata, hintGasPerRecord: 1n, maxEstimates: 1 }),
        "no batch fits within 1 estimates",
      );
    });

    it("takes every remaining record when they all fit", async () => {
      const s = await migrationSetup();
      const { options } = historyBatches(s.marketplace.connect(s.migrator), makeJobRecords(1n, 30));
      const plan = await planBatch(options);
      expect(plan).to.include({ size: 30, limitedBy: "remaining" });
    });

    describe("a fixed --batch-size", () => {
      it("bypasses the search with one estimate, and takes at most what remains", async () => {
        const s = await migrationSetup();
        const { options, tried } = historyBatches(s.marketplace.connect(s.migrator), makeJobRecords(1n, 150));
        expect(await planBatch({ ...options, batchSize: 100 })).to.include({
          size: 100,
          estimates: 1,
          limitedBy: "fixed",
        });
        expect(await planBatch({ ...options, batchSize: 500 })).to.include({ size: 150, limitedBy: "fixed" });
        expect(tried).to.deep.equal([100, 150]);
      });

      it("may fill past the target but never past the cap", async function () {
        // Coverage instruments every statement: these sizes are chosen against real gas figures.
        if (hre.globalOptions.coverage === true) this.skip();
        const s = await migrationSetup();
        const { options } = historyBatches(s.marketplace.connect(s.migrator), makeJobRecords(1n, 300));
        const plan = await planBatch({ ...options, batchSize: 200, maxGasPerTx: TWO_MILLION });
        expect(plan.fill).to.be.above(1);
        expect(plan.gasEstimate <= TWO_MILLION).to.equal(true);
        expect(plan.gasLimit).to.equal(TWO_MILLION); // the headroom stops at the cap
        await expectPlanningError(
          planBatch({ ...options, batchSize: 250, maxGasPerTx: TWO_MILLION }),
          "above the per-transaction cap of 2000000",
        );
      });

      it("is refused when its calldata is too large or its estimate fails", async function () {
        // Coverage instruments every statement: these sizes are chosen against real gas figures.
        if (hre.globalOptions.coverage === true) this.skip();
        const s = await migrationSetup();
        const { options } = historyBatches(s.marketplace.connect(s.migrator), makeJobRecords(1n, 2400));
        await expectPlanningError(planBatch({ ...options, batchSize: 1000 }), "bytes of calldata; at most");
        const { calldataBytes: _ignored, ...withoutCalldata } = options;
        await expectPlanningError(
          planBatch({ ...withoutCalldata, batchSize: 2400 }),
          "a batch of 2400 records cannot be sent",
        );
        await expectPlanningError(planBatch({ ...options, batchSize: 0 }), "--batch-size must be a positive integer");
      });
    });
  });

  describe("nodes: NodeRegistryV1_1.migrateNodes", () => {
    const NODES = 40;
    const NODES_CAP = 5_000_000n;

    /** The migration stack with V1 holding hosts of very different sizes (0 to 12 models, strings of 0 to 200 bytes). */
    async function stackWithNodes(): Promise<MigrationFixture> {
      const f = await migrationStack();
      const [admin] = f.signers;
      const registry = f.v1_1.registry.connect(admin!);
      await (await registry.unpause()).wait(); // nothing migrated yet: V1.1 may reopen
      const minimumStake = await registry.minimumStake();
      const names = Array.from({ length: 12 }, (_, i) => `model-${i}-${"m".repeat(i * 9)}`);
      for (let i = 0; i < NODES; i++) {
        const host = new Wallet(id(`planner host ${i}`), ethers.provider);
        await ethers.provider.send("hardhat_setBalance", [host.address, toQuantity(parseEther("10"))]);
        const models = names.slice(0, (i * 5) % 13);
        const region = "région-".repeat(i % 9);
        await (
          await registry.connect(host).registerNode(`12D3KooW${"p".repeat(i % 5 === 0 ? 200 : 44)}`, models, region, {
            value: minimumStake + BigInt(i),
          })
        ).wait();
      }
      await (await registry.pause()).wait();
      await (await f.v2.registry.connect(admin!).registerModels(names)).wait();
      return f;
    }

    it("plans the largest batches under a lowered cap, and the batches migrate every node", async () => {
      const f = await networkHelpers.loadFixture(stackWithNodes);
      const registry = f.v1_1.registry.connect(f.signers[0]!);
      const records = await v1Batch(registry, 0, NODES);
      const plans = [];
      let hint: bigint | undefined;
      for (let cursor = 0; cursor < NODES;) {
        const start = cursor;
        const plan = await planBatch({
          remaining: NODES - cursor,
          estimate: (size) => registry.migrateNodes.estimateGas(start, records.slice(start, start + size)),
          calldataBytes: (size) =>
            dataLength(
              registry.interface.encodeFunctionData("migrateNodes", [start, records.slice(start, start + size)]),
            ),
          maxGasPerTx: NODES_CAP,
          hintGasPerRecord: hint,
          tolerance: 0,
        });
        plans.push(plan);
        if (cursor + plan.size < NODES) {
          // The largest batch: one node more overshoots the target.
          const larger = records.slice(start, start + plan.size + 1);
          expect((await registry.migrateNodes.estimateGas(start, larger)) > plan.target).to.equal(true);
        }
        const batch = records.slice(cursor, cursor + plan.size);
        const receipt = await (await registry.migrateNodes(cursor, batch, { gasLimit: plan.gasLimit })).wait();
        expect(receipt!.gasUsed <= plan.gasEstimate).to.equal(true);
        cursor += plan.size;
        hint = plan.gasPerRecord;
      }
      expect(plans.length).to.be.above(2);
      for (const plan of plans) expect(plan.gasEstimate <= plan.target).to.equal(true);
      for (const plan of plans.slice(0, -1)) {
        expect(plan.limitedBy).to.equal("target");
        expect(plan.fill).to.be.at.least(0.9);
        expect(plan.gasLimit <= NODES_CAP).to.equal(true);
      }
      expect(plans.at(-1)!.limitedBy).to.equal("remaining");
      expect(await f.v2.registry.migratedCount()).to.equal(BigInt(NODES));
    });

    it("counts a node batch's calldata without encoding it, to the byte", async () => {
      const f = await networkHelpers.loadFixture(stackWithNodes);
      const registry = f.v1_1.registry;
      const records = await v1Batch(registry, 0, NODES);
      const bytesOf = nodeBatchBytes(records);
      for (const [cursor, size] of [
        [0, 1],
        [0, NODES],
        [3, 7],
        [NODES - 1, 1],
        [5, 20],
      ] as const) {
        const data = registry.interface.encodeFunctionData("migrateNodes", [
          cursor,
          records.slice(cursor, cursor + size),
        ]);
        expect(bytesOf(cursor, size), `${cursor}+${size}`).to.equal(dataLength(data));
      }
    });
  });

  describe("options", () => {
    it("default to 85% of 2^24 and 128 KiB less the envelope", () => {
      expect(plannerLimits()).to.deep.equal({
        cap: TX_GAS_CAP,
        target: 14_260_633n,
        targetFill: 0.85,
        maxCalldataBytes: DEFAULT_MAX_CALLDATA_BYTES,
      });
      expect(plannerLimits({ maxGasPerTx: 10_000_000n, targetFill: 0.5 }).target).to.equal(5_000_000n);
    });

    it("are refused out of range, before any estimate", async () => {
      expectPlanningErrorSync(
        () => plannerLimits({ maxGasPerTx: TX_GAS_CAP + 1n }),
        "--max-gas-per-tx must be between",
      );
      expectPlanningErrorSync(() => plannerLimits({ maxGasPerTx: 21_000n }), "--max-gas-per-tx must be between");
      expectPlanningErrorSync(() => plannerLimits({ targetFill: 0.9 }), "at most 0.85");
      expectPlanningErrorSync(() => plannerLimits({ targetFill: 0 }), "above 0");
      expectPlanningErrorSync(() => plannerLimits({ maxCalldataBytes: 200_000 }), "calldata limit");
      let estimates = 0;
      const estimate = async () => BigInt(++estimates);
      await expectPlanningError(planBatch({ estimate, remaining: 0 }), "remaining records must be a positive integer");
      await expectPlanningError(planBatch({ estimate, remaining: 1.5 }), "remaining records");
      await expectPlanningError(planBatch({ estimate, remaining: 5, tolerance: 1 }), "tolerance");
      await expectPlanningError(planBatch({ estimate, remaining: 5, maxEstimates: 0 }), "estimate budget");
      await expectPlanningError(
        planBatch({ estimate, remaining: 5, calldataBytes: () => 200_000 }),
        "one record needs 200000 bytes of calldata",
      );
      expect(estimates).to.equal(0);
    });
  });
});

describe("estimateCost", () => {
  it("is max fee x gas, with no L1 fee, on a chain without the GasPriceOracle", async () => {
    const fees = await ethers.provider.getFeeData();
    const cost = await estimateCost(ethers.provider, { to: ethers.ZeroAddress, data: "0x1234", gas: 100_000n });
    expect(await isOpStack(ethers.provider)).to.equal(false);
    expect(cost).to.deep.equal({
      gas: 100_000n,
      maxFeePerGas: fees.maxFeePerGas,
      executionFeeWei: fees.maxFeePerGas! * 100_000n,
      l1FeeWei: 0n,
      totalWei: fees.maxFeePerGas! * 100_000n,
      opStack: false,
    });
  });

  it("adds the L1 data fee on an OP-stack chain: within 1% of what its receipt then reports", async () => {
    const op = await hre.network.create("hardhatOp");
    const provider = op.ethers.provider;
    await setL1FeeScalars(provider);
    const sender = HDNodeWallet.fromPhrase(
      "test test test test test test test test test test test junk",
      undefined,
      "m/44'/60'/0'/0/0",
    ).connect(provider);
    const data = new ethers.Interface(["function f(bytes)"]).encodeFunctionData("f", [
      ethers.concat(Array.from({ length: 20 }, (_, i) => id(`record ${i}`))),
    ]);
    const to = Wallet.createRandom().address;
    const gas = await provider.estimateGas({ from: sender.address, to, data });
    const fees = await provider.getFeeData();
    const nonce = await provider.getTransactionCount(sender.address, "pending");
    const maxFeePerGas = fees.maxFeePerGas! * 3n; // an operator's --max-fee-per-gas
    const cost = await estimateCost(provider, { to, data, gas, nonce, maxFeePerGas });

    expect(cost.opStack).to.equal(true);
    expect(cost.l1FeeWei > 0n).to.equal(true);
    expect(cost.maxFeePerGas).to.equal(maxFeePerGas);
    expect(cost.totalWei).to.equal(maxFeePerGas * gas + cost.l1FeeWei);
    const oracle = new Contract(GAS_PRICE_ORACLE, ["function getL1Fee(bytes) view returns (uint256)"], provider);
    const unsigned = Transaction.from({
      type: 2,
      chainId: (await provider.getNetwork()).chainId,
      nonce,
      to,
      data,
      gasLimit: gas,
      maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas!,
    });
    expect(await oracle.getFunction("getL1Fee")(unsigned.unsignedSerialized)).to.equal(cost.l1FeeWei);

    const sent = await provider.broadcastTransaction(await sender.signTransaction(unsigned));
    const receipt = (await provider.send("eth_getTransactionReceipt", [sent.hash])) as { l1Fee: string };
    // The oracle assumes a 68-byte signature; the real one compresses a little differently.
    const paid = BigInt(receipt.l1Fee);
    expect(Number(paid - cost.l1FeeWei) / Number(cost.l1FeeWei)).to.be.within(-0.01, 0.01);
  });
});

describe("estimateDuration and measureBlockTiming", () => {
  it("count one block per batch and confirmation, at the measured block time", () => {
    const request = { batches: 10, gasPerBatch: 14_000_000n, blockGasLimit: 140_000_000n, blockTimeSeconds: 2 };
    expect(estimateDuration(request)).to.deep.equal({ blocks: 10, seconds: 20 });
    expect(estimateDuration({ ...request, confirmations: 3 })).to.deep.equal({ blocks: 30, seconds: 60 });
    expect(estimateDuration({ ...request, batches: 0 })).to.deep.equal({ blocks: 0, seconds: 0 });
    expectPlanningErrorSync(
      () => estimateDuration({ ...request, blockGasLimit: 10_000_000n }),
      "never fits in a block",
    );
    expectPlanningErrorSync(() => estimateDuration({ ...request, batches: -1 }), "number of batches");
    expectPlanningErrorSync(() => estimateDuration({ ...request, confirmations: 0 }), "confirmations");
  });

  it("measures the block time and gas limit from recent blocks", async () => {
    await networkHelpers.mine(30, { interval: 2 });
    const timing = await measureBlockTiming(ethers.provider);
    const latest = await ethers.provider.getBlock("latest");
    expect(timing).to.deep.equal({ blockTimeSeconds: 2, blockGasLimit: latest!.gasLimit, sampledBlocks: 20 });
    await expectPlanningError(measureBlockTiming(ethers.provider, 0), "block sample");
  });

  it("cannot measure a chain that has only its genesis block", async () => {
    const fresh = await hre.network.create("hardhatOp");
    await expectPlanningError(measureBlockTiming(fresh.ethers.provider), "single block");
  });
});
