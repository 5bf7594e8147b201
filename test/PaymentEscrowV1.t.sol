// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IPaymentEscrowV1} from "../contracts/interfaces/IPaymentEscrowV1.sol";
import {GovernedUpgradeable} from "../contracts/common/GovernedUpgradeable.sol";
import {V1Fixture} from "./utils/V1Fixture.sol";

/**
 * @title PaymentEscrowV1FuzzTest
 * @notice Fuzzing of the escrow's arithmetic through its proxy: the release fee split, refunds,
 * and deposit/withdraw round trips. Lock, release and refund are called by `market`, an
 * account granted MARKETPLACE_ROLE for these tests (the marketplace itself is exercised in
 * JobMarketplaceV1.t.sol and the invariant suite).
 */
contract PaymentEscrowV1FuzzTest is V1Fixture {
    address internal market;
    address internal payer;
    address internal host;
    address[3] internal others;

    function setUp() public {
        _deployV1();
        market = _account("market");
        payer = _account("payer");
        host = _account("host");
        others = [_account("other0"), _account("other1"), _account("other2")];
        bytes32 role = escrow.MARKETPLACE_ROLE();
        vm.prank(admin);
        escrow.grantRole(role, market);
    }

    function _setFee(uint256 feeBps) internal {
        vm.prank(admin);
        escrow.setFeeBps(feeBps);
    }

    function _lockAndRelease(address token, uint256 amount) internal {
        _deposit(payer, token, amount);
        vm.startPrank(market);
        escrow.lockForJob(1, payer, token, amount);
        escrow.releaseToHost(1, host);
        vm.stopPrank();
    }

    function _checkSplit(address token, uint256 amount, uint256 feeBps) internal view {
        uint256 hostAmount = escrow.balanceOf(host, token);
        uint256 fee = escrow.balanceOf(treasury, token);
        // Computed in 512 bits: the expected fee exists for every amount.
        assertEq(fee, Math.mulDiv(amount, feeBps, 10_000), "fee != amount * feeBps / 10000");
        assertEq(hostAmount, amount - fee, "host != amount - fee");
        assertEq(hostAmount + fee, amount, "host + fee != locked amount");
        assertEq(escrow.balanceOf(payer, token), 0, "payer keeps a balance");
        assertEq(escrow.totalLocked(token), 0, "lock not released");
        assertEq(escrow.totalFree(token), amount, "totalFree != released amount");
        assertEq(escrow.lockOf(1).amount, 0, "lock survives release");
    }

    // ---------------------------------------------------------------- release fee split

    /// @notice For ANY amount (up to 2^256 - 1, possible for a token of that supply) and any
    /// fee up to MAX_FEE_BPS, the host gets amount - fee and the treasury fee = amount*feeBps/10000.
    /// @dev Fails on the current contract: `releaseToHost` computes `lock.amount * feeBps`
    /// in 256 bits, which overflows (Panic 0x11) once amount > (2^256 - 1) / feeBps, so such a
    /// lock can be neither released nor the job completed (see the report).
    function testFuzz_ReleaseSplitsLockExactlyBetweenHostAndTreasury(uint256 amount, uint256 feeBps) public {
        amount = bound(amount, 1, type(uint256).max);
        feeBps = bound(feeBps, 0, escrow.MAX_FEE_BPS());
        _setFee(feeBps);
        _lockAndRelease(address(usdc), amount);
        _checkSplit(address(usdc), amount, feeBps);
    }

    /// @notice The same split for every amount up to 2^128 (far beyond any real ETH or USDC
    /// supply), in ETH and in USDC.
    function testFuzz_ReleaseSplitsRealisticLockExactlyBetweenHostAndTreasury(
        uint256 amount,
        uint256 feeBps,
        bool inEth
    ) public {
        amount = bound(amount, 1, type(uint128).max);
        feeBps = bound(feeBps, 0, escrow.MAX_FEE_BPS());
        address token = inEth ? ETH : address(usdc);
        _setFee(feeBps);
        _lockAndRelease(token, amount);
        _checkSplit(token, amount, feeBps);
        uint256 held = inEth ? address(escrow).balance : usdc.balanceOf(address(escrow));
        assertEq(held, amount, "escrow holdings changed by a release");
    }

    /// @notice A refund returns exactly the locked amount to the payer, fee-free, and leaves
    /// the rest of the payer's balance untouched.
    function testFuzz_RefundReturnsExactlyTheLockedAmountToThePayer(
        uint256 deposited,
        uint256 locked,
        uint256 feeBps,
        bool inEth
    ) public {
        deposited = bound(deposited, 1, type(uint128).max);
        locked = bound(locked, 1, deposited);
        address token = inEth ? ETH : address(usdc);
        _setFee(bound(feeBps, 0, escrow.MAX_FEE_BPS()));
        _deposit(payer, token, deposited);

        vm.prank(market);
        escrow.lockForJob(7, payer, token, locked);
        assertEq(escrow.balanceOf(payer, token), deposited - locked, "lock did not take the amount");
        assertEq(escrow.totalLocked(token), locked, "totalLocked after lock");
        assertEq(escrow.totalFree(token), deposited - locked, "totalFree after lock");

        vm.prank(market);
        escrow.refund(7);
        assertEq(escrow.balanceOf(payer, token), deposited, "refund not exact");
        assertEq(escrow.balanceOf(treasury, token), 0, "refund charged a fee");
        assertEq(escrow.totalLocked(token), 0, "totalLocked after refund");
        assertEq(escrow.totalFree(token), deposited, "totalFree after refund");

        vm.prank(market);
        vm.expectRevert(abi.encodeWithSelector(IPaymentEscrowV1.JobNotLocked.selector, 7));
        escrow.refund(7);
    }

    /// @notice Fees above MAX_FEE_BPS are rejected, so the split can never exceed 10%.
    function testFuzz_FeeAboveMaximumIsRejected(uint256 feeBps) public {
        uint256 maxFee = escrow.MAX_FEE_BPS();
        feeBps = bound(feeBps, maxFee + 1, type(uint256).max);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(GovernedUpgradeable.ValueOutOfRange.selector, feeBps, 0, maxFee));
        escrow.setFeeBps(feeBps);
        assertEq(escrow.feeBps(), FEE_BPS, "fee changed by a rejected update");
    }

    // ---------------------------------------------------------------- deposits and withdrawals

    /// @notice A deposit followed by a withdrawal of any part of one's balance changes only the
    /// caller's free balance (by deposit - withdrawal) and its wallet: other users' balances,
    /// in both tokens, and their locks stay exactly as they were.
    function testFuzz_DepositWithdrawRoundTripNeverChangesOtherUsersBalances(
        uint256[3] memory otherEth,
        uint256[3] memory otherUsdc,
        uint256 otherLock,
        uint256 amount,
        uint256 withdrawn,
        bool inEth
    ) public {
        for (uint256 i = 0; i < 3; ++i) {
            otherEth[i] = bound(otherEth[i], 0, 1e30);
            otherUsdc[i] = bound(otherUsdc[i], 0, 1e30);
            if (otherEth[i] != 0) _deposit(others[i], ETH, otherEth[i]);
            if (otherUsdc[i] != 0) _deposit(others[i], address(usdc), otherUsdc[i]);
        }
        // One of the others also has funds locked in a job.
        otherLock = bound(otherLock, 0, otherEth[0]);
        if (otherLock != 0) {
            vm.prank(market);
            escrow.lockForJob(1, others[0], ETH, otherLock);
        }
        address token = inEth ? ETH : address(usdc);
        amount = bound(amount, 1, 1e30);
        withdrawn = bound(withdrawn, 1, amount);

        uint256[3] memory ethBefore;
        uint256[3] memory usdcBefore;
        for (uint256 i = 0; i < 3; ++i) {
            ethBefore[i] = escrow.balanceOf(others[i], ETH);
            usdcBefore[i] = escrow.balanceOf(others[i], address(usdc));
        }
        uint256 freeBefore = escrow.totalFree(token);
        uint256 lockedBefore = escrow.totalLocked(token);

        _deposit(payer, token, amount);
        uint256 walletBefore = inEth ? payer.balance : usdc.balanceOf(payer);
        vm.prank(payer);
        escrow.withdraw(token, withdrawn);

        uint256 walletAfter = inEth ? payer.balance : usdc.balanceOf(payer);
        assertEq(walletAfter, walletBefore + withdrawn, "wallet not paid the withdrawal");
        assertEq(escrow.balanceOf(payer, token), amount - withdrawn, "caller's remaining balance");
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(escrow.balanceOf(others[i], ETH), ethBefore[i], "another user's ETH balance changed");
            assertEq(escrow.balanceOf(others[i], address(usdc)), usdcBefore[i], "another user's USDC balance changed");
        }
        assertEq(escrow.lockOf(1).amount, otherLock, "another user's lock changed");
        assertEq(escrow.totalFree(token), freeBefore + amount - withdrawn, "totalFree drift");
        assertEq(escrow.totalLocked(token), lockedBefore, "totalLocked drift");
        uint256 held = inEth ? address(escrow).balance : usdc.balanceOf(address(escrow));
        assertEq(held, escrow.totalFree(token) + escrow.totalLocked(token), "escrow holdings != free + locked");

        // Withdrawing the rest empties the caller's balance and still touches no one else.
        if (amount > withdrawn) {
            vm.prank(payer);
            escrow.withdraw(token, amount - withdrawn);
        }
        assertEq(escrow.balanceOf(payer, token), 0, "caller's balance after full withdrawal");
        assertEq(escrow.totalFree(token), freeBefore, "totalFree after the full round trip");
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(escrow.balanceOf(others[i], ETH), ethBefore[i], "another user's ETH balance changed");
            assertEq(escrow.balanceOf(others[i], address(usdc)), usdcBefore[i], "another user's USDC balance changed");
        }
    }

    /// @notice Withdrawing more than one's free balance (locked funds do not count) reverts and
    /// changes nothing.
    function testFuzz_WithdrawBeyondFreeBalanceRevertsAndChangesNothing(
        uint256 deposited,
        uint256 locked,
        uint256 excess,
        bool inEth
    ) public {
        deposited = bound(deposited, 1, 1e30);
        locked = bound(locked, 0, deposited);
        address token = inEth ? ETH : address(usdc);
        _deposit(payer, token, deposited);
        _deposit(others[0], token, 1 ether); // somebody else's funds are not the caller's
        if (locked != 0) {
            vm.prank(market);
            escrow.lockForJob(3, payer, token, locked);
        }
        uint256 free = deposited - locked;
        uint256 requested = free + bound(excess, 1, 1e30);

        vm.prank(payer);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentEscrowV1.InsufficientFreeBalance.selector, payer, token, free, requested)
        );
        escrow.withdraw(token, requested);
        assertEq(escrow.balanceOf(payer, token), free, "balance changed by a failed withdrawal");
        assertEq(escrow.totalLocked(token), locked, "lock changed by a failed withdrawal");
    }

    /// @notice A deposit must carry exactly its amount in ETH, and none for a token.
    function testFuzz_DepositRejectsMismatchedEthValue(uint256 amount, uint256 value, bool inEth) public {
        amount = bound(amount, 1, 1e30);
        value = bound(value, 0, 1e30);
        if (inEth) vm.assume(value != amount);
        else vm.assume(value != 0);
        address token = inEth ? ETH : address(usdc);
        usdc.mint(payer, amount);
        vm.deal(payer, value);
        vm.startPrank(payer);
        usdc.approve(address(escrow), amount);
        vm.expectRevert(abi.encodeWithSelector(IPaymentEscrowV1.InvalidAmount.selector, amount, value));
        escrow.deposit{value: value}(token, amount);
        vm.stopPrank();
        assertEq(escrow.totalFree(token), 0, "a rejected deposit was credited");
    }
}
