// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarketplaceV1} from "../contracts/interfaces/IJobMarketplaceV1.sol";
import {V1Fixture} from "./utils/V1Fixture.sol";

/**
 * @title JobMarketplaceV1FuzzTest
 * @notice Fuzzing of the money moved by the job lifecycle, end to end through the three
 * proxies wired as deploy/v1.ts wires them: what a completed job pays the host and the
 * treasury, what cancelled and expired jobs refund, and the deadline window.
 */
contract JobMarketplaceV1FuzzTest is V1Fixture {
    string internal constant MODEL = "llama-3-8b";
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant RESULT = keccak256("result");

    address internal renter;
    address internal host;

    function setUp() public {
        _deployV1();
        renter = _account("renter");
        host = _account("host");
        _register(host, 1 ether);
    }

    function _post(address token, uint256 price, uint256 lifetime) internal returns (uint256 jobId) {
        vm.prank(renter);
        jobId = marketplace.postJob(MODEL, INPUT, price, block.timestamp + lifetime, token);
    }

    function _count(IJobMarketplaceV1.JobStatus status) internal view returns (uint256) {
        return marketplace.countByStatus(status);
    }

    /// @notice Completing a job of any price, at any fee up to the maximum, in ETH or USDC,
    /// credits the host price - fee and the treasury fee = price * feeBps / 10000, takes
    /// nothing else from the renter, and raises the host's reputation by the reward.
    function testFuzz_CompletedJobCreditsHostPriceMinusFeeAndTreasuryTheFee(
        uint256 price,
        uint256 spare,
        uint256 feeBps,
        uint256 lifetime,
        bool inEth
    ) public {
        price = bound(price, 1, 1e30);
        spare = bound(spare, 0, 1e30);
        feeBps = bound(feeBps, 0, escrow.MAX_FEE_BPS());
        lifetime = bound(lifetime, 1, marketplace.MAX_JOB_DURATION());
        address token = inEth ? ETH : address(usdc);
        vm.prank(admin);
        escrow.setFeeBps(feeBps);
        _deposit(renter, token, price + spare);

        uint256 jobId = _post(token, price, lifetime);
        assertEq(escrow.balanceOf(renter, token), spare, "post did not lock the price");
        assertEq(escrow.totalLocked(token), price, "totalLocked after post");
        vm.prank(host);
        marketplace.claimJob(jobId);
        vm.warp(block.timestamp + lifetime); // the last second of the deadline still counts
        vm.prank(host);
        marketplace.completeJob(jobId, RESULT);

        uint256 fee = (price * feeBps) / 10_000;
        assertEq(escrow.balanceOf(host, token), price - fee, "host credit");
        assertEq(escrow.balanceOf(treasury, token), fee, "treasury fee");
        assertEq(escrow.balanceOf(renter, token), spare, "renter charged more than the price");
        assertEq(escrow.totalLocked(token), 0, "lock survives completion");
        assertEq(escrow.totalFree(token), price + spare, "totalFree after completion");
        assertEq(registry.reputationOf(host), registry.INITIAL_REPUTATION() + 10, "completion reward");
        assertEq(_count(IJobMarketplaceV1.JobStatus.Completed), 1, "completed count");
        assertEq(_count(IJobMarketplaceV1.JobStatus.Claimed), 0, "claimed count");
    }

    /// @notice A job cancelled before a claim, or expired (claimed or not) after its deadline,
    /// returns exactly its price to the renter, charges no fee and costs a lapsed claimer the
    /// expiry penalty.
    function testFuzz_CancelledOrExpiredJobRefundsRenterInFull(
        uint256 price,
        uint256 lifetime,
        uint256 lateBy,
        uint8 path,
        bool inEth
    ) public {
        price = bound(price, 1, 1e30);
        lifetime = bound(lifetime, 1, marketplace.MAX_JOB_DURATION());
        lateBy = bound(lateBy, 1, 365 days);
        path = uint8(bound(path, 0, 2)); // 0: cancel, 1: expire unclaimed, 2: expire claimed
        address token = inEth ? ETH : address(usdc);
        _deposit(renter, token, price);
        uint256 jobId = _post(token, price, lifetime);
        if (path == 2) {
            vm.prank(host);
            marketplace.claimJob(jobId);
        }
        if (path == 0) {
            vm.prank(renter);
            marketplace.cancelJob(jobId);
        } else {
            uint256 deadline = block.timestamp + lifetime;
            vm.expectRevert(abi.encodeWithSelector(IJobMarketplaceV1.DeadlineNotPassed.selector, deadline));
            marketplace.expireJob(jobId);
            vm.warp(deadline + lateBy);
            marketplace.expireJob(jobId);
        }
        assertEq(escrow.balanceOf(renter, token), price, "refund not exact");
        assertEq(escrow.balanceOf(treasury, token), 0, "fee charged on a refund");
        assertEq(escrow.balanceOf(host, token), 0, "host paid for a refunded job");
        assertEq(escrow.totalLocked(token), 0, "lock survives refund");
        uint256 expectedReputation = registry.INITIAL_REPUTATION() - (path == 2 ? 20 : 0);
        assertEq(registry.reputationOf(host), expectedReputation, "expiry penalty");
        IJobMarketplaceV1.JobStatus expected =
            path == 0 ? IJobMarketplaceV1.JobStatus.Cancelled : IJobMarketplaceV1.JobStatus.Expired;
        assertTrue(marketplace.getJob(jobId).status == expected, "final status");
        assertEq(_count(expected), 1, "final status count");
    }

    /// @notice A host that claimed a job and then left the registry (unstaked and withdrew) is
    /// still paid the full price - fee when it completes in time.
    function testFuzz_HostThatLeftAfterClaimingIsStillPaidForTheJob(uint256 price, uint256 feeBps) public {
        price = bound(price, 1, 1e30);
        feeBps = bound(feeBps, 0, escrow.MAX_FEE_BPS());
        vm.prank(admin);
        escrow.setFeeBps(feeBps);
        _deposit(renter, ETH, price);
        uint256 jobId = _post(ETH, price, marketplace.MAX_JOB_DURATION());
        vm.startPrank(host);
        marketplace.claimJob(jobId);
        registry.requestUnstake();
        vm.warp(block.timestamp + UNSTAKE_COOLDOWN);
        registry.withdrawStake();
        marketplace.completeJob(jobId, RESULT);
        vm.stopPrank();
        uint256 fee = (price * feeBps) / 10_000;
        assertEq(escrow.balanceOf(host, ETH), price - fee, "departed host not paid");
        assertEq(escrow.balanceOf(treasury, ETH), fee, "treasury fee");
        assertEq(escrow.totalLocked(ETH), 0, "lock survives completion");
        assertFalse(registry.isRegistered(host), "host still registered");
    }

    /// @notice A deadline in the past/present or beyond MAX_JOB_DURATION is refused, and nothing
    /// is locked or counted.
    function testFuzz_PostJobRejectsDeadlineOutsideTheWindow(uint256 deadline) public {
        uint256 latest = block.timestamp + marketplace.MAX_JOB_DURATION();
        if (deadline > block.timestamp) deadline = bound(deadline, latest + 1, type(uint256).max);
        _deposit(renter, ETH, 1 ether);
        vm.prank(renter);
        vm.expectRevert(abi.encodeWithSelector(IJobMarketplaceV1.InvalidDeadline.selector, deadline, latest));
        marketplace.postJob(MODEL, INPUT, 1 ether, deadline, ETH);
        assertEq(marketplace.jobCount(), 0, "job counted");
        assertEq(escrow.totalLocked(ETH), 0, "funds locked");
    }
}
