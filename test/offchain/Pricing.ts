import { expect } from "chai";
import fc from "fast-check";
import { ImportError } from "../../lib/platforms/importError.js";
import { DEFAULT_MAX_FEED_AGE_SECONDS, ethPerUsdOfFeed, readEthUsdFeed } from "../../lib/platforms/priceFeed.js";
import { costOf, formatUsd18, numberToRational, parseRate, parseUsd, usdToWei } from "../../lib/platforms/pricing.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";

async function feedFixture() {
  const feed = await ethers.deployContract("TestPriceFeed", [8, "ETH / USD"]);
  return { feed, address: await feed.getAddress() };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("Pricing", () => {
  describe("decimal arithmetic", () => {
    it("prices tokens from the map exactly and rounds USD down at 18 decimals", () => {
      const price = {
        usdPer1MInputTokens: "0.15",
        usdPer1MOutputTokens: "0.60",
        source: "https://x.test",
        asOf: "2025-01-15",
      };
      const job = { costUsd: null, usage: { inputTokens: 20, outputTokens: 9, computeSeconds: null } };
      expect(costOf(job, price, "j")).to.deep.equal({ usd18: 8_400_000_000_000n, pricing: "list-price" });
      const third = {
        usdPer1MInputTokens: "1",
        usdPer1MOutputTokens: "0",
        source: "https://x.test",
        asOf: "2025-01-15",
      };
      // 1 token at $1/3M... here $1/1M: exactly 10^-6 USD.
      expect(costOf({ ...job, usage: { ...job.usage, inputTokens: 1, outputTokens: 0 } }, third, "j").usd18).to.equal(
        10n ** 12n,
      );
    });

    it("prices compute seconds from the number's exact decimal text, including exponent forms", () => {
      const price = { usdPerComputeSecond: "0.000975", source: "https://x.test", asOf: "2025-01-15" };
      const job = { costUsd: null, usage: { inputTokens: null, outputTokens: null, computeSeconds: 2.5 } };
      expect(costOf(job, price, "j").usd18).to.equal(2_437_500_000_000_000n);
      expect(numberToRational(1e-7, "s")).to.deep.equal({ num: 1n, den: 10_000_000n });
      expect(numberToRational(1e21, "s")).to.deep.equal({ num: 10n ** 21n, den: 1n });
    });

    it("prefers the export's stated cost, and never guesses missing usage", () => {
      const price = {
        usdPer1MInputTokens: "1",
        usdPer1MOutputTokens: "1",
        source: "https://x.test",
        asOf: "2025-01-15",
      };
      const stated = { costUsd: "0.0123", usage: { inputTokens: 1, outputTokens: 1, computeSeconds: null } };
      expect(costOf(stated, price, "j")).to.deep.equal({ usd18: 12_300_000_000_000_000n, pricing: "export" });
      const noTokens = { costUsd: null, usage: { inputTokens: null, outputTokens: 5, computeSeconds: null } };
      expect(costOf(noTokens, price, "j")).to.include({ usd18: null, pricing: "unpriced" });
      expect(costOf(noTokens, undefined, "j").reason).to.equal("no cost in the export and no list price in the map");
      const perSecond = { usdPerComputeSecond: "1", source: "https://x.test", asOf: "2025-01-15" };
      expect(costOf(noTokens, perSecond, "j").pricing).to.equal("unpriced");
    });

    it("refuses rates and amounts that are not plain positive decimals", () => {
      for (const bad of ["", "0", "0.000", "-1", "1e-4", "0x10", ".5", "1.", "01.5", "NaN"]) {
        expect(() => parseRate(bad), bad).to.throw(ImportError, /--rate/);
      }
      expect(() => parseUsd("12,50", "job x: costUsd")).to.throw(
        ImportError,
        /job x: costUsd must be a decimal number/,
      );
      expect(formatUsd18(0n)).to.equal("0");
      expect(formatUsd18(1n)).to.equal("0.000000000000000001");
      expect(formatUsd18(12_500_000_000_000_000_000n)).to.equal("12.5");
    });

    it("wei from a rate never exceeds the exact rational value and is within 1 wei of it", () => {
      const decimal = fc
        .tuple(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 0, max: 30 }))
        .map(([digits, scale]) => {
          const text = digits.toString().padStart(scale + 1, "0");
          return scale === 0 ? text : `${text.slice(0, -scale)}.${text.slice(-scale)}`;
        });
      fc.assert(
        fc.property(decimal, decimal, (usdText, rateText) => {
          fc.pre(!/^0(\.0*)?$/.test(rateText));
          const usd18 = parseUsd(usdText, "usd");
          const rate = parseRate(rateText);
          const wei = usdToWei(usd18, rate);
          // exact = usd18 * rate (in wei); compare wei * den with usd18 * num.
          const exactTimesDen = usd18 * rate.num;
          expect(wei * rate.den <= exactTimesDen).to.equal(true);
          expect(exactTimesDen - wei * rate.den < rate.den).to.equal(true);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe("the price feed (TestPriceFeed on the in-process chain)", () => {
    it("reads a fresh round and converts at 10^decimals / answer, rounding down", async () => {
      const { feed, address } = await networkHelpers.loadFixture(feedFixture);
      const now = await networkHelpers.time.latest();
      await feed.setRound(7, 3_225_81_000_000n, now, 7); // 3225.81 USD per ETH, 8 decimals
      const reading = await readEthUsdFeed(ethers.provider, address.toLowerCase());
      expect(reading).to.deep.include({
        address,
        description: "ETH / USD",
        decimals: 8,
        roundId: "7",
        answer: "322581000000",
        updatedAt: now,
        maxAgeSeconds: DEFAULT_MAX_FEED_AGE_SECONDS,
      });
      // $1 at 3225.81 USD/ETH = 10^26 / 322581000000 wei, floored
      expect(usdToWei(10n ** 18n, ethPerUsdOfFeed(reading))).to.equal((10n ** 18n * 10n ** 8n) / 322_581_000_000n);
      expect(usdToWei(10n ** 18n, ethPerUsdOfFeed(reading))).to.equal(309_999_659_000_375n);
      const [roundId, answer] = await feed.getRoundData(7);
      expect([roundId, answer]).to.deep.equal([7n, 322_581_000_000n]);
      expect(await feed.version()).to.equal(4n);
    });

    it("refuses a stale round (older than --max-age), naming its age", async () => {
      const { feed, address } = await networkHelpers.loadFixture(feedFixture);
      const now = await networkHelpers.time.latest();
      await feed.setRound(3, 3_000n * 10n ** 8n, now - 4000, 3);
      const error = await rejection(readEthUsdFeed(ethers.provider, address));
      expect(error).to.be.instanceOf(ImportError);
      expect(error.message).to.match(/round 3: updated 400[01] s ago .*older than --max-age 3600 s/);
      expect((await readEthUsdFeed(ethers.provider, address, 5000)).roundId).to.equal("3");
    });

    it("refuses a round updated after the latest block", async () => {
      const { feed, address } = await networkHelpers.loadFixture(feedFixture);
      const now = await networkHelpers.time.latest();
      await feed.setRound(4, 3_000n * 10n ** 8n, now + 600, 4);
      expect((await rejection(readEthUsdFeed(ethers.provider, address))).message).to.match(
        new RegExp(`updatedAt ${now + 600} is after the latest block's time`),
      );
    });

    it("refuses a zero or negative answer", async () => {
      const { feed, address } = await networkHelpers.loadFixture(feedFixture);
      const now = await networkHelpers.time.latest();
      for (const answer of [0n, -1n]) {
        await feed.setRound(5, answer, now, 5);
        expect((await rejection(readEthUsdFeed(ethers.provider, address))).message).to.include(
          `round 5: answer ${answer} is not above 0`,
        );
      }
    });

    it("refuses an incomplete round (answeredInRound < roundId)", async () => {
      const { feed, address } = await networkHelpers.loadFixture(feedFixture);
      const now = await networkHelpers.time.latest();
      await feed.setRound(9, 3_000n * 10n ** 8n, now, 8);
      expect((await rejection(readEthUsdFeed(ethers.provider, address))).message).to.include(
        "the round is incomplete (updatedAt",
      );
    });

    it("refuses an address without code, a non-feed contract, absurd decimals and a round never set", async () => {
      const { feed, address } = await networkHelpers.loadFixture(feedFixture);
      const [signer] = await ethers.getSigners();
      expect((await rejection(readEthUsdFeed(ethers.provider, signer!.address))).message).to.include(
        "no contract at that address",
      );
      expect((await rejection(readEthUsdFeed(ethers.provider, "0x1234"))).message).to.include("must be a 0x-prefixed");
      // Never set: latestRoundData reverts NoDataPresent.
      expect((await rejection(readEthUsdFeed(ethers.provider, address))).message).to.include(
        "not an AggregatorV3Interface feed",
      );
      await expect(feed.getRoundData(1)).to.be.revertedWithCustomError(feed, "NoDataPresent").withArgs(1);
      const now = await networkHelpers.time.latest();
      await expect(feed.setRound(1, 1n, now, 1))
        .to.emit(feed, "RoundSet")
        .withArgs(1, 1n, now, 1);
      await feed.setDecimals(60);
      expect((await rejection(readEthUsdFeed(ethers.provider, address))).message).to.include("decimals 60");
    });
  });
});
