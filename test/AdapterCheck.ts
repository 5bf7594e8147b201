import { expect } from "chai";
import { Wallet, ZeroAddress, parseEther } from "ethers";
import { cutOverToAdapters } from "../deploy/cutover.js";
import {
  AdapterCheckError,
  checkV1Api,
  devChainFunder,
  readBackThroughV1,
  roundTripThroughV1,
  type V1Addresses,
  type V1Records,
} from "../lib/adapterCheck.js";
import type { JobRecord } from "../lib/commitment.js";
import { DeploymentStore } from "../lib/deployments.js";
import { formatAdapterSection } from "../lib/migration/report.js";
import type { AdapterCheckSummary } from "../lib/migration/summary.js";
import { ensureMulticall3 } from "../lib/multicall.js";
import type { RpcProvider } from "../lib/transactions.js";
import { finalizeExpectations } from "../lib/v2State.js";
import {
  IJobMarketplaceV1__factory,
  INodeRegistryV1__factory,
  IPaymentEscrowV1__factory,
} from "../typechain-types/index.js";
import { migrateEverything, prepareMigration, walletOf, type PreparedMigration } from "./helpers/e2eMigration.js";
import { ethers, networkHelpers, upgradesApi } from "./helpers/fixtures.js";
import { expectRejection, rejectionOf } from "./helpers/rejections.js";

const SEED = { nodes: 6, jobs: 30, users: 6, seed: "adapter-check" };
const SIZES = { nodes: 4, jobs: 20, users: 4 };

interface CutOver extends PreparedMigration {
  addresses: V1Addresses;
  /** V1's records at the pinned block, as the engine's snapshot holds them. */
  records: V1Records;
}

/** A seeded V1 migrated to V2, finalized and cut over: the V1 addresses run their adapters. */
async function cutOver(): Promise<CutOver> {
  const p = await prepareMigration({ ethers, upgrades: upgradesApi }, SEED);
  await ensureMulticall3(ethers.provider, { devChain: true });
  await migrateEverything(p, { sizes: SIZES });
  const expected = finalizeExpectations(p.state, await p.v2.escrow.migrationTokens());
  await (await p.v2.registry.finalizeMigration(...expected.registry)).wait();
  await (await p.v2.marketplace.finalizeMigration(...expected.marketplace)).wait();
  await (await p.v2.escrow.finalizeMigration(...expected.escrow)).wait();
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const store = await DeploymentStore.open(chainId, undefined);
  await cutOverToAdapters({ ethers, upgrades: upgradesApi, deployer: p.operator, store, chainId }, p.v1, p.v2);
  return {
    ...p,
    addresses: {
      registry: await p.v1.registry.getAddress(),
      marketplace: await p.v1.marketplace.getAddress(),
      escrow: await p.v1.escrow.getAddress(),
    },
    records: { nodes: p.state.nodes.records, jobs: p.state.jobs.records, deposits: p.state.deposits.records },
  };
}

/** The seeded node operators as signers, and the first that can take a job (active, serving a model). */
async function hostsOf(f: CutOver) {
  const hosts = f.plan.nodes.map((node) => new Wallet(node.privateKey, ethers.provider));
  const registry = INodeRegistryV1__factory.connect(f.addresses.registry, ethers.provider);
  for (const host of hosts) {
    if ((await registry.isActiveNode(host.address)) && (await registry.getNode(host.address)).models.length > 0) {
      return { hosts, first: host };
    }
  }
  throw new Error("the seed has no active node serving a model");
}

const renterOf = (f: CutOver) => new Wallet(f.plan.users[0]!.privateKey, ethers.provider);
const fund = devChainFunder(ethers.provider as unknown as RpcProvider);

describe("adapterCheck: the V1 API through the adapters", function () {
  this.timeout(300_000);

  describe("readBackThroughV1", () => {
    it("reads every node, job and balance of the snapshot back identical through the V1 addresses", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      // The seed gives V1 a real history: nodes, finished jobs, balances in both tokens.
      expect(f.records.jobs.length).to.equal(SEED.jobs);
      expect(f.records.deposits.some((d) => d.token !== ZeroAddress)).to.equal(true);
      const result = await readBackThroughV1(ethers.provider, f.addresses, f.records);
      expect(result).to.deep.include({
        nodes: SEED.nodes,
        jobs: SEED.jobs,
        balances: f.records.deposits.length,
        mismatches: [],
      });
      // 2 calls per node, 1 per job and balance: one Multicall3 round trip of 200 at most.
      expect(result.calls).to.equal(Math.ceil((2 * SEED.nodes + SEED.jobs + f.records.deposits.length) / 200));
    });

    it("reads the same without Multicall3 (one eth_call per view), in chunks when asked", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      const total = 2 * SEED.nodes + SEED.jobs + f.records.deposits.length;
      const each = await readBackThroughV1(ethers.provider, f.addresses, f.records, { multicall: false });
      expect([each.mismatches, each.calls]).to.deep.equal([[], total]);
      const chunked = await readBackThroughV1(ethers.provider, f.addresses, f.records, {
        multicall: true,
        chunkSize: 7,
      });
      expect([chunked.mismatches, chunked.calls]).to.deep.equal([[], Math.ceil(total / 7)]);
    });

    it("finds a node that changed its region through the adapter after the cut-over, naming the field", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      const node = f.records.nodes.find((n) => n.active)!;
      const registry = INodeRegistryV1__factory.connect(f.addresses.registry, walletOf(f, node.operator));
      await (await registry.updateRegion("moon-1")).wait();
      const { mismatches } = await readBackThroughV1(ethers.provider, f.addresses, f.records);
      expect(mismatches).to.deep.equal([
        {
          kind: "node",
          key: node.operator,
          fields: ["region"],
          message: `node ${node.operator} differs from the snapshot (region: ${node.region} → moon-1)`,
        },
      ]);
    });

    it("finds a balance that moved (a withdrawal through the V1 escrow) and a job record that is not V1's", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      const deposit = f.records.deposits.find((d) => d.token === ZeroAddress && d.amount > 1n)!;
      const escrow = IPaymentEscrowV1__factory.connect(f.addresses.escrow, walletOf(f, deposit.user));
      await (await escrow.withdraw(ZeroAddress, 1n)).wait();
      // A snapshot record altered by hand: the adapter still answers V1's history as V1 wrote it.
      const altered: JobRecord = { ...f.records.jobs[4]!, resultHash: `0x${"ab".repeat(32)}` };
      const jobs = f.records.jobs.map((job, i) => (i === 4 ? altered : job));
      const { mismatches } = await readBackThroughV1(ethers.provider, f.addresses, { ...f.records, jobs });
      expect(mismatches.map(({ kind, key, fields }) => ({ kind, key, fields }))).to.deep.equal([
        { kind: "job", key: "5", fields: ["resultHash"] },
        { kind: "balance", key: `${deposit.user}/${ZeroAddress}`, fields: ["amount"] },
      ]);
      expect(mismatches[1]!.message).to.equal(
        `balance ${deposit.user}/${ZeroAddress} differs from the snapshot (amount: ${deposit.amount} → ${deposit.amount - 1n})`,
      );
    });

    it("reports a node V1 does not know (V1's all-zero answer), a job id that is no record, and a view that reverts", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      const stranger = Wallet.createRandom().address;
      const nodes = [
        { ...(f.records.nodes.find((n) => n.models.length === 0) ?? f.records.nodes[0]!), operator: stranger },
      ];
      // Job 0 was never posted: V1 answers an all-zero job, which is no finished job.
      const jobs = [{ ...f.records.jobs[0]!, jobId: 0n }];
      const { mismatches } = await readBackThroughV1(ethers.provider, f.addresses, { nodes, jobs, deposits: [] });
      expect(mismatches.map(({ kind, key, fields }) => ({ kind, key, fields }))).to.deep.equal([
        {
          kind: "node",
          key: stranger,
          fields: ["operator", "stake", "registeredAt", "reputation", "active", "peerId", "region"].concat(
            nodes[0]!.models.length === 0 ? [] : ["models"],
          ),
        },
        { kind: "job", key: "0", fields: [] },
      ]);
      expect(mismatches[0]!.message).to.include(`operator: ${stranger.toLowerCase()} → ${ZeroAddress}`);
      expect(mismatches[1]!.message).to.equal("job 0: the V1 answer is not a record: V1 job ids start at 1, got 0");

      // The escrow's address given as the registry's: V1's registry views revert there.
      const wrong = { ...f.addresses, registry: f.addresses.escrow };
      const reverted = await readBackThroughV1(ethers.provider, wrong, { ...f.records, jobs: [], deposits: [] });
      const operator = f.records.nodes[0]!.operator;
      expect(reverted.mismatches.slice(0, 2)).to.deep.equal([
        {
          kind: "node",
          key: operator,
          fields: [],
          message: `node ${operator}: getNode reverted without data (out of gas, or a revert without reason)`,
        },
        {
          kind: "node",
          key: operator,
          fields: [],
          message: `node ${operator}: reputationOf reverted without data (out of gas, or a revert without reason)`,
        },
      ]);
      expect(reverted.mismatches).to.have.length(2 * SEED.nodes);
    });
  });

  describe("roundTripThroughV1", () => {
    it("posts, claims and completes a job with V1's ABI; the host's balanceOf grows by the price less the fee", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      const renter = renterOf(f);
      const { hosts, first } = await hostsOf(f);
      const escrow = IPaymentEscrowV1__factory.connect(f.addresses.escrow, ethers.provider);
      const before = await escrow.balanceOf(first.address, ZeroAddress);
      const jobCount = await IJobMarketplaceV1__factory.connect(f.addresses.marketplace, ethers.provider).jobCount();
      const lines: string[] = [];
      const price = parseEther("0.02");
      const result = await roundTripThroughV1(f.addresses, renter, hosts, { price, fund, log: (l) => lines.push(l) });
      const model = (
        await INodeRegistryV1__factory.connect(f.addresses.registry, ethers.provider).getNode(first.address)
      ).models[0]!;
      const credit = price - (price * 250n) / 10_000n;
      expect(result).to.deep.equal({
        jobId: jobCount + 1n,
        renter: renter.address,
        host: first.address,
        model,
        price,
        feeBps: 250n,
        hostCredit: credit,
        hostBalanceBefore: before,
        hostBalanceAfter: before + credit,
      });
      expect(await escrow.balanceOf(first.address, ZeroAddress)).to.equal(before + credit);
      expect(lines.map((line) => line.replace(/ \(tx .*\)$/, ""))).to.deep.equal([
        `renter ${renter.address} deposited ${price} wei through the V1 escrow`,
        `renter posted a job for "${model}" through the V1 marketplace`,
        `host ${first.address} claimed job ${jobCount + 1n} with V1's claimJob`,
        `host completed job ${jobCount + 1n} with V1's completeJob`,
      ]);
    });

    it("refuses when no given host can take a job", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      await expectRejection(
        roundTripThroughV1(f.addresses, renterOf(f), [renterOf(f)]),
        AdapterCheckError,
        "No host among those given is an active node serving a model.",
      );
    });

    it("takes the fee V1's view reports, which is V2's live fee (a governance change shows through)", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      const { hosts } = await hostsOf(f);
      await (await f.v2.escrow.setFeeBps(500n)).wait();
      const result = await roundTripThroughV1(f.addresses, renterOf(f), hosts, { fund });
      expect([result.feeBps, result.hostCredit]).to.deep.equal([500n, 10n ** 16n - (10n ** 16n * 500n) / 10_000n]);
      expect(result.hostBalanceAfter - result.hostBalanceBefore).to.equal(result.hostCredit);
    });

    it("stops at the first V1 call that reverts: the V1 escrow paused by its own circuit breaker", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      const { hosts } = await hostsOf(f);
      await (await f.v1.escrow.pause()).wait();
      const error = await rejectionOf(roundTripThroughV1(f.addresses, renterOf(f), hosts, { fund }));
      expect(error.message).to.include("EnforcedPause()");
      expect(
        await IPaymentEscrowV1__factory.connect(f.addresses.escrow, ethers.provider).balanceOf(
          renterOf(f).address,
          ZeroAddress,
        ),
      ).to.equal(
        f.records.deposits.find((d) => d.user === renterOf(f).address && d.token === ZeroAddress)?.amount ?? 0n,
      );
    });
  });

  describe("checkV1Api", () => {
    it("passes when everything reads back identical and the round trip completes", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      const { hosts } = await hostsOf(f);
      const summary = await checkV1Api(ethers.provider, f.addresses, f.records, { renter: renterOf(f), hosts, fund });
      expect(summary).to.deep.include({
        nodes: SEED.nodes,
        jobs: SEED.jobs,
        balances: f.records.deposits.length,
        mismatches: 0,
        findings: [],
        passed: true,
      });
      expect(summary.roundTrip).to.include({ price: (10n ** 16n).toString(), feeBps: "250" });
    });

    it("fails, counting every difference, listing the first ten and the round trip's failure", async () => {
      const f = await networkHelpers.loadFixture(cutOver);
      // Every job record altered: 30 differences.
      const jobs = f.records.jobs.map((job) => ({ ...job, amount: job.amount + 1n }));
      const summary = await checkV1Api(
        ethers.provider,
        f.addresses,
        { ...f.records, jobs },
        { renter: renterOf(f), hosts: [], multicall: false },
      );
      expect([summary.mismatches, summary.passed, summary.roundTrip]).to.deep.equal([SEED.jobs, false, null]);
      expect(summary.findings).to.have.length(12);
      expect(summary.findings[0]).to.match(/^job 1 differs from the snapshot \(amount: \d+ → \d+\)$/);
      expect(summary.findings[10]).to.equal(`… and ${SEED.jobs - 10} more records differ`);
      expect(summary.findings[11]).to.equal(
        "the round trip through V1's ABI failed: No host among those given is an active node serving a model.",
      );
    });
  });

  describe("formatAdapterSection", () => {
    const trip = {
      jobId: "21",
      model: "llama_3",
      renter: "0x00000000000000000000000000000000000000aa",
      host: "0x00000000000000000000000000000000000000bb",
      price: "10000000000000000",
      feeBps: "250",
      hostCredit: "9750000000000000",
    };
    const passed: AdapterCheckSummary = {
      nodes: 1500,
      jobs: 5000,
      balances: 812,
      mismatches: 0,
      findings: [],
      roundTrip: trip,
      passed: true,
    };

    it("states what was read back and the job taken through V1's ABI", () => {
      expect(formatAdapterSection(passed)).to.deep.equal([
        "**V1 API through the adapters**: 1,500 nodes, 5,000 jobs, 812 balances read back identical; a job posted, claimed and completed with V1's ABI.",
        "- job 21 (model llama\\_3, 0.01 ETH): posted by 0x00000000000000000000000000000000000000aa, claimed and completed by 0x00000000000000000000000000000000000000bb, whose `balanceOf` grew by 0.00975 ETH (the price less the 250 bps fee)",
      ]);
    });

    it("says FAILED with the count of differences and the findings", () => {
      const failed = { ...passed, mismatches: 2, findings: ["node 0x1 differs", "job 2 differs"], passed: false };
      expect(formatAdapterSection({ ...failed, roundTrip: null })).to.deep.equal([
        "**V1 API through the adapters: FAILED**: 1,500 nodes, 5,000 jobs, 812 balances read back, 2 differ from V1's snapshot; the job through V1's ABI did not complete.",
        "- node 0x1 differs",
        "- job 2 differs",
      ]);
      expect(formatAdapterSection(failed)[0]).to.match(
        /2 differ from V1's snapshot; a job posted, claimed and completed/,
      );
    });
  });
});
