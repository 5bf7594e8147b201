import type { JobMarketplaceV1 } from "../typechain-types/index.js";

const POSTED = 1n;
const CLAIMED = 2n;
const PAGE_SIZE = 200n;

/** Posted or Claimed jobs, split by whether their deadline has passed at the latest block. */
export interface LapsedJobs {
  /** Past their deadline: `expireJob` succeeds on them. */
  lapsed: bigint[];
  /** Still within their deadline: they may still complete. */
  open: bigint[];
}

/**
 * Walks V1's jobs page by page and sorts the unfinished ones into lapsed and open. A frozen
 * marketplace must hold only finished jobs, which is what the migration moves: the lapsed ones are
 * expired (`expireJob` is open to anyone and allowed while V1 is paused); the open ones may still
 * complete and are reported, not touched.
 */
export async function findLapsedJobs(marketplace: JobMarketplaceV1): Promise<LapsedJobs> {
  const provider = marketplace.runner?.provider;
  if (provider == null) throw new Error("findLapsedJobs needs a marketplace connected to a provider");
  const latest = await provider.getBlock("latest");
  if (latest === null) throw new Error("the node returned no latest block");
  const now = BigInt(latest.timestamp);

  const result: LapsedJobs = { lapsed: [], open: [] };
  const count = await marketplace.jobCount();
  for (let offset = 0n; offset < count; offset += PAGE_SIZE) {
    const page = await marketplace.getJobsPage(offset, PAGE_SIZE);
    for (const [i, job] of page.entries()) {
      if (job.status !== POSTED && job.status !== CLAIMED) continue;
      // The next block's timestamp is at least `now + 1`, so `deadline < now + 1` has lapsed.
      (job.deadline <= now ? result.lapsed : result.open).push(offset + BigInt(i) + 1n);
    }
  }
  return result;
}
