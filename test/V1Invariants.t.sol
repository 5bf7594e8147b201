// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarketplaceV1} from "../contracts/interfaces/IJobMarketplaceV1.sol";
import {INodeRegistryV1} from "../contracts/interfaces/INodeRegistryV1.sol";
import {InvariantSuite} from "./utils/InvariantSuite.sol";
import {V1Fixture} from "./utils/V1Fixture.sol";
import {V1Handler} from "./utils/V1Handler.sol";

/**
 * @title V1InvariantTest
 * @notice Invariants of the V1 stack under random sequences of real user and admin actions
 * (deposits and withdrawals in ETH and USDC, the job lifecycle, node staking and slashing,
 * time, pauses and fee changes) driven through the proxies by `V1Handler`.
 *
 * Budget: every invariant_* function runs its own campaign with the global settings of
 * hardhat.config.ts, `invariant.runs = 64` and `invariant.depth = 32`, i.e. 64 × 32 = 2,048
 * handler calls per invariant (each followed by a check of that invariant), so the six
 * invariants below run 12,288 handler calls in all (about 12 s on two cores). About 80% of
 * the calls act; the rest find nothing to act on (no claimed job to complete, no leaving node
 * to withdraw) and return. None may revert: every invariant also asserts that the handler
 * recorded no problem (a valid call that reverted, or one that moved the wrong amount).
 */
contract V1InvariantTest is V1Fixture, InvariantSuite {
    V1Handler internal handler;

    function setUp() public {
        _deployV1();
        handler = new V1Handler(registry, escrow, marketplace, usdc, admin, treasury, _actors());
        vm.label(address(handler), "V1Handler");

        // A warm start, through the handler so that its ghost state sees it: two nodes that
        // between them serve every model, and renters with ETH and USDC in the escrow.
        handler.registerNode(2, 1 ether, 3); // carol: llama, mistral
        handler.registerNode(3, 2 ether, 6); // dave: mistral, qwen
        handler.depositEth(0, 10 ether);
        handler.depositUsdc(1, 50_000e6);
        handler.postJob(0, 0, 1 ether, 1 days, 0); // alice, ETH, llama
        handler.postJob(1, 1, 1_000e6, 2 days, 2); // bob, USDC, qwen

        _targets.push(address(handler));
    }

    /// @dev Read by the invariant runner: the handler's actions (not its ghost getters),
    /// weighted so that most runs post, claim and complete jobs.
    function targetSelectors() public view returns (FuzzSelector[] memory selectors) {
        bytes4[] memory actions = new bytes4[](24);
        uint256 n = 0;
        n = _weigh(actions, n, V1Handler.depositEth.selector, 1);
        n = _weigh(actions, n, V1Handler.depositUsdc.selector, 1);
        n = _weigh(actions, n, V1Handler.withdraw.selector, 2);
        n = _weigh(actions, n, V1Handler.postJob.selector, 4);
        n = _weigh(actions, n, V1Handler.claimJob.selector, 3);
        n = _weigh(actions, n, V1Handler.completeJob.selector, 2);
        n = _weigh(actions, n, V1Handler.cancelJob.selector, 1);
        n = _weigh(actions, n, V1Handler.expireJob.selector, 1);
        n = _weigh(actions, n, V1Handler.registerNode.selector, 1);
        n = _weigh(actions, n, V1Handler.addStake.selector, 1);
        n = _weigh(actions, n, V1Handler.requestUnstake.selector, 1);
        n = _weigh(actions, n, V1Handler.cancelUnstake.selector, 1);
        n = _weigh(actions, n, V1Handler.withdrawStake.selector, 1);
        n = _weigh(actions, n, V1Handler.slash.selector, 1);
        n = _weigh(actions, n, V1Handler.warp.selector, 1);
        n = _weigh(actions, n, V1Handler.togglePause.selector, 1);
        n = _weigh(actions, n, V1Handler.setFeeBps.selector, 1);
        require(n == actions.length, "targetSelectors: weights do not fill the list");
        selectors = _selectors(address(handler), actions);
    }

    // ================================================================ escrow solvency

    /// @notice For ETH and USDC, the escrow holds at least (and, as only deposits send it funds,
    /// exactly) the free plus locked balances it owes, which is what was deposited less what
    /// was withdrawn.
    function invariant_EscrowBalancePerTokenCoversFreeAndLockedBalances() public view {
        _assertHandlerHadNoProblems();
        address[2] memory tokens = [ETH, address(usdc)];
        for (uint256 t = 0; t < tokens.length; ++t) {
            address token = tokens[t];
            uint256 held = token == ETH ? address(escrow).balance : usdc.balanceOf(address(escrow));
            uint256 owed = escrow.totalFree(token) + escrow.totalLocked(token);
            assertGe(held, owed, "escrow balance below free + locked");
            assertEq(held, owed, "escrow balance differs from free + locked");
            assertEq(held, handler.ghostDeposited(token) - handler.ghostWithdrawn(token), "deposits - withdrawals");
        }
    }

    /// @notice For ETH and USDC, `totalFree` is the sum of the free balances of everyone who can
    /// hold one (the actors, who are renters and hosts, and the treasury, which earns the fees).
    function invariant_TotalFreePerTokenEqualsSumOfActorsFreeBalances() public view {
        _assertHandlerHadNoProblems();
        address[] memory holders = handler.holders();
        address[2] memory tokens = [ETH, address(usdc)];
        for (uint256 t = 0; t < tokens.length; ++t) {
            uint256 sum = 0;
            for (uint256 i = 0; i < holders.length; ++i) sum += escrow.balanceOf(holders[i], tokens[t]);
            assertEq(escrow.totalFree(tokens[t]), sum, "totalFree != sum of free balances");
        }
    }

    // ================================================================ stake accounting

    /// @notice The registry's ETH balance equals `totalStaked()`, which equals the sum of the
    /// registered nodes' stakes and what was staked less what was withdrawn or slashed; the
    /// treasury's wallet holds exactly the slashed stake plus the fees it withdrew.
    function invariant_RegistryBalanceEqualsTotalStakedEqualsSumOfNodeStakes() public view {
        _assertHandlerHadNoProblems();
        address[] memory actors = handler.actors();
        uint256 sum = 0;
        uint256 registered = 0;
        for (uint256 i = 0; i < actors.length; ++i) {
            if (!registry.isRegistered(actors[i])) {
                assertEq(registry.getNode(actors[i]).stake, 0, "unregistered node keeps stake");
                continue;
            }
            sum += registry.getNode(actors[i]).stake;
            ++registered;
        }
        uint256 total = registry.totalStaked();
        assertEq(address(registry).balance, total, "registry balance != totalStaked");
        assertEq(total, sum, "totalStaked != sum of node stakes");
        assertEq(registry.nodeCount(), registered, "nodeCount != registered actors");
        assertEq(
            total,
            handler.ghostStakeDeposited() - handler.ghostStakeWithdrawn() - handler.ghostSlashed(),
            "totalStaked != staked - withdrawn - slashed"
        );
        assertEq(
            treasury.balance,
            handler.ghostSlashed() + handler.ghostTreasuryEthWithdrawn(),
            "treasury wallet != slashed + withdrawn fees"
        );
    }

    /// @notice Every registered node's reputation stays within [0, MAX_REPUTATION], and a node
    /// is active only while it has at least the minimum stake and is not leaving.
    function invariant_NodeReputationStaysWithinBoundsAndActiveNodesAreStaked() public view {
        _assertHandlerHadNoProblems();
        address[] memory actors = handler.actors();
        uint256 maxReputation = registry.MAX_REPUTATION();
        for (uint256 i = 0; i < actors.length; ++i) {
            if (!registry.isRegistered(actors[i])) continue;
            assertLe(registry.reputationOf(actors[i]), maxReputation, "reputation above maximum");
            INodeRegistryV1.Node memory node = registry.getNode(actors[i]);
            if (node.active) {
                assertGe(node.stake, registry.minimumStake(), "active node below minimum stake");
                assertEq(node.unstakeRequestedAt, 0, "active node is leaving");
            }
        }
    }

    // ================================================================ job accounting

    /// @notice The per-status job counts sum to `jobCount()` (no job is ever `None`), and each
    /// matches the handler's model of every job's lifecycle.
    function invariant_JobCountsByStatusSumToJobCount() public view {
        _assertHandlerHadNoProblems();
        uint256 sum = 0;
        for (uint8 s = 0; s <= uint8(type(IJobMarketplaceV1.JobStatus).max); ++s) {
            IJobMarketplaceV1.JobStatus status = IJobMarketplaceV1.JobStatus(s);
            uint256 count = marketplace.countByStatus(status);
            assertEq(count, handler.ghostCountByStatus(status), "countByStatus != handler's count");
            sum += count;
        }
        assertEq(marketplace.countByStatus(IJobMarketplaceV1.JobStatus.None), 0, "jobs in status None");
        assertEq(sum, marketplace.jobCount(), "sum of countByStatus != jobCount");
        assertEq(marketplace.jobCount(), handler.ghostJobCount(), "jobCount != jobs posted");
    }

    /// @notice For ETH and USDC, `totalLocked` equals the sum of `maxPrice` over the jobs that
    /// are Posted or Claimed; exactly those jobs hold a lock, of exactly their price.
    function invariant_TotalLockedPerTokenEqualsMaxPriceOfPostedAndClaimedJobs() public view {
        _assertHandlerHadNoProblems();
        uint256 lockedEth = 0;
        uint256 lockedUsdc = 0;
        uint256 count = marketplace.jobCount();
        for (uint256 jobId = 1; jobId <= count; ++jobId) {
            IJobMarketplaceV1.Job memory job = marketplace.getJob(jobId);
            assertTrue(job.status == handler.ghostJobStatus(jobId), "job status differs from the handler's");
            bool open =
                job.status == IJobMarketplaceV1.JobStatus.Posted || job.status == IJobMarketplaceV1.JobStatus.Claimed;
            assertEq(escrow.lockOf(jobId).amount, open ? job.maxPrice : 0, "lock != open job's price");
            if (!open) continue;
            if (job.paymentToken == ETH) lockedEth += job.maxPrice;
            else lockedUsdc += job.maxPrice;
        }
        assertEq(escrow.totalLocked(ETH), lockedEth, "ETH totalLocked != open jobs' prices");
        assertEq(escrow.totalLocked(address(usdc)), lockedUsdc, "USDC totalLocked != open jobs' prices");
        assertEq(lockedEth, handler.ghostLocked(ETH), "ETH locked != handler's");
        assertEq(lockedUsdc, handler.ghostLocked(address(usdc)), "USDC locked != handler's");
    }

    /// @dev Every call the handler makes is valid, so none may revert and each must move exactly
    /// the funds expected (the runner itself ignores reverts, failOnRevert = false).
    function _assertHandlerHadNoProblems() internal view {
        _assertNoProblems("V1Handler", address(handler));
    }
}
