import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { BatchTracker } from "../../lib/reliability/families/context.js";
import { nonceFeePlans } from "../../lib/reliability/families/nonceFee.js";
import { reorgPlans } from "../../lib/reliability/families/reorg.js";
import { startMiner } from "../../lib/reliability/miner.js";
import { FULL, QUICK, ReliabilityOptionError, resolveReliabilityOptions } from "../../lib/reliability/options.js";
import { renderReliability, reliabilityJson } from "../../lib/reliability/table.js";
import type { Outcome } from "../../lib/reliability/outcome.js";
import type { TrialResult } from "../../lib/reliability/trial.js";
import { startAnvil, type AnvilNode } from "../helpers/anvil.js";

/** The reorg and nonce-fee families' pure parts, and the harness miner on a real anvil. */

const ARGS = { quick: true, json: false, seed: "s", crashTrials: 0, rpcTrials: 0, keep: false };

function passed(): Outcome {
  return {
    recordsLost: 0,
    weiLost: 0n,
    duplicates: 0,
    commitments: { nodes: "0x", jobs: "0x", deposits: "0x" },
    problems: [],
    passed: true,
  };
}

describe("reliability: reorg and nonce-fee families", () => {
  describe("plans", () => {
    it("quick takes one trial of each sub-case; the rest follows the seed, within range", () => {
      expect(reorgPlans(QUICK.reorgTrials, 4, "s").map((p) => p.kind)).to.deep.equal(["reorg-replaced", "drop"]);
      expect(nonceFeePlans(QUICK.nonceFeeTrials, 4, "s").map((p) => p.kind)).to.deep.equal(["nonce", "fee"]);
      const full = reorgPlans(FULL.reorgTrials, 10, "s");
      expect(full.map((p) => p.kind)).to.deep.equal([
        "reorg-replaced",
        "drop",
        "reorg",
        "reorg-replaced",
        "drop",
        "reorg",
      ]);
      // Quick aims at batches only; full aims its last reorg trial and its last two nonce-fee
      // trials (one of each kind) at finalize, a single call through the same sender.
      expect(reorgPlans(QUICK.reorgTrials, 4, "s").map((p) => p.target)).to.deep.equal(["batch", "batch"]);
      expect(nonceFeePlans(QUICK.nonceFeeTrials, 4, "s").map((p) => p.target)).to.deep.equal(["batch", "batch"]);
      expect(full.map((p) => p.target)).to.deep.equal([...Array<string>(5).fill("batch"), "finalize"]);
      expect(nonceFeePlans(FULL.nonceFeeTrials, 4, "s").map((p) => [p.kind, p.target])).to.deep.equal([
        ["nonce", "batch"],
        ["fee", "batch"],
        ["nonce", "finalize"],
        ["fee", "finalize"],
      ]);
      for (const plan of full) {
        expect(plan.batch).to.be.within(1, 10);
        expect(plan.depth).to.be.within(1, 3);
        expect(plan.holdMs).to.be.within(1_200, 2_500);
      }
      // A fee spike needs a batch after it: the target is never the last one.
      for (const plan of nonceFeePlans(40, 3, "s")) expect(plan.batch).to.be.within(1, 2);
      expect(reorgPlans(6, 10, "s")).to.deep.equal(full);
      expect(reorgPlans(6, 10, "t")).to.not.deep.equal(full);
    });
  });

  describe("BatchTracker", () => {
    it("holds the chain from the nodes step's start for the first batch, and says when it is sent", () => {
      const tracker = new BatchTracker(1);
      expect(tracker.see({ type: "step-started", step: "check" })).to.deep.equal({ holdNow: false, sentNow: false });
      expect(tracker.see({ type: "step-started", step: "nodes" })).to.deep.equal({ holdNow: true, sentNow: false });
      expect(tracker.see({ type: "batch-sent" })).to.deep.equal({ holdNow: false, sentNow: true });
      expect(tracker.see({ type: "batch-sent" })).to.deep.equal({ holdNow: false, sentNow: false });
    });

    it("holds the chain once the batch before the target is confirmed", () => {
      const tracker = new BatchTracker(3);
      const seen = [
        { type: "batch-sent" },
        { type: "batch-confirmed" },
        { type: "batch-sent" },
        { type: "batch-confirmed" },
        { type: "batch-sent" },
      ].map((line) => tracker.see(line));
      expect(seen.map((s) => s.holdNow)).to.deep.equal([false, false, false, true, false]);
      expect(seen.map((s) => s.sentNow)).to.deep.equal([false, false, false, false, true]);
    });
  });

  describe("options and table", () => {
    it("takes the mode's counts, an override, and refuses a count out of range", () => {
      expect(resolveReliabilityOptions(ARGS)).to.deep.include({ reorgTrials: 2, nonceFeeTrials: 2 });
      expect(resolveReliabilityOptions({ ...ARGS, quick: false })).to.deep.include({
        reorgTrials: 6,
        nonceFeeTrials: 4,
      });
      expect(resolveReliabilityOptions({ ...ARGS, reorgTrials: 9, nonceFeeTrials: 1 })).to.deep.include({
        reorgTrials: 9,
        nonceFeeTrials: 1,
      });
      expect(() => resolveReliabilityOptions({ ...ARGS, reorgTrials: -1 })).to.throw(
        ReliabilityOptionError,
        "--reorg-trials must be a whole number from 0 to 1000",
      );
      expect(() => resolveReliabilityOptions({ ...ARGS, nonceFeeTrials: 1.5 })).to.throw(
        ReliabilityOptionError,
        "--nonce-fee-trials must be a whole number",
      );
    });

    it("--families runs only the named families, and refuses an unknown one", () => {
      const full = { ...ARGS, quick: false };
      expect(resolveReliabilityOptions({ ...full, families: "crash, nonce-fee" })).to.deep.include({
        crashTrials: FULL.crashTrials,
        rpcTrials: 0,
        reorgTrials: 0,
        nonceFeeTrials: FULL.nonceFeeTrials,
        hostileCases: 0,
        contractsCampaign: false,
      });
      expect(resolveReliabilityOptions({ ...full, families: "hostile,contracts" })).to.deep.include({
        crashTrials: 0,
        rpcTrials: 0,
        hostileCases: 1_000,
        contractsCampaign: true,
      });
      expect(resolveReliabilityOptions({ ...full, families: "" })).to.deep.include({
        crashTrials: FULL.crashTrials,
        hostileCases: 1_000,
        contractsCampaign: true,
      });
      expect(() => resolveReliabilityOptions({ ...full, families: "crash,reorgs" })).to.throw(
        ReliabilityOptionError,
        '--families: unknown family "reorgs"; choose from crash, rpc, reorg, nonce-fee, hostile, contracts',
      );
    });

    it("counts injected events in the retries column and prints the engine's answers under the table", () => {
      const trial = (family: TrialResult["family"], faults: number, counters: Record<string, number>): TrialResult => ({
        family,
        label: family,
        outcome: passed(),
        engineRetries: counters.resends ?? counters.replans ?? counters.waits ?? 0,
        faults,
        counters,
        ms: 1,
      });
      const json = reliabilityJson({
        trials: [
          trial("reorg", 1, { reorgs: 1, resends: 1 }),
          trial("reorg", 1, { drops: 1, resends: 2 }),
          trial("nonce-fee", 1, { nonceConflicts: 1, replans: 1 }),
          trial("nonce-fee", 1, { feeSpikes: 1, waits: 1, aboveCap: 0 }),
        ],
        faults: { drop: 0, delay: 0, http429: 0, limit: 0, staleBlock: 0 },
        totalMs: 1,
      });
      expect(json.families.map((f) => [f.family, f.trials, f.retries, f.engineRetries])).to.deep.equal([
        ["reorg", 2, 2, 3],
        ["nonce-fee", 2, 2, 2],
      ]);
      expect(json.trials[0]!.counters).to.deep.equal({ reorgs: 1, resends: 1 });
      expect(json.ok).to.equal(true);
      const text = renderReliability(json, "npm run reliability");
      expect(text).to.include("| reorg | 2 | 2 | 0 | 0 | 0 | 0 | 2 |");
      expect(text).to.include(
        "Reorgs injected: 1, dropped batches: 1 (the reorg row's retries); the engine resent 3 batch(es).",
      );
      expect(text).to.include(
        "Nonce conflicts injected: 1, handled (re-planned with a new nonce): 1; base-fee spikes above --max-fee-per-gas: 1, waits observed: 1, batches above the cap: 0.",
      );
    });
  });

  describe("the harness miner, on anvil", function () {
    this.timeout(60_000);
    let anvil: AnvilNode;
    let provider: JsonRpcProvider;
    before(async () => {
      anvil = await startAnvil();
      provider = new JsonRpcProvider(anvil.url, undefined, { cacheTimeout: -1 });
    });
    after(async () => {
      provider.destroy();
      await anvil.stop();
    });

    it("mines on an interval, holds still while paused, mines on demand, and gives automine back", async () => {
      let hooks = 0;
      const miner = await startMiner({
        provider,
        intervalMs: 20,
        beforeMine: async () => {
          hooks++;
        },
      });
      const start = await provider.getBlockNumber();
      const waitHeight = async (height: number) => {
        while ((await provider.getBlockNumber()) < height) await new Promise((r) => setTimeout(r, 10));
      };
      await waitHeight(start + 3);
      await miner.pause();
      const held = await provider.getBlockNumber();
      await new Promise((r) => setTimeout(r, 120));
      expect(await provider.getBlockNumber()).to.equal(held);
      await miner.mineNow();
      expect(await provider.getBlockNumber()).to.equal(held + 1);
      expect(hooks).to.equal(miner.mined);
      miner.resume();
      await waitHeight(held + 3);
      await miner.stop();
      const stopped = await provider.getBlockNumber();
      await new Promise((r) => setTimeout(r, 60));
      expect(await provider.getBlockNumber()).to.equal(stopped);
      // Automine again: a transaction is mined at once.
      expect(await provider.send("anvil_getAutomine", [])).to.equal(true);
    });
  });
});
