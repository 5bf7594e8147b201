/**
 * `--price-feed <address>`: the ETH / USD rate from a Chainlink AggregatorV3Interface feed, checked
 * the way a careful consumer checks it, refused rather than used when anything is off. On an L2
 * (`--sequencer-feed`), Chainlink's L2 Sequencer Uptime Feed is checked first: while the sequencer is
 * down, or within a grace period after it came back up, the price feed's last answer may be stale
 * however fresh its `updatedAt` looks, so it is not used.
 */
import { Contract, getAddress, isAddress, type Provider } from "ethers";
import { ImportError } from "./importError.js";
import type { Rational } from "./pricing.js";

/**
 * Default `--max-age`: 3600 s, the heartbeat of Chainlink's ETH / USD feed on Ethereum mainnet, the
 * longest of its ETH / USD feeds (L2 feeds such as Base's update more often). A healthy feed is
 * never older than its heartbeat, so a round older than an hour means the feed has stopped.
 */
export const DEFAULT_MAX_FEED_AGE_SECONDS = 3600;

const FEED_ABI = [
  "function decimals() view returns (uint8)",
  "function description() view returns (string)",
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
];

/**
 * Default `--sequencer-grace`: 3600 s, the grace period of Chainlink's sequencer-check example
 * (docs.chain.link/data-feeds/l2-sequencer-feeds): time for the feeds to catch up after an outage.
 */
export const DEFAULT_SEQUENCER_GRACE_SECONDS = 3600;

/**
 * Chains whose ETH / USD feeds need the sequencer check (`--price-feed` there requires
 * `--sequencer-feed`), with Chainlink's documented uptime feed proxy where its docs list one
 * (docs.chain.link/data-feeds/l2-sequencer-feeds, "Supported networks").
 */
export const SEQUENCER_CHAINS: Readonly<Record<number, { name: string; feed?: string }>> = {
  8453: { name: "Base mainnet", feed: "0xBCF85224fc0756B9Fa45aA7892530B47e10b6433" },
  84532: { name: "Base Sepolia" },
};

/** What the bundle records about the sequencer uptime round it checked. */
export interface SequencerReading {
  address: string;
  roundId: string;
  /** When the sequencer last changed status (came up), unix seconds. */
  startedAt: number;
  graceSeconds: number;
}

/** What the bundle records about the feed round it used (integers as decimal strings). */
export interface FeedReading {
  address: string;
  description: string;
  decimals: number;
  roundId: string;
  /** USD per ETH with `decimals` decimals. */
  answer: string;
  /** The round's updatedAt, unix seconds. */
  updatedAt: number;
  /** The chain's latest block time when the feed was read: what the age is measured against. */
  readAt: number;
  maxAgeSeconds: number;
  /** The sequencer uptime check made before reading the feed (`--sequencer-feed`), if any. */
  sequencer?: SequencerReading;
}

/** ETH per USD of a feed reading: 10^decimals / answer. */
export function ethPerUsdOfFeed(reading: Pick<FeedReading, "answer" | "decimals">): Rational {
  return { num: 10n ** BigInt(reading.decimals), den: BigInt(reading.answer) };
}

/** `--max-age` as whole seconds above zero. */
export function parseMaxAge(text: string): number {
  return wholeSeconds(text, "--max-age", 1);
}

/** `--sequencer-grace` as whole seconds (0 allowed: no grace period). */
export function parseSequencerGrace(text: string): number {
  return wholeSeconds(text, "--sequencer-grace", 0);
}

function wholeSeconds(text: string, option: string, min: 0 | 1): number {
  if (!(min === 0 ? /^(0|[1-9][0-9]{0,9})$/ : /^[1-9][0-9]{0,9}$/).test(text.trim())) {
    throw new ImportError(`${option} must be a whole number of seconds${min === 0 ? "" : " above 0"} (got "${text}")`);
  }
  return Number(text.trim());
}

/**
 * The refusal for `--price-feed` without `--sequencer-feed` on a chain that needs one, or undefined.
 */
export function missingSequencerFeed(chainId: number): string | undefined {
  const chain = SEQUENCER_CHAINS[chainId];
  if (chain === undefined) return undefined;
  const where =
    chain.feed === undefined
      ? "find the address for this network on docs.chain.link/data-feeds/l2-sequencer-feeds"
      : `Chainlink documents ${chain.feed} for ${chain.name} (docs.chain.link/data-feeds/l2-sequencer-feeds)`;
  return (
    `${chain.name} (chain ${chainId}) is an L2: pass --sequencer-feed <L2 sequencer uptime feed> with --price-feed, ` +
    `so that a price is not used while the sequencer is down or just back up; ${where}`
  );
}

/** The AggregatorV3 contract at `address`, or an ImportError naming `option` (bad address, no code). */
async function connectFeed(provider: Provider, address: string, option: string) {
  if (!isAddress(address)) throw new ImportError(`${option} must be a 0x-prefixed 20-byte address (got "${address}")`);
  const feedAddress = getAddress(address);
  if ((await provider.getCode(feedAddress)) === "0x") {
    throw new ImportError(`${option} ${feedAddress}: no contract at that address on this network; check --network`);
  }
  return { feedAddress, feed: new Contract(feedAddress, FEED_ABI, provider) };
}

/**
 * Reads Chainlink's L2 sequencer uptime feed (`answer` 0 = up, 1 = down; `startedAt` = when the status
 * last changed) and refuses, as Chainlink's consumer example does, while the sequencer is down and until
 * `graceSeconds` have passed since it came back up. Time is the latest block's. Also refused: no
 * contract, not an AggregatorV3 feed, an answer other than 0 or 1 (not an uptime feed), `startedAt` 0
 * (Chainlink: an invalid round) or after the latest block.
 */
export async function checkSequencerUp(
  provider: Provider,
  address: string,
  graceSeconds = DEFAULT_SEQUENCER_GRACE_SECONDS,
): Promise<SequencerReading> {
  const { feedAddress, feed } = await connectFeed(provider, address, "--sequencer-feed");
  let round: [bigint, bigint, bigint, bigint, bigint];
  try {
    round = (await feed.getFunction("latestRoundData")()) as unknown as typeof round;
  } catch (error) {
    throw new ImportError(
      `--sequencer-feed ${feedAddress}: not an AggregatorV3Interface feed (${(error as Error).message.split("\n")[0]})`,
    );
  }
  const [roundId, answer, startedAt] = round;
  const now = BigInt((await provider.getBlock("latest"))!.timestamp);
  const at = `--sequencer-feed ${feedAddress} round ${roundId}`;
  if (answer !== 0n && answer !== 1n) {
    throw new ImportError(
      `${at}: answer ${answer} is neither 0 (up) nor 1 (down); is this an L2 sequencer uptime feed?`,
    );
  }
  if (startedAt === 0n) {
    throw new ImportError(`${at}: startedAt is 0 (an invalid round); try again after the next round`);
  }
  if (startedAt > now) {
    throw new ImportError(
      `${at}: startedAt ${startedAt} is after the latest block's time ${now}; the feed or the node's clock is wrong`,
    );
  }
  const since = new Date(Number(startedAt) * 1000).toISOString();
  if (answer === 1n) {
    throw new ImportError(
      `${at}: the L2 sequencer is down (since ${since}); prices cannot be trusted until it is back up and the grace period of ${graceSeconds} s has passed`,
    );
  }
  if (now - startedAt < BigInt(graceSeconds)) {
    const until = new Date((Number(startedAt) + graceSeconds) * 1000).toISOString();
    throw new ImportError(
      `${at}: the L2 sequencer came back up ${now - startedAt} s ago (at ${since}), within the grace period of ${graceSeconds} s; try again after ${until}`,
    );
  }
  return { address: feedAddress, roundId: roundId.toString(), startedAt: Number(startedAt), graceSeconds };
}

/**
 * Reads and checks the latest round. Time is the chain's (the latest block's timestamp), as a
 * contract consuming the feed would see it. Refused: no contract at the address, an answer <= 0,
 * an incomplete round (updatedAt 0 or answeredInRound < roundId), updatedAt after the block time,
 * a round older than `maxAgeSeconds`.
 */
export async function readEthUsdFeed(
  provider: Provider,
  address: string,
  maxAgeSeconds = DEFAULT_MAX_FEED_AGE_SECONDS,
): Promise<FeedReading> {
  const { feedAddress, feed } = await connectFeed(provider, address, "--price-feed");
  let decimals: bigint, description: string, round: [bigint, bigint, bigint, bigint, bigint];
  try {
    decimals = (await feed.getFunction("decimals")()) as bigint;
    description = (await feed.getFunction("description")()) as string;
    round = (await feed.getFunction("latestRoundData")()) as unknown as typeof round;
  } catch (error) {
    throw new ImportError(
      `--price-feed ${feedAddress}: not an AggregatorV3Interface feed (${(error as Error).message.split("\n")[0]})`,
    );
  }
  const [roundId, answer, , updatedAt, answeredInRound] = round;
  const block = await provider.getBlock("latest");
  const now = BigInt(block!.timestamp);
  const at = `--price-feed ${feedAddress} (${description}) round ${roundId}`;
  if (decimals > 36n) throw new ImportError(`${at}: decimals ${decimals} is not a price feed's (at most 36)`);
  if (answer <= 0n)
    throw new ImportError(`${at}: answer ${answer} is not above 0; the feed is broken, do not price with it`);
  if (updatedAt === 0n || answeredInRound < roundId) {
    throw new ImportError(
      `${at}: the round is incomplete (updatedAt ${updatedAt}, answeredInRound ${answeredInRound}, roundId ${roundId}); try again after the next round`,
    );
  }
  if (updatedAt > now) {
    throw new ImportError(
      `${at}: updatedAt ${updatedAt} is after the latest block's time ${now}; the feed or the node's clock is wrong`,
    );
  }
  if (now - updatedAt > BigInt(maxAgeSeconds)) {
    throw new ImportError(
      `${at}: updated ${now - updatedAt} s ago (at ${updatedAt}), older than --max-age ${maxAgeSeconds} s; the feed has stopped, or pass a larger --max-age`,
    );
  }
  return {
    address: feedAddress,
    description,
    decimals: Number(decimals),
    roundId: roundId.toString(),
    answer: answer.toString(),
    updatedAt: Number(updatedAt),
    readAt: Number(now),
    maxAgeSeconds,
  };
}
