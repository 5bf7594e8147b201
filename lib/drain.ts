import type { JobMarketplaceV1 } from "../typechain-types/index.js";

const POSTED = 1n;
const CLAIMED = 2n;
const PAGE_SIZE = 200n;

export interface DrainResult {
  /** Jobs this call expired. */
  expired: bigint[];
  /** Jobs still Posted or Claimed: their deadline has not passed yet. */
  open: bigint[];
}

/**
 * Expires every Posted or Claimed V1 job whose deadline has passed (`expireJob` is open to anyone
 * and allowed while V1 is paused), so that a frozen marketplace holds only finished jobs, which is
 * what the migration moves. Jobs within their deadline are reported, not touched: they may still
 * complete.
 */
export async function expireLapsedJobs(marketplace: JobMarketplaceV1): Promise<DrainResult> {
  const runner = marketplace.runner;
  const provider = runner?.provider;
  if (provider == null) throw new Error("expireLapsedJobs needs a marketplace connected to a signer with a provider");
  const latest = await provider.getBlock("latest");
  if (latest === null) throw new Error("the node returned no latest block");
  const now = BigInt(latest.timestamp);

  const result: DrainResult = { expired: [], open: [] };
  const count = await marketplace.jobCount();
  for (let offset = 0n; offset < count; offset += PAGE_SIZE) {
    const page = await marketplace.getJobsPage(offset, PAGE_SIZE);
    for (const [i, job] of page.entries()) {
      if (job.status !== POSTED && job.status !== CLAIMED) continue;
      const jobId = offset + BigInt(i) + 1n;
      // The next block's timestamp is at least `now + 1`, so `deadline < now + 1` has lapsed.
      if (job.deadline <= now) {
        await (await marketplace.expireJob(jobId)).wait();
        result.expired.push(jobId);
      } else {
        result.open.push(jobId);
      }
    }
  }
  return result;
}
