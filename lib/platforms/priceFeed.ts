/**
 * `--price-feed <address>`: the ETH / USD rate from a Chainlink AggregatorV3Interface feed, checked
 * the way a careful consumer checks it, refused rather than used when anything is off.
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
}

/** ETH per USD of a feed reading: 10^decimals / answer. */
export function ethPerUsdOfFeed(reading: Pick<FeedReading, "answer" | "decimals">): Rational {
  return { num: 10n ** BigInt(reading.decimals), den: BigInt(reading.answer) };
}

/** `--max-age` as whole seconds above zero. */
export function parseMaxAge(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text.trim())) {
    throw new ImportError(`--max-age must be a whole number of seconds above 0 (got "${text}")`);
  }
  return Number(text.trim());
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
  if (!isAddress(address))
    throw new ImportError(`--price-feed must be a 0x-prefixed 20-byte address (got "${address}")`);
  const feedAddress = getAddress(address);
  if ((await provider.getCode(feedAddress)) === "0x") {
    throw new ImportError(`--price-feed ${feedAddress}: no contract at that address on this network; check --network`);
  }
  const feed = new Contract(feedAddress, FEED_ABI, provider);
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
