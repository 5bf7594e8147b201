// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GovernedUpgradeable} from "../common/GovernedUpgradeable.sol";
import {IJobMarketplaceV2} from "../interfaces/IJobMarketplaceV2.sol";
import {INodeRegistryV2} from "../interfaces/INodeRegistryV2.sol";
import {IPaymentEscrowV2} from "../interfaces/IPaymentEscrowV2.sol";
import {MigrationLifecycle} from "../migration/MigrationLifecycle.sol";
import {JobRecord} from "../migration/MigrationRecords.sol";

/**
 * @title JobMarketplaceV2
 * @notice Where renters post AI inference jobs and hosts take them, at the host's own price per
 * token for the model. Ids continue after V1's finished jobs, which are imported as history.
 * The marketplace holds no funds: the escrow locks, settles and refunds, the registry keeps
 * reputation and prices.
 * @dev History is a hash chain, not storage. `importHistoricalJobs` folds each record's leaf
 * into the migration commitment from the calldata it was given, so the stored commitment vouches
 * for exactly those records (a Merkle root supplied by the operator could not be checked by
 * the chain), and emits each record in `HistoricalJobImported` for retrieval. The lifecycle
 * keeps a checkpoint per batch (commitment before, first id), so anyone can prove one job by
 * replaying a single batch's events from its checkpoint to the next. Storing each record would
 * take about 12 fresh slots (~265,000 gas) per job; this costs calldata, one event and two
 * hashes per job, plus a few slots per batch. While paused no job is posted or claimed, but
 * claimed jobs may still be completed and any job cancelled or expired, as in V1.
 */
contract JobMarketplaceV2 is IJobMarketplaceV2, MigrationLifecycle {
    /// @notice A deadline may lie at most this far ahead.
    uint256 public constant MAX_JOB_DURATION = 30 days;
    /// @notice Bounds on the reputation moved per job.
    uint256 public constant MAX_REPUTATION_STEP = 100;
    /// @notice The schema of V2's jobs; V1's records are schema 1, V2 adds metadata.
    uint16 public constant JOB_SCHEMA_VERSION = 2;

    /// @dev Bit offsets of the per-batch tally: completed, cancelled and expired as 64-bit counts.
    uint256 private constant TALLY_BITS = 64;
    uint256 private constant TALLY_MASK = type(uint64).max;

    /// @custom:storage-location erc7201:fabstir.storage.JobMarketplaceV2
    struct JobMarketplaceStorage {
        /// @dev V2's own jobs only; ids up to `historicalJobCount()` are history, not stored.
        mapping(uint256 jobId => Job) jobs;
        /// @dev How many jobs V2 itself created.
        uint256 ownJobs;
        /// @dev History included.
        mapping(JobStatus status => uint256) countByStatus;
        /// @dev Per imported batch, keyed by its first cursor: its completed, cancelled and
        /// expired counts packed in one word, so a rollback can take them back out.
        mapping(uint256 batchStart => uint256) batchTallies;
        INodeRegistryV2 registry;
        IPaymentEscrowV2 escrow;
        uint256 completionReward;
        uint256 expiryPenalty;
    }

    // keccak256(abi.encode(uint256(keccak256("fabstir.storage.JobMarketplaceV2")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_LOCATION = 0x1db11a71a645c32bd895ba618cdaac303799a2e4d1d671e54d6858fa0ac68f00;

    function _s() private pure returns (JobMarketplaceStorage storage $) {
        assembly {
            $.slot := STORAGE_LOCATION
        }
    }

    /**
     * @notice Sets up the marketplace behind a proxy; the migration window opens now. The
     * registry must grant it `REPUTATION_ROLE` and the escrow `MARKETPLACE_ROLE`.
     * @param admin Receives the admin, upgrader and pauser roles (the timelock in production).
     * @param migrator Receives `MIGRATOR_ROLE` (none when zero; the admin may grant it later).
     * @param registry_ The V2 node registry.
     * @param escrow_ The V2 payment escrow.
     */
    function initialize(
        address admin,
        address migrator,
        INodeRegistryV2 registry_,
        IPaymentEscrowV2 escrow_
    ) external initializer {
        __GovernedUpgradeable_init(admin);
        __MigrationLifecycle_init(migrator);
        if (address(registry_) == address(0) || address(escrow_) == address(0)) revert ZeroAddress();
        JobMarketplaceStorage storage $ = _s();
        $.registry = registry_;
        $.escrow = escrow_;
        _setRewards(10, 20);
    }

    /// @inheritdoc GovernedUpgradeable
    function version() external pure virtual override returns (string memory) {
        return "2.0.0";
    }

    // ---------------------------------------------------------------- renters and hosts

    /// @inheritdoc IJobMarketplaceV2
    function postJob(
        bytes32 modelId,
        bytes32 inputHash,
        address token,
        uint256 amount,
        uint256 deadline
    ) external whenMigrated whenNotPaused returns (uint256 jobId) {
        address sender = _msgSender();
        if (inputHash == bytes32(0)) revert ZeroInputHash();
        if (amount == 0) revert ZeroPrice();
        if (amount > type(uint96).max) revert ValueOutOfRange(amount, 1, type(uint96).max);
        uint256 latest = block.timestamp + MAX_JOB_DURATION;
        if (deadline <= block.timestamp || deadline > latest) revert InvalidDeadline(deadline, latest);
        JobMarketplaceStorage storage $ = _s();
        if (bytes($.registry.modelName(modelId)).length == 0) revert INodeRegistryV2.UnknownModel(modelId);

        jobId = migratedCount() + ++$.ownJobs;
        Job storage job = $.jobs[jobId];
        job.renter = sender;
        job.status = JobStatus.Posted;
        job.deadline = uint64(deadline);
        job.token = token;
        job.amount = uint96(amount);
        job.modelId = modelId;
        job.inputHash = inputHash;
        job.metadata = JobMetadata({
            createdAt: uint64(block.timestamp),
            updatedAt: uint64(block.timestamp),
            schemaVersion: JOB_SCHEMA_VERSION
        });
        ++$.countByStatus[JobStatus.Posted];

        emit JobPosted(jobId, sender, modelId, inputHash, token, amount, deadline);
        // The escrow is trusted protocol code; it reverts when the renter's balance is short.
        $.escrow.lockForJob(jobId, sender, token, amount);
    }

    /// @inheritdoc IJobMarketplaceV2
    function claimJob(uint256 jobId) external whenMigrated whenNotPaused {
        address sender = _msgSender();
        JobMarketplaceStorage storage $ = _s();
        Job storage job = _jobIn(jobId, JobStatus.Posted);
        if (block.timestamp > job.deadline) revert DeadlinePassed(job.deadline);
        bytes32 modelId = job.modelId;
        INodeRegistryV2 registry_ = $.registry;
        if (!registry_.isActiveNode(sender) || !registry_.supportsModel(sender, modelId)) {
            revert HostCannotServe(sender, modelId);
        }
        uint256 price = registry_.priceOf(sender, modelId);
        // No offer means the host does not serve the model for pay; a price beyond what a job
        // can lock is not one the job's storage can hold.
        if (price == 0 || price > type(uint96).max) revert HostCannotServe(sender, modelId);
        job.host = sender;
        job.pricePerToken = uint96(price);
        _moveStatus(job, JobStatus.Claimed);
        emit JobClaimed(jobId, sender, price);
    }

    /// @inheritdoc IJobMarketplaceV2
    function completeJob(uint256 jobId, bytes32 resultHash, uint256 tokensUsed) external whenMigrated {
        address sender = _msgSender();
        JobMarketplaceStorage storage $ = _s();
        Job storage job = _jobIn(jobId, JobStatus.Claimed);
        if (sender != job.host) revert NotAssignedHost(jobId, sender);
        if (block.timestamp > job.deadline) revert DeadlinePassed(job.deadline);
        if (resultHash == bytes32(0)) revert ZeroResultHash();
        uint256 amount = job.amount;
        uint256 price = job.pricePerToken;
        // price * tokensUsed > amount exactly when tokensUsed > amount / price (price > 0), so
        // the cap is found by division and the product is only taken when it fits the amount.
        uint256 cost = tokensUsed > amount / price ? amount : price * tokensUsed;
        job.resultHash = resultHash;
        _moveStatus(job, JobStatus.Completed);
        emit JobCompleted(jobId, sender, resultHash, tokensUsed, cost);
        $.escrow.settle(jobId, sender, cost);
        // A host that left the registry after claiming is still paid; only reputation is skipped.
        if ($.registry.isRegistered(sender)) $.registry.increaseReputation(sender, $.completionReward);
    }

    /// @inheritdoc IJobMarketplaceV2
    function cancelJob(uint256 jobId) external whenMigrated {
        address sender = _msgSender();
        Job storage job = _jobIn(jobId, JobStatus.Posted);
        if (sender != job.renter) revert NotRenter(jobId, sender);
        _moveStatus(job, JobStatus.Cancelled);
        emit JobCancelled(jobId);
        _s().escrow.refund(jobId);
    }

    /// @inheritdoc IJobMarketplaceV2
    function expireJob(uint256 jobId) external whenMigrated {
        JobMarketplaceStorage storage $ = _s();
        Job storage job = _jobExists(jobId);
        JobStatus status = job.status;
        if (status != JobStatus.Posted && status != JobStatus.Claimed) revert InvalidJobStatus(jobId, status);
        if (block.timestamp <= job.deadline) revert DeadlineNotPassed(job.deadline);
        address host = job.host;
        _moveStatus(job, JobStatus.Expired);
        emit JobExpired(jobId, host);
        $.escrow.refund(jobId);
        // A host that let a claimed job lapse loses reputation, if it is still registered.
        if (status == JobStatus.Claimed && $.registry.isRegistered(host)) {
            $.registry.decreaseReputation(host, $.expiryPenalty);
        }
    }

    // ---------------------------------------------------------------- migration

    /**
     * @inheritdoc IJobMarketplaceV2
     * @dev Nothing is stored per job: each record is folded into the commitment from calldata
     * and emitted once, and the batch writes the status counts and its own tally once. A
     * record's id must be the next one (`NonContiguousJobId`) and its status finished
     * (`NotAFinishedJob`), so ids of history and of V2's own jobs never overlap.
     *
     * Why assembly: this loop is nearly all of the jobs' migration gas. Decoding each record
     * from calldata and abi-encoding it twice (for its leaf and for the event) cost about 2,400
     * gas per job more than this. Instead each record's 384 bytes are copied from calldata
     * once, and that one copy is hashed (the leaf, `keccak256(abi.encode(record))`) and logged
     * (`log2` with the event's topic and the id: the same topics and data as
     * `emit HistoricalJobImported(jobId, record)`, so indexers decode it with the ABI). The copy
     * lies past the free memory pointer and is never allocated, so memory (whose cost grows
     * quadratically) stays at one record whatever the batch size. A static struct's calldata
     * is its `abi.encode` only when canonical, so the decoder's checks are kept, in its order:
     * a status, address or timestamp word with dirty high bits reverts without reason, so a
     * non-canonical encoding can neither change a leaf nor reach the log. The decoder has
     * already checked that the whole array lies inside the calldata.
     */
    function importHistoricalJobs(uint256 expectedCursor, JobRecord[] calldata records) external onlyMigrator {
        (bytes32 commitment, uint256 start) = _beginBatch(expectedCursor, records.length);
        bytes32 topic = HistoricalJobImported.selector;
        uint256 completed;
        uint256 cancelled;
        uint256 expired;
        uint256 copy; // one record's 0x180 bytes, allocated once and reused by each record
        assembly ("memory-safe") {
            // Allocated, not borrowed past the free pointer: Solidity code between the assembly
            // blocks (the fold, an error, coverage probes) may use the memory above it.
            copy := mload(0x40)
            mstore(0x40, add(copy, 0x180))
        }
        for (uint256 i = 0; i < records.length; ++i) {
            uint256 expectedId;
            uint256 jobId;
            uint256 status;
            assembly ("memory-safe") {
                expectedId := add(add(start, i), 1) // cannot overflow: a uint64 cursor plus a calldata index
                calldatacopy(copy, add(records.offset, mul(i, 0x180)), 0x180)
                jobId := mload(copy)
                status := mload(add(copy, 0x160))
            }
            if (jobId != expectedId) revert NonContiguousJobId(i, jobId, expectedId);
            unchecked {
                if (status == uint8(JobStatus.Completed)) ++completed;
                else if (status == uint8(JobStatus.Cancelled)) ++cancelled;
                else if (status == uint8(JobStatus.Expired)) ++expired;
                else if (status > type(uint8).max) {
                    assembly ("memory-safe") {
                        revert(0, 0) // dirty: where the decoder reverted
                    }
                } else revert NotAFinishedJob(expectedId, uint8(status));
            }
            bytes32 leaf;
            assembly ("memory-safe") {
                // Words 1-3 (renter, host, token) are addresses, words 8-10 (the times) uint64.
                let dirty := or(shr(160, mload(add(copy, 0x20))), shr(160, mload(add(copy, 0x40))))
                dirty := or(dirty, or(shr(160, mload(add(copy, 0x60))), shr(64, mload(add(copy, 0x100)))))
                dirty := or(dirty, or(shr(64, mload(add(copy, 0x120))), shr(64, mload(add(copy, 0x140)))))
                if dirty {
                    revert(0, 0)
                }
                leaf := keccak256(copy, 0x180)
                log2(copy, 0x180, topic, jobId)
            }
            commitment = _fold(commitment, leaf);
        }
        JobMarketplaceStorage storage $ = _s();
        if (completed != 0) $.countByStatus[JobStatus.Completed] += completed;
        if (cancelled != 0) $.countByStatus[JobStatus.Cancelled] += cancelled;
        if (expired != 0) $.countByStatus[JobStatus.Expired] += expired;
        $.batchTallies[start] = completed | (cancelled << TALLY_BITS) | (expired << (2 * TALLY_BITS));
        _endBatch(commitment, start + records.length);
    }

    /// @inheritdoc IJobMarketplaceV2
    function returnLastBatch() external onlyMigrator {
        (uint256 start, uint256 end, ) = _rollBackLastBatch();
        JobMarketplaceStorage storage $ = _s();
        uint256 tally = $.batchTallies[start];
        delete $.batchTallies[start];
        $.countByStatus[JobStatus.Completed] -= tally & TALLY_MASK;
        $.countByStatus[JobStatus.Cancelled] -= (tally >> TALLY_BITS) & TALLY_MASK;
        $.countByStatus[JobStatus.Expired] -= tally >> (2 * TALLY_BITS);
        emit HistoricalJobsReturned(start, end);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Sets the reputation a host gains per completed job and loses per expired claim.
    function setRewards(uint256 completionReward, uint256 expiryPenalty) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setRewards(completionReward, expiryPenalty);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IJobMarketplaceV2
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _jobExists(jobId);
    }

    /// @inheritdoc IJobMarketplaceV2
    function jobCount() external view returns (uint256) {
        return migratedCount() + _s().ownJobs;
    }

    /// @inheritdoc IJobMarketplaceV2
    function historicalJobCount() external view returns (uint256) {
        return migratedCount();
    }

    /// @inheritdoc IJobMarketplaceV2
    function countByStatus(JobStatus status) external view returns (uint256) {
        return _s().countByStatus[status];
    }

    /// @notice The node registry this marketplace uses.
    function registry() external view returns (INodeRegistryV2) {
        return _s().registry;
    }

    /// @notice The payment escrow this marketplace uses.
    function escrow() external view returns (IPaymentEscrowV2) {
        return _s().escrow;
    }

    /// @notice Reputation gained per completed job and lost per expired claim.
    function rewards() external view returns (uint256 completionReward, uint256 expiryPenalty) {
        return (_s().completionReward, _s().expiryPenalty);
    }

    // ---------------------------------------------------------------- internals

    /// @dev The marketplace holds no funds, so finalize checks no token.
    function _migrationTokens() internal pure override returns (address[] memory) {
        return new address[](0);
    }

    /// @dev The marketplace holds no funds.
    function _migratedFunds(address) internal pure override returns (uint256) {
        return 0;
    }

    /// @dev V2's own job `jobId`; history and unknown ids revert.
    function _jobExists(uint256 jobId) private view returns (Job storage job) {
        if (jobId != 0 && jobId <= migratedCount()) revert HistoricalJob(jobId);
        job = _s().jobs[jobId];
        if (job.status == JobStatus.None) revert JobNotFound(jobId);
    }

    function _jobIn(uint256 jobId, JobStatus expected) private view returns (Job storage job) {
        job = _jobExists(jobId);
        if (job.status != expected) revert InvalidJobStatus(jobId, job.status);
    }

    /// @dev Moves `job` to `next`, keeping the counts and the metadata's `updatedAt` current.
    function _moveStatus(Job storage job, JobStatus next) private {
        JobMarketplaceStorage storage $ = _s();
        --$.countByStatus[job.status];
        ++$.countByStatus[next];
        job.status = next;
        job.metadata.updatedAt = uint64(block.timestamp);
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
