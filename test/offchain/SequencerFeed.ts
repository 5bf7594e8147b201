import { expect } from "chai";
import type { Provider } from "ethers";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ImportError } from "../../lib/platforms/importError.js";
import {
  checkSequencerUp,
  DEFAULT_SEQUENCER_GRACE_SECONDS,
  missingSequencerFeed,
  parseSequencerGrace,
} from "../../lib/platforms/priceFeed.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { importLib, type LibRun } from "../helpers/importChain.js";

const ALICE = "0x00000000000000000000000000000000000A11cE";
const OPENAI = "test/fixtures/platforms/openai-batch-output.jsonl";
const BASE_FEED = "0xBCF85224fc0756B9Fa45aA7892530B47e10b6433";
const UP = 0n;
const DOWN = 1n;

/** A fresh ETH / USD feed and a sequencer uptime feed (both TestPriceFeed: uptime feeds are AggregatorV3 too). */
async function feedsFixture() {
  const price = await ethers.deployContract("TestPriceFeed", [8, "ETH / USD"]);
  const sequencer = await ethers.deployContract("TestPriceFeed", [0, "L2 Sequencer Uptime Status Feed"]);
  const now = await networkHelpers.time.latest();
  await (await price.setRound(1, 2_500n * 10n ** 8n, now, 1)).wait();
  return { price, priceAddress: await price.getAddress(), sequencer, sequencerAddress: await sequencer.getAddress() };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** The in-process chain as another chain id: only `getNetwork` differs, every call reaches the real node. */
function asChain(chainId: bigint): Provider {
  return new Proxy(ethers.provider, {
    get(target, property) {
      if (property === "getNetwork") return async () => ({ chainId, name: "test" });
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function run(options: Record<string, unknown>, provider: Provider = ethers.provider): Promise<LibRun> {
  return importLib(
    { from: "openai", input: OPENAI, user: ALICE, ...options },
    {
      provider: async () => provider,
      signer: async () => (await ethers.getSigners())[0],
      recordedEscrow: async () => undefined,
    },
  );
}

describe("L2 sequencer uptime check before the price feed (--sequencer-feed)", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), "sequencer-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("checkSequencerUp", () => {
    it("accepts a sequencer up for longer than the grace period and returns the round it read", async () => {
      const { sequencer, sequencerAddress } = await networkHelpers.loadFixture(feedsFixture);
      const now = await networkHelpers.time.latest();
      await (await sequencer.setRound(4, UP, now - 3_601, 4)).wait();
      expect(await checkSequencerUp(ethers.provider, sequencerAddress.toLowerCase())).to.deep.equal({
        address: sequencerAddress,
        roundId: "4",
        startedAt: now - 3_601,
        graceSeconds: DEFAULT_SEQUENCER_GRACE_SECONDS,
      });
    });

    it("refuses while the sequencer is down, however long ago it went down", async () => {
      const { sequencer, sequencerAddress } = await networkHelpers.loadFixture(feedsFixture);
      const now = await networkHelpers.time.latest();
      await (await sequencer.setRound(5, DOWN, now - 86_400, 5)).wait();
      const error = await rejection(checkSequencerUp(ethers.provider, sequencerAddress));
      expect(error).to.be.instanceOf(ImportError);
      expect(error.message).to.equal(
        `--sequencer-feed ${sequencerAddress} round 5: the L2 sequencer is down (since ${new Date((now - 86_400) * 1000).toISOString()}); ` +
          `prices cannot be trusted until it is back up and the grace period of 3600 s has passed`,
      );
    });

    it("refuses within the grace period after it came back up, then accepts once the period has passed", async () => {
      const { sequencer, sequencerAddress } = await networkHelpers.loadFixture(feedsFixture);
      const upAt = await networkHelpers.time.latest();
      await (await sequencer.setRound(6, UP, upAt, 6)).wait();
      const within = await rejection(checkSequencerUp(ethers.provider, sequencerAddress));
      expect(within.message).to.match(
        new RegExp(
          `round 6: the L2 sequencer came back up [0-9] s ago \\(at ${new Date(upAt * 1000).toISOString()}\\), ` +
            `within the grace period of 3600 s; try again after ${new Date((upAt + 3600) * 1000).toISOString()}`,
        ),
      );
      // A shorter grace period is the caller's choice.
      expect((await checkSequencerUp(ethers.provider, sequencerAddress, 0)).startedAt).to.equal(upAt);
      await networkHelpers.time.increaseTo(upAt + 3_599); // mines a block at that time
      expect((await rejection(checkSequencerUp(ethers.provider, sequencerAddress))).message).to.include(
        "came back up 3599 s ago",
      );
      await networkHelpers.time.increaseTo(upAt + 3_600);
      expect((await checkSequencerUp(ethers.provider, sequencerAddress)).roundId).to.equal("6");
    });

    it("refuses a feed that is not an uptime feed, an invalid or future round, no contract and no round", async () => {
      const { sequencer, sequencerAddress, priceAddress } = await networkHelpers.loadFixture(feedsFixture);
      const now = await networkHelpers.time.latest();
      // The ETH / USD feed given as the sequencer feed: answer 2500e8 is not a status.
      expect((await rejection(checkSequencerUp(ethers.provider, priceAddress))).message).to.include(
        "answer 250000000000 is neither 0 (up) nor 1 (down); is this an L2 sequencer uptime feed?",
      );
      // Never set: latestRoundData reverts.
      expect((await rejection(checkSequencerUp(ethers.provider, sequencerAddress))).message).to.include(
        `--sequencer-feed ${sequencerAddress}: not an AggregatorV3Interface feed`,
      );
      await (await sequencer.setRound(7, UP, now + 600, 7)).wait();
      expect((await rejection(checkSequencerUp(ethers.provider, sequencerAddress))).message).to.include(
        `startedAt ${now + 600} is after the latest block's time`,
      );
      // An invalid round: Chainlink's uptime feeds report startedAt 0 before the first status round.
      await (await sequencer.setRound(8, UP, now - 7_200, 8)).wait();
      await (await sequencer.setStartedAt(8, 0)).wait();
      expect((await rejection(checkSequencerUp(ethers.provider, sequencerAddress))).message).to.include(
        "startedAt is 0 (an invalid round); try again after the next round",
      );
      expect((await rejection(checkSequencerUp(ethers.provider, ALICE))).message).to.equal(
        `--sequencer-feed ${ALICE}: no contract at that address on this network; check --network`,
      );
      expect((await rejection(checkSequencerUp(ethers.provider, "0x12"))).message).to.equal(
        `--sequencer-feed must be a 0x-prefixed 20-byte address (got "0x12")`,
      );
    });

    it("names Base's documented uptime feed when it is missing, and asks for none elsewhere", () => {
      expect(missingSequencerFeed(8453)).to.equal(
        `Base mainnet (chain 8453) is an L2: pass --sequencer-feed <L2 sequencer uptime feed> with --price-feed, so that a price ` +
          `is not used while the sequencer is down or just back up; Chainlink documents ${BASE_FEED} for Base mainnet ` +
          `(docs.chain.link/data-feeds/l2-sequencer-feeds)`,
      );
      expect(missingSequencerFeed(84532)).to.include(
        "Base Sepolia (chain 84532) is an L2: pass --sequencer-feed <L2 sequencer uptime feed> with --price-feed",
      );
      expect(missingSequencerFeed(84532)).to.include("find the address for this network on docs.chain.link");
      for (const chainId of [1, 11155111, 31337]) expect(missingSequencerFeed(chainId)).to.equal(undefined);
      expect(parseSequencerGrace("0")).to.equal(0);
      for (const bad of ["", "-1", "1.5", "1e3", "01"]) {
        expect(() => parseSequencerGrace(bad), bad).to.throw(ImportError, /--sequencer-grace must be a whole number/);
      }
    });
  });

  describe("platform:import's library (runPlatformImport)", () => {
    it("prices after the check and records the sequencer round in the bundle and the report", async () => {
      const { sequencer, sequencerAddress, priceAddress } = await networkHelpers.loadFixture(feedsFixture);
      const now = await networkHelpers.time.latest();
      await (await sequencer.setRound(3, UP, now - 7_200, 3)).wait();
      const result = await run({ priceFeed: priceAddress, sequencerFeed: sequencerAddress, sequencerGrace: "3600" });
      expect(result.code, result.text).to.equal(0);
      expect(result.result!.bundle.conversion).to.deep.include({
        kind: "price-feed",
        address: priceAddress,
        sequencer: { address: sequencerAddress, roundId: "3", startedAt: now - 7_200, graceSeconds: 3600 },
      });
      expect(result.text).to.include(
        `; L2 sequencer up since ${new Date((now - 7_200) * 1000).toISOString()} (feed ${sequencerAddress}, grace 3600 s)`,
      );
      expect(result.result!.bundle.totals.costWei).to.equal("169700000000");
    });

    it("refuses while the sequencer is down or within the grace period, writing nothing", async () => {
      const { sequencer, sequencerAddress, priceAddress } = await networkHelpers.loadFixture(feedsFixture);
      const now = await networkHelpers.time.latest();
      const store = path.join(dir, "store.db");
      const out = path.join(dir, "bundle.json");
      const args = { priceFeed: priceAddress, sequencerFeed: sequencerAddress, store, out, apply: true };
      await (await sequencer.setRound(1, DOWN, now - 60, 1)).wait();
      const down = await run(args);
      expect(down.code).to.equal(1);
      expect(down.text).to.include("the L2 sequencer is down");
      await (await sequencer.setRound(2, UP, now - 60, 2)).wait();
      const grace = await run(args);
      expect(grace.text).to.include("within the grace period of 3600 s");
      expect(existsSync(store) || existsSync(out)).to.equal(false);
      // A grace period the caller shortened to what has passed accepts the same round.
      const shorter = await run({ ...args, sequencerGrace: "60", store: path.join(dir, "s2.db"), apply: false });
      expect(shorter.code, shorter.text).to.equal(0);
    });

    it("on Base, refuses --price-feed without --sequencer-feed, naming the documented feed", async () => {
      const { priceAddress } = await networkHelpers.loadFixture(feedsFixture);
      const refused = await run({ priceFeed: priceAddress }, asChain(8453n));
      expect(refused.code).to.equal(1);
      expect(refused.text).to.include(`Error: Base mainnet (chain 8453) is an L2: pass --sequencer-feed`);
      expect(refused.text).to.include(BASE_FEED);
      expect((await run({ priceFeed: priceAddress }, asChain(84532n))).text).to.include("Base Sepolia (chain 84532)");
      // --rate needs no feed and no sequencer check, on any chain.
      expect((await run({ rate: "0.0004" }, asChain(8453n))).code).to.equal(0);
    });

    it("refuses the sequencer options without what they apply to", async () => {
      const { priceAddress, sequencerAddress } = await networkHelpers.loadFixture(feedsFixture);
      expect((await run({ rate: "0.0004", sequencerFeed: sequencerAddress })).text).to.equal(
        "Error: --sequencer-feed applies to --price-feed only",
      );
      expect((await run({ priceFeed: priceAddress, sequencerGrace: "60" })).text).to.equal(
        "Error: --sequencer-grace applies to --sequencer-feed only",
      );
      expect(
        (await run({ priceFeed: priceAddress, sequencerFeed: sequencerAddress, sequencerGrace: "soon" })).text,
      ).to.equal(`Error: --sequencer-grace must be a whole number of seconds (got "soon")`);
    });
  });
});
