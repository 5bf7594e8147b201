// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GovernedUpgradeable} from "../common/GovernedUpgradeable.sol";
import {PageBounds} from "../common/PageBounds.sol";
import {IJobMarketplaceV1} from "../interfaces/IJobMarketplaceV1.sol";
import {JobMarketplaceV1Storage} from "./storage/JobMarketplaceV1Storage.sol";
import {INodeRegistryV1} from "../interfaces/INodeRegistryV1.sol";
import {IPaymentEscrowV1} from "../interfaces/IPaymentEscrowV1.sol";

/**
 * @title JobMarketplaceV1
 * @notice Where renters post AI inference jobs and hosts take them. The marketplace holds no
 * funds: the escrow locks, releases and refunds, and the registry keeps reputation.
 * @dev While paused no job is posted or claimed, but claimed jobs may still be completed and
 * any job cancelled or expired, so a migration freeze lets running work drain.
 */
contract JobMarketplaceV1 is IJobMarketplaceV1, JobMarketplaceV1Storage, GovernedUpgradeable {
    /// @notice Longest model id, in bytes.
    uint256 public constant MAX_MODEL_ID_LENGTH = 128;
    /// @notice A deadline may lie at most this far ahead.
    uint256 public constant MAX_JOB_DURATION = 30 days;
    /// @notice Bounds on the reputation moved per job.
    uint256 public constant MAX_REPUTATION_STEP = 100;

    /**
     * @notice Sets up the marketplace behind a proxy. The registry must grant it
     * `REPUTATION_ROLE` and the escrow `MARKETPLACE_ROLE`.
     * @param admin Receives the admin, upgrader and pauser roles (the timelock in production).
     * @param registry_ The node registry.
     * @param escrow_ The payment escrow.
     */
    function initialize(address admin, INodeRegistryV1 registry_, IPaymentEscrowV1 escrow_) external initializer {
        __GovernedUpgradeable_init(admin);
        if (address(registry_) == address(0) || address(escrow_) == address(0)) revert ZeroAddress();
        JobMarketplaceStorage storage $ = _s();
        $.registry = registry_;
        $.escrow = escrow_;
        _setRewards(10, 20);
    }

    /// @inheritdoc GovernedUpgradeable
    function version() external pure virtual override returns (string memory) {
        return "1.0.0";
    }

    // ---------------------------------------------------------------- renters and hosts

    /// @inheritdoc IJobMarketplaceV1
    function postJob(
        string calldata modelId,
        bytes32 inputHash,
        uint256 maxPrice,
        uint256 deadline,
        address paymentToken
    ) external whenNotPaused returns (uint256 jobId) {
        uint256 modelLength = bytes(modelId).length;
        if (modelLength == 0 || modelLength > MAX_MODEL_ID_LENGTH) {
            revert InvalidModelId(modelLength, MAX_MODEL_ID_LENGTH);
        }
        if (inputHash == bytes32(0)) revert ZeroInputHash();
        if (maxPrice == 0) revert ZeroPrice();
        uint256 latest = block.timestamp + MAX_JOB_DURATION;
        if (deadline <= block.timestamp || deadline > latest) revert InvalidDeadline(deadline, latest);

        JobMarketplaceStorage storage $ = _s();
        jobId = ++$.jobCount;
        Job storage job = $.jobs[jobId];
        job.renter = msg.sender;
        job.status = JobStatus.Posted;
        job.maxPrice = maxPrice;
        job.deadline = deadline;
        job.postedAt = block.timestamp;
        job.modelId = modelId;
        job.inputHash = inputHash;
        job.paymentToken = paymentToken;
        ++$.countByStatus[JobStatus.Posted];

        emit JobPosted(jobId, msg.sender, modelId, inputHash, maxPrice, deadline, paymentToken);
        // The escrow is trusted protocol code; it reverts when the renter's balance is short.
        $.escrow.lockForJob(jobId, msg.sender, paymentToken, maxPrice);
    }

    /// @inheritdoc IJobMarketplaceV1
    function claimJob(uint256 jobId) external whenNotPaused {
        JobMarketplaceStorage storage $ = _s();
        Job storage job = _jobIn(jobId, JobStatus.Posted);
        if (block.timestamp > job.deadline) revert DeadlinePassed(job.deadline);
        if (!$.registry.isActiveNode(msg.sender) || !$.registry.supportsModel(msg.sender, job.modelId)) {
            revert HostCannotServe(msg.sender, job.modelId);
        }
        job.assignedHost = msg.sender;
        _moveStatus(job, JobStatus.Claimed);
        emit JobClaimed(jobId, msg.sender);
    }

    /// @inheritdoc IJobMarketplaceV1
    function completeJob(uint256 jobId, bytes32 resultHash) external {
        JobMarketplaceStorage storage $ = _s();
        Job storage job = _jobIn(jobId, JobStatus.Claimed);
        if (msg.sender != job.assignedHost) revert NotAssignedHost(jobId, msg.sender);
        if (block.timestamp > job.deadline) revert DeadlinePassed(job.deadline);
        if (resultHash == bytes32(0)) revert ZeroResultHash();
        job.resultHash = resultHash;
        job.completedAt = block.timestamp;
        _moveStatus(job, JobStatus.Completed);
        emit JobCompleted(jobId, msg.sender, resultHash);
        $.escrow.releaseToHost(jobId, msg.sender);
        // A host that left the registry after claiming is still paid; only reputation is skipped.
        if ($.registry.isRegistered(msg.sender)) $.registry.increaseReputation(msg.sender, $.completionReward);
    }

    /// @inheritdoc IJobMarketplaceV1
    function cancelJob(uint256 jobId) external {
        Job storage job = _jobIn(jobId, JobStatus.Posted);
        if (msg.sender != job.renter) revert NotRenter(jobId, msg.sender);
        _moveStatus(job, JobStatus.Cancelled);
        emit JobCancelled(jobId);
        _s().escrow.refund(jobId);
    }

    /// @inheritdoc IJobMarketplaceV1
    function expireJob(uint256 jobId) external {
        JobMarketplaceStorage storage $ = _s();
        Job storage job = _jobExists(jobId);
        if (job.status != JobStatus.Posted && job.status != JobStatus.Claimed) {
            revert InvalidJobStatus(jobId, job.status);
        }
        if (block.timestamp <= job.deadline) revert DeadlineNotPassed(job.deadline);
        bool wasClaimed = job.status == JobStatus.Claimed;
        _moveStatus(job, JobStatus.Expired);
        emit JobExpired(jobId, job.assignedHost);
        $.escrow.refund(jobId);
        // A host that let a claimed job lapse loses reputation, if it is still registered.
        if (wasClaimed && $.registry.isRegistered(job.assignedHost)) {
            $.registry.decreaseReputation(job.assignedHost, $.expiryPenalty);
        }
    }

    // ---------------------------------------------------------------- admin

    /// @notice Sets the reputation a host gains per completed job and loses per expired claim.
    function setRewards(uint256 completionReward, uint256 expiryPenalty) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setRewards(completionReward, expiryPenalty);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IJobMarketplaceV1
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _s().jobs[jobId];
    }

    /// @inheritdoc IJobMarketplaceV1
    function jobCount() external view returns (uint256) {
        return _s().jobCount;
    }

    /// @inheritdoc IJobMarketplaceV1
    function getJobsPage(uint256 offset, uint256 limit) external view returns (Job[] memory page) {
        JobMarketplaceStorage storage $ = _s();
        page = new Job[](PageBounds.size(offset, limit, $.jobCount));
        for (uint256 i = 0; i < page.length; ++i) page[i] = $.jobs[offset + i + 1];
    }

    /// @inheritdoc IJobMarketplaceV1
    function countByStatus(JobStatus status) external view returns (uint256) {
        return _s().countByStatus[status];
    }

    /// @notice The node registry this marketplace uses.
    function registry() external view returns (INodeRegistryV1) {
        return _s().registry;
    }

    /// @notice The payment escrow this marketplace uses.
    function escrow() external view returns (IPaymentEscrowV1) {
        return _s().escrow;
    }

    /// @notice Reputation gained per completed job and lost per expired claim.
    function rewards() external view returns (uint256 completionReward, uint256 expiryPenalty) {
        return (_s().completionReward, _s().expiryPenalty);
    }

    // ---------------------------------------------------------------- internals

    function _jobExists(uint256 jobId) private view returns (Job storage job) {
        job = _s().jobs[jobId];
        if (job.status == JobStatus.None) revert JobNotFound(jobId);
    }

    function _jobIn(uint256 jobId, JobStatus expected) private view returns (Job storage job) {
        job = _jobExists(jobId);
        if (job.status != expected) revert InvalidJobStatus(jobId, job.status);
    }

    function _moveStatus(Job storage job, JobStatus next) private {
        JobMarketplaceStorage storage $ = _s();
        --$.countByStatus[job.status];
        ++$.countByStatus[next];
        job.status = next;
    }

    function _setRewards(uint256 completionReward, uint256 expiryPenalty) private {
        if (completionReward > MAX_REPUTATION_STEP) revert ValueOutOfRange(completionReward, 0, MAX_REPUTATION_STEP);
        if (expiryPenalty > MAX_REPUTATION_STEP) revert ValueOutOfRange(expiryPenalty, 0, MAX_REPUTATION_STEP);
        JobMarketplaceStorage storage $ = _s();
        $.completionReward = completionReward;
        $.expiryPenalty = expiryPenalty;
        emit RewardsChanged(completionReward, expiryPenalty);
    }
}
