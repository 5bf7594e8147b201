// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IJobMarketplaceV1
 * @notice The V1 marketplace as deployed: renters post inference jobs with funds locked in the
 * escrow; an active node serving the model claims a job and completes it with a result hash,
 * which pays the host. Renters cancel unclaimed jobs; anyone expires jobs past their deadline.
 */
interface IJobMarketplaceV1 {
    /// @notice A job's lifecycle: Posted → Claimed → Completed, or Posted → Cancelled, or
    /// Posted/Claimed → Expired. `None` marks an id that does not exist.
    enum JobStatus {
        None,
        Posted,
        Claimed,
        Completed,
        Cancelled,
        Expired
    }

    /// @notice An inference job.
    struct Job {
        address renter;
        JobStatus status;
        address assignedHost;
        uint256 maxPrice;
        uint256 deadline;
        uint256 postedAt;
        uint256 completedAt;
        string modelId;
        bytes32 inputHash;
        bytes32 resultHash;
        address paymentToken;
    }

    event JobPosted(
        uint256 indexed jobId,
        address indexed renter,
        string modelId,
        bytes32 inputHash,
        uint256 maxPrice,
        uint256 deadline,
        address paymentToken
    );
    event JobClaimed(uint256 indexed jobId, address indexed host);
    event JobCompleted(uint256 indexed jobId, address indexed host, bytes32 resultHash);
    event JobCancelled(uint256 indexed jobId);
    event JobExpired(uint256 indexed jobId, address indexed host);
    event RewardsChanged(uint256 completionReward, uint256 expiryPenalty);

    /// @dev No job has id `jobId`.
    error JobNotFound(uint256 jobId);
    /// @dev Job `jobId` is `actual`, and the call needs it to be otherwise.
    error InvalidJobStatus(uint256 jobId, JobStatus actual);
    /// @dev The deadline `deadline` has passed or is too far ahead (latest allowed: `latest`).
    error InvalidDeadline(uint256 deadline, uint256 latest);
    /// @dev The deadline `deadline` of a job has passed: expire it instead.
    error DeadlinePassed(uint256 deadline);
    /// @dev The job is still within its deadline `deadline`.
    error DeadlineNotPassed(uint256 deadline);
    /// @dev The model id is empty or longer than `maxLength` bytes.
    error InvalidModelId(uint256 length, uint256 maxLength);
    /// @dev A job must offer a price above zero.
    error ZeroPrice();
    /// @dev A job must name the hash of its input.
    error ZeroInputHash();
    /// @dev A completed job must name the hash of its result.
    error ZeroResultHash();
    /// @dev `host` has no active node serving model `modelId`.
    error HostCannotServe(address host, string modelId);
    /// @dev Only the job's renter may do this.
    error NotRenter(uint256 jobId, address caller);
    /// @dev Only the job's assigned host may do this.
    error NotAssignedHost(uint256 jobId, address caller);

    /// @notice Posts a job, locking `maxPrice` of `paymentToken` from the caller's escrow balance.
    function postJob(
        string calldata modelId,
        bytes32 inputHash,
        uint256 maxPrice,
        uint256 deadline,
        address paymentToken
    ) external returns (uint256 jobId);

    /// @notice Claims job `jobId` for the caller's node.
    function claimJob(uint256 jobId) external;

    /// @notice Completes job `jobId` with `resultHash`, paying the caller.
    function completeJob(uint256 jobId, bytes32 resultHash) external;

    /// @notice Cancels the caller's unclaimed job `jobId` and refunds it.
    function cancelJob(uint256 jobId) external;

    /// @notice Expires job `jobId` past its deadline, refunding the renter.
    function expireJob(uint256 jobId) external;

    /// @notice The job `jobId` (all fields zero when none).
    function getJob(uint256 jobId) external view returns (Job memory);

    /// @notice How many jobs were ever posted; ids run from 1 to this number.
    function jobCount() external view returns (uint256);

    /// @notice Up to `limit` jobs from position `offset` (job id `offset + 1` first).
    function getJobsPage(uint256 offset, uint256 limit) external view returns (Job[] memory);

    /// @notice How many jobs are currently in `status`.
    function countByStatus(JobStatus status) external view returns (uint256);
}
