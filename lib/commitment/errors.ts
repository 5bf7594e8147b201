/** A record, or a value read from V1 for one, that cannot be encoded canonically. */
export class RecordError extends Error {
  override name = "RecordError";
}

/** V1's job status codes (`IJobMarketplaceV1.JobStatus`), by code. */
export const V1_JOB_STATUS_NAMES = ["None", "Posted", "Claimed", "Completed", "Cancelled", "Expired"] as const;

/**
 * A V1 job is still open (Posted or Claimed). Only finished jobs move to V2, as history; open
 * jobs still hold escrowed funds and a host's promise, so the migration waits for them.
 */
export class MarketplaceNotDrainedError extends Error {
  override name = "MarketplaceNotDrainedError";
  readonly jobId: bigint;
  readonly status: number;

  constructor(jobId: bigint, status: number) {
    super(
      `Job ${jobId} is ${V1_JOB_STATUS_NAMES[status]}: the marketplace must drain first. Pause V1, let every ` +
        `open job be completed, cancelled or expired (expireJob after its deadline), then read V1 again.`,
    );
    this.jobId = jobId;
    this.status = status;
  }
}
