// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {INodeRegistryV1} from "../contracts/interfaces/INodeRegistryV1.sol";
import {V1Fixture} from "./utils/V1Fixture.sol";

/**
 * @title NodeRegistryV1FuzzTest
 * @notice Fuzzing of the registry's stake accounting (register, addStake, slash, unstake and
 * withdraw with fuzzed amounts and times) and of reputation bounds, through its proxy. Stakes
 * are bounded to 10^30 wei, far above any real ETH supply.
 */
contract NodeRegistryV1FuzzTest is V1Fixture {
    uint256 internal constant MAX_TEST_STAKE = 1e30;

    address internal host;
    address internal reputer;

    function setUp() public {
        _deployV1();
        host = _account("host");
        reputer = _account("reputer");
        bytes32 role = registry.REPUTATION_ROLE();
        vm.prank(admin);
        registry.grantRole(role, reputer);
    }

    function _checkTotals(uint256 expectedTotal) internal view {
        assertEq(registry.totalStaked(), expectedTotal, "totalStaked");
        assertEq(address(registry).balance, expectedTotal, "registry balance != totalStaked");
    }

    // ---------------------------------------------------------------- stake

    /// @notice Registering with any stake at or above the minimum credits exactly that stake to
    /// the node and to the total, and the node starts active with the initial reputation.
    function testFuzz_RegisterCreditsExactlyTheSentStakeToNodeAndTotal(uint256 stake) public {
        stake = bound(stake, MINIMUM_STAKE, MAX_TEST_STAKE);
        _register(host, stake);
        INodeRegistryV1.Node memory node = registry.getNode(host);
        assertEq(node.stake, stake, "node stake");
        assertTrue(node.active, "new node inactive");
        assertEq(registry.reputationOf(host), registry.INITIAL_REPUTATION(), "initial reputation");
        _checkTotals(stake);
    }

    /// @notice Any stake below the minimum is refused and nothing is recorded.
    function testFuzz_RegisterBelowMinimumStakeReverts(uint256 stake) public {
        stake = bound(stake, 0, MINIMUM_STAKE - 1);
        vm.deal(host, stake);
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryV1.StakeBelowMinimum.selector, stake, MINIMUM_STAKE));
        registry.registerNode{value: stake}("peer", _oneModel("llama-3-8b"), "eu-west");
        assertFalse(registry.isRegistered(host), "registered below the minimum");
        _checkTotals(0);
    }

    /// @notice addStake raises the node's stake and the total by exactly the amount sent.
    function testFuzz_AddStakeRaisesNodeStakeAndTotalByExactlyTheAmount(uint256 stake, uint256 added) public {
        stake = bound(stake, MINIMUM_STAKE, MAX_TEST_STAKE);
        added = bound(added, 1, MAX_TEST_STAKE);
        _register(host, stake);
        vm.deal(host, added);
        vm.prank(host);
        registry.addStake{value: added}();
        assertEq(registry.getNode(host).stake, stake + added, "node stake after top-up");
        _checkTotals(stake + added);
    }

    /// @notice A slash of any amount up to the stake moves exactly that amount from the node
    /// (and the total) to the treasury's wallet, and the node stays active iff what remains
    /// still meets the minimum.
    function testFuzz_SlashMovesExactlyTheAmountFromStakeToTreasury(uint256 stake, uint256 amount) public {
        stake = bound(stake, MINIMUM_STAKE, MAX_TEST_STAKE);
        amount = bound(amount, 1, stake);
        _register(host, stake);
        vm.prank(admin);
        registry.slash(host, amount, "fuzz");
        INodeRegistryV1.Node memory node = registry.getNode(host);
        assertEq(node.stake, stake - amount, "node stake after slash");
        assertEq(treasury.balance, amount, "treasury did not receive the slash");
        assertEq(node.active, stake - amount >= MINIMUM_STAKE, "active flag after slash");
        _checkTotals(stake - amount);
    }

    /// @notice Slashing more than the stake reverts and moves nothing.
    function testFuzz_SlashAboveStakeRevertsAndMovesNothing(uint256 stake, uint256 amount) public {
        stake = bound(stake, MINIMUM_STAKE, MAX_TEST_STAKE);
        amount = bound(amount, stake + 1, type(uint256).max);
        _register(host, stake);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryV1.SlashExceedsStake.selector, amount, stake));
        registry.slash(host, amount, "fuzz");
        assertEq(registry.getNode(host).stake, stake, "stake changed by a failed slash");
        _checkTotals(stake);
    }

    /// @notice After a slash below the minimum, a top-up reactivates the node exactly when the
    /// stake reaches the minimum again.
    function testFuzz_TopUpAfterSlashReactivatesExactlyAtMinimum(uint256 stake, uint256 slashed, uint256 added) public {
        stake = bound(stake, MINIMUM_STAKE, MAX_TEST_STAKE);
        // Leave less than the minimum.
        slashed = bound(slashed, stake - MINIMUM_STAKE + 1, stake);
        added = bound(added, 1, 2 * MINIMUM_STAKE);
        _register(host, stake);
        vm.prank(admin);
        registry.slash(host, slashed, "fuzz");
        assertFalse(registry.isActiveNode(host), "active below the minimum");
        vm.deal(host, added);
        vm.prank(host);
        registry.addStake{value: added}();
        uint256 remaining = stake - slashed + added;
        assertEq(registry.getNode(host).stake, remaining, "stake after top-up");
        assertEq(registry.isActiveNode(host), remaining >= MINIMUM_STAKE, "reactivation");
        _checkTotals(remaining);
    }

    /// @notice After requestUnstake, withdrawStake reverts before the cooldown ends and, from
    /// then on, pays back exactly the remaining stake (after any slash) and removes the node.
    function testFuzz_WithdrawStakePaysBackExactlyTheRemainingStakeAfterCooldown(
        uint256 stake,
        uint256 slashed,
        uint256 early,
        uint256 late
    ) public {
        stake = bound(stake, MINIMUM_STAKE, MAX_TEST_STAKE);
        slashed = bound(slashed, 0, stake);
        early = bound(early, 0, UNSTAKE_COOLDOWN - 1);
        late = bound(late, 0, 365 days);
        _register(host, stake);
        if (slashed != 0) {
            vm.prank(admin);
            registry.slash(host, slashed, "fuzz");
        }
        vm.prank(host);
        registry.requestUnstake();
        uint256 availableAt = block.timestamp + UNSTAKE_COOLDOWN;
        assertFalse(registry.isActiveNode(host), "leaving node still active");

        vm.warp(block.timestamp + early);
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistryV1.CooldownNotElapsed.selector, availableAt));
        registry.withdrawStake();

        vm.warp(availableAt + late);
        uint256 walletBefore = host.balance;
        vm.prank(host);
        registry.withdrawStake();
        assertEq(host.balance, walletBefore + stake - slashed, "payout != remaining stake");
        assertEq(treasury.balance, slashed, "treasury != slashed");
        assertFalse(registry.isRegistered(host), "node not removed");
        assertEq(registry.nodeCount(), 0, "nodeCount after withdrawal");
        _checkTotals(0);
    }

    /// @notice For several nodes with fuzzed stakes, top-ups and slashes, some of which leave
    /// and withdraw, the total always equals the sum of the stakes of the nodes still
    /// registered and the registry's balance, and every wei is accounted for: staked =
    /// still staked + withdrawn + slashed.
    function testFuzz_TotalStakedEqualsSumOfNodeStakesThroughRegisterAddSlashWithdraw(
        uint256[5] memory stakes,
        uint256[5] memory added,
        uint256[5] memory slashed,
        uint8 leavers
    ) public {
        address[5] memory hosts;
        uint256 staked = 0;
        uint256 slashedTotal = 0;
        for (uint256 i = 0; i < 5; ++i) {
            hosts[i] = _account(string(abi.encodePacked("host", bytes1(uint8(0x30 + i)))));
            stakes[i] = bound(stakes[i], MINIMUM_STAKE, MAX_TEST_STAKE);
            _register(hosts[i], stakes[i]);
            staked += stakes[i];
        }
        for (uint256 i = 0; i < 5; ++i) {
            added[i] = bound(added[i], 0, MAX_TEST_STAKE);
            if (added[i] != 0) {
                vm.deal(hosts[i], added[i]);
                vm.prank(hosts[i]);
                registry.addStake{value: added[i]}();
                staked += added[i];
            }
            slashed[i] = bound(slashed[i], 0, stakes[i] + added[i]);
            if (slashed[i] != 0) {
                vm.prank(admin);
                registry.slash(hosts[i], slashed[i], "fuzz");
                slashedTotal += slashed[i];
            }
        }
        for (uint256 i = 0; i < 5; ++i) {
            if ((leavers >> i) & 1 == 1) {
                vm.prank(hosts[i]);
                registry.requestUnstake();
            }
        }
        vm.warp(block.timestamp + UNSTAKE_COOLDOWN);
        uint256 withdrawn = 0;
        for (uint256 i = 0; i < 5; ++i) {
            if ((leavers >> i) & 1 == 0) continue;
            uint256 before = hosts[i].balance;
            vm.prank(hosts[i]);
            registry.withdrawStake();
            assertEq(hosts[i].balance - before, stakes[i] + added[i] - slashed[i], "payout");
            withdrawn += stakes[i] + added[i] - slashed[i];
        }

        uint256 sum = 0;
        uint256 registered = 0;
        for (uint256 i = 0; i < 5; ++i) {
            if (!registry.isRegistered(hosts[i])) continue;
            sum += registry.getNode(hosts[i]).stake;
            ++registered;
        }
        _checkTotals(sum);
        assertEq(registry.nodeCount(), registered, "nodeCount");
        assertEq(staked, sum + withdrawn + slashedTotal, "staked != remaining + withdrawn + slashed");
        assertEq(treasury.balance, slashedTotal, "treasury != slashed");
    }

    // ---------------------------------------------------------------- reputation

    /// @notice For any sequence of increases and decreases by any amounts (up to 2^256 - 1),
    /// reputation stays within [0, MAX_REPUTATION] and follows the capped/floored arithmetic.
    function testFuzz_ReputationStaysWithinZeroAndMaxForAnySequenceOfIncreasesAndDecreases(
        uint256[12] memory amounts,
        uint16 increases
    ) public {
        _register(host, MINIMUM_STAKE);
        uint256 maxReputation = registry.MAX_REPUTATION();
        uint256 expected = registry.INITIAL_REPUTATION();
        for (uint256 i = 0; i < amounts.length; ++i) {
            // Half of the steps are small, so that the sequence also wanders inside the range.
            uint256 amount = i % 2 == 0 ? bound(amounts[i], 0, 2 * maxReputation) : amounts[i];
            vm.prank(reputer);
            if ((increases >> i) & 1 == 1) {
                registry.increaseReputation(host, amount);
                expected = amount >= maxReputation - expected ? maxReputation : expected + amount;
            } else {
                registry.decreaseReputation(host, amount);
                expected = amount > expected ? 0 : expected - amount;
            }
            uint256 reputation = registry.reputationOf(host);
            assertLe(reputation, maxReputation, "reputation above maximum");
            assertEq(reputation, expected, "reputation != capped/floored arithmetic");
        }
    }

    /// @notice From any reachable reputation, an increase by any amount caps at MAX_REPUTATION
    /// without overflowing, and a decrease by any amount floors at zero.
    function testFuzz_ReputationCapsAtMaxAndFloorsAtZeroForAnyAmount(uint256 start, uint256 amount) public {
        _register(host, MINIMUM_STAKE);
        uint256 maxReputation = registry.MAX_REPUTATION();
        start = bound(start, 0, maxReputation);
        // Reach `start` from the initial reputation.
        vm.startPrank(reputer);
        registry.decreaseReputation(host, type(uint256).max);
        registry.increaseReputation(host, start);
        assertEq(registry.reputationOf(host), start, "start reputation");

        registry.increaseReputation(host, amount);
        uint256 raised = registry.reputationOf(host);
        assertEq(raised, amount >= maxReputation - start ? maxReputation : start + amount, "increase");
        registry.decreaseReputation(host, amount);
        assertEq(registry.reputationOf(host), amount > raised ? 0 : raised - amount, "decrease");
        vm.stopPrank();
    }
}
