// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {JobRecord} from "../migration/MigrationRecords.sol";

/**
 * @title IJobMarketplaceV2
 * @notice The V2 marketplace: jobs name models by id, lock a payment `{ token, amount }`, carry
 * metadata `{ createdAt, updatedAt, schemaVersion }`, and pay hosts their own price per token
 * for the tokens used, up to the locked amount. V1's finished jobs are history: imported as a
 * hash chain with one event per job, not stored per job; new job ids continue after them.
 */
interface IJobMarketplaceV2 {
    /// @notice Same codes as V1, so historical records keep their status.
    enum JobStatus {
        None,
        Posted,
        Claimed,
        Completed,
        Cancelled,
        Expired
    }

    /// @notice When a record was created and last changed, and the schema it follows.
    struct JobMetadata {
        uint64 createdAt;
        uint64 updatedAt;
        uint16 schemaVersion;
    }

    /// @notice A V2 job as stored.
    struct Job {
        address renter;
        JobStatus status;
        uint64 deadline;
        address host;
        /// @dev The host's price per token for the model when it claimed the job.
        uint96 pricePerToken;
        address token;
        uint96 amount;
        bytes32 modelId;
        bytes32 inputHash;
        bytes32 resultHash;
        JobMetadata metadata;
    }

    event JobPosted(
        uint256 indexed jobId,
        address indexed renter,
        bytes32 indexed modelId,
        bytes32 inputHash,
        address token,
        uint256 amount,
        uint256 deadline
    );
    event JobClaimed(uint256 indexed jobId, address indexed host, uint256 pricePerToken);
    event JobCompleted(
        uint256 indexed jobId,
        address indexed host,
        bytes32 resultHash,
        uint256 tokensUsed,
        uint256 cost
    );
    event JobCancelled(uint256 indexed jobId);
    event JobExpired(uint256 indexed jobId, address indexed host);
    /// @notice One V1 job imported as history; the event is where the record lives.
    event HistoricalJobImported(uint256 indexed jobId, JobRecord record);
    event HistoricalJobsReturned(uint256 start, uint256 end);
    event RewardsChanged(uint256 completionReward, uint256 expiryPenalty);

    error JobNotFound(uint256 jobId);
    error InvalidJobStatus(uint256 jobId, JobStatus actual);
    error InvalidDeadline(uint256 deadline, uint256 latest);
    error DeadlinePassed(uint256 deadline);
    error DeadlineNotPassed(uint256 deadline);
    error ZeroPrice();
    error ZeroInputHash();
    error ZeroResultHash();
    error HostCannotServe(address host, bytes32 modelId);
    error NotRenter(uint256 jobId, address caller);
    error NotAssignedHost(uint256 jobId, address caller);
    /// @dev Job `jobId` is history imported from V1; its record is in `HistoricalJobImported`.
    error HistoricalJob(uint256 jobId);
    /// @dev Record `index` of the batch has id `jobId`, expected `expected` (ids are contiguous).
    error NonContiguousJobId(uint256 index, uint256 jobId, uint256 expected);
    /// @dev Record for job `jobId` has status `status`: only finished jobs (3, 4, 5) are history.
    error NotAFinishedJob(uint256 jobId, uint8 status);

    // ------------------------------------------------------------ renters and hosts

    /// @notice Posts a job, locking `amount` of `token` from the caller's escrow balance.
    function postJob(
        bytes32 modelId,
        bytes32 inputHash,
        address token,
        uint256 amount,
        uint256 deadline
    ) external returns (uint256 jobId);

    /// @notice Claims job `jobId` for the caller's node at the caller's price for its model.
    function claimJob(uint256 jobId) external;

    /// @notice Completes job `jobId`: pays the host its price times `tokensUsed` (at most the
    /// locked amount) and refunds the rest.
    function completeJob(uint256 jobId, bytes32 resultHash, uint256 tokensUsed) external;

    function cancelJob(uint256 jobId) external;

    function expireJob(uint256 jobId) external;

    // ------------------------------------------------------------ migration

    /**
     * @notice Imports V1 jobs `expectedCursor + 1 …` as history. Each record's id must be the
     * next one, and its status Completed, Cancelled or Expired. `MIGRATOR_ROLE`, while migrating.
     */
    function importHistoricalJobs(uint256 expectedCursor, JobRecord[] calldata records) external;

    /// @notice Removes the last imported batch of history (no funds involved).
    function returnLastBatch() external;

    // ------------------------------------------------------------ views

    /// @notice Job `jobId`; reverts with `HistoricalJob` for imported history.
    function getJob(uint256 jobId) external view returns (Job memory);

    /// @notice Ids run from 1 to this number: history first, then V2's own jobs.
    function jobCount() external view returns (uint256);

    /// @notice How many ids are imported history.
    function historicalJobCount() external view returns (uint256);

    function countByStatus(JobStatus status) external view returns (uint256);
}
