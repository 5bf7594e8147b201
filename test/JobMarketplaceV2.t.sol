// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {JobMarketplaceV2} from "../contracts/v2/JobMarketplaceV2.sol";
import {IJobMarketplaceV2} from "../contracts/interfaces/IJobMarketplaceV2.sol";
import {INodeRegistryV2} from "../contracts/interfaces/INodeRegistryV2.sol";
import {IPaymentEscrowV2} from "../contracts/interfaces/IPaymentEscrowV2.sol";
import {JobRecord} from "../contracts/migration/MigrationRecords.sol";
import {Proxies} from "./utils/Common.sol";
import {TestBase} from "./utils/Vm.sol";

/**
 * @title JobMarketplaceV2FuzzTest
 * @notice Fuzzing of the historical job import: the commitment and the status counts depend on
 * the records alone, not on how the operator split them into batches, and a rollback takes a
 * batch back out exactly. The migration never calls the registry or escrow, so stand-in
 * addresses wire them; this contract is admin and migrator.
 */
contract JobMarketplaceV2FuzzTest is TestBase {
    uint256 internal constant MAX_RECORDS = 60;

    /// @dev Any nonzero addresses: only user functions reach the registry and escrow.
    address internal constant REGISTRY = address(0x1001);
    address internal constant ESCROW = address(0x1002);

    function _deploy() internal returns (JobMarketplaceV2 marketplace) {
        marketplace = JobMarketplaceV2(
            Proxies.deploy(
                address(new JobMarketplaceV2()),
                abi.encodeCall(
                    JobMarketplaceV2.initialize,
                    (address(this), address(this), INodeRegistryV2(REGISTRY), IPaymentEscrowV2(ESCROW))
                )
            )
        );
    }

    /// @dev `count` finished jobs with ids 1…count, fields and statuses derived from `seed`.
    function _records(uint256 seed, uint256 count) internal pure returns (JobRecord[] memory records) {
        records = new JobRecord[](count);
        for (uint256 i = 0; i < count; ++i) {
            uint256 word = uint256(keccak256(abi.encode(seed, i)));
            uint8 status = uint8(3 + (word % 3));
            records[i] = JobRecord({
                jobId: i + 1,
                renter: address(uint160(word)),
                host: status == 4 ? address(0) : address(uint160(word >> 8)),
                token: word & 1 == 0 ? address(0) : address(uint160(word >> 16)),
                amount: word >> 160,
                modelId: keccak256(abi.encode(word, "model")),
                inputHash: keccak256(abi.encode(word, "input")),
                resultHash: status == 3 ? keccak256(abi.encode(word, "result")) : bytes32(0),
                postedAt: uint64(word >> 64),
                deadline: uint64(word >> 96),
                completedAt: status == 3 ? uint64(word >> 128) : 0,
                status: status
            });
        }
    }

    /// @dev Records `[from, to)` of `records`.
    function _slice(JobRecord[] memory records, uint256 from, uint256 to) internal pure returns (JobRecord[] memory) {
        JobRecord[] memory part = new JobRecord[](to - from);
        for (uint256 i = from; i < to; ++i) part[i - from] = records[i];
        return part;
    }

    /// @dev Imports `records` in batches, cutting after record `i` when bit `i` of `cuts` is set.
    function _importSplit(
        JobMarketplaceV2 marketplace,
        JobRecord[] memory records,
        uint256 cuts
    ) internal returns (uint256 batches) {
        uint256 from = 0;
        for (uint256 i = 1; i <= records.length; ++i) {
            if (i == records.length || (cuts >> i) & 1 == 1) {
                marketplace.importHistoricalJobs(from, _slice(records, from, i));
                from = i;
                ++batches;
            }
        }
    }

    /// @dev The commitment folded here, independently of the contract's library calls.
    function _fold(JobRecord[] memory records) internal pure returns (bytes32 acc) {
        for (uint256 i = 0; i < records.length; ++i) {
            acc = keccak256(abi.encode(acc, keccak256(abi.encode(records[i]))));
        }
    }

    function _assertSameState(JobMarketplaceV2 a, JobMarketplaceV2 b) internal view {
        assertTrue(a.migrationCommitment() == b.migrationCommitment(), "commitment differs");
        assertEq(a.migratedCount(), b.migratedCount(), "cursor");
        assertEq(a.jobCount(), b.jobCount(), "jobCount");
        for (uint8 s = 0; s <= uint8(IJobMarketplaceV2.JobStatus.Expired); ++s) {
            IJobMarketplaceV2.JobStatus status = IJobMarketplaceV2.JobStatus(s);
            assertEq(a.countByStatus(status), b.countByStatus(status), "countByStatus");
        }
    }

    /// @notice Importing the same job records in one batch or split into batches at random
    /// points gives the same commitment and counts (and the fold of the records).
    function testFuzz_SplittingIntoBatchesGivesTheSameCommitmentAndCounts(
        uint256 seed,
        uint256 count,
        uint256 cuts
    ) public {
        count = bound(count, 1, MAX_RECORDS);
        JobRecord[] memory records = _records(seed, count);

        JobMarketplaceV2 whole = _deploy();
        whole.importHistoricalJobs(0, records);
        JobMarketplaceV2 split = _deploy();
        uint256 batches = _importSplit(split, records, cuts);

        _assertSameState(whole, split);
        assertEq(split.migrationBatchCount(), batches, "one checkpoint per batch");
        assertTrue(whole.migrationCommitment() == _fold(records), "commitment is not the fold of the records");
        uint256[3] memory expected;
        for (uint256 i = 0; i < count; ++i) ++expected[records[i].status - 3];
        assertEq(whole.countByStatus(IJobMarketplaceV2.JobStatus.Completed), expected[0], "completed");
        assertEq(whole.countByStatus(IJobMarketplaceV2.JobStatus.Cancelled), expected[1], "cancelled");
        assertEq(whole.countByStatus(IJobMarketplaceV2.JobStatus.Expired), expected[2], "expired");
    }

    /// @notice Rolling back any number of trailing batches leaves exactly the state of importing
    /// only the batches before them.
    function testFuzz_RollingBackTrailingBatchesRestoresTheEarlierState(
        uint256 seed,
        uint256 count,
        uint256 cuts,
        uint256 rollbacks
    ) public {
        count = bound(count, 1, MAX_RECORDS);
        JobRecord[] memory records = _records(seed, count);
        JobMarketplaceV2 rolled = _deploy();
        uint256 batches = _importSplit(rolled, records, cuts);
        rollbacks = bound(rollbacks, 1, batches);
        for (uint256 i = 0; i < rollbacks; ++i) rolled.returnLastBatch();

        JobMarketplaceV2 earlier = _deploy();
        uint256 kept = batches - rollbacks;
        uint256 end = rolled.migratedCount();
        if (end != 0) assertEq(_importSplit(earlier, _slice(records, 0, end), cuts), kept, "batches kept");
        _assertSameState(rolled, earlier);
        assertEq(rolled.migrationBatchCount(), kept, "batches left");
    }
}
