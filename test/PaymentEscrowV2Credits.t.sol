// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPaymentEscrowV2} from "../contracts/interfaces/IPaymentEscrowV2.sol";
import {TestUSDC} from "../contracts/local/TestUSDC.sol";
import {PaymentEscrowV2} from "../contracts/v2/PaymentEscrowV2.sol";
import {Proxies} from "./utils/Common.sol";
import {InvariantSuite} from "./utils/InvariantSuite.sol";
import {ProblemLog} from "./utils/ProblemLog.sol";
import {TestBase} from "./utils/Vm.sol";

/// @dev Deploys a finalized V2 escrow (empty migration) with USDC allowed; the caller is admin.
abstract contract CreditsEscrowFixture is TestBase {
    address internal constant ETH = address(0);
    address internal treasury = address(uint160(uint256(keccak256("fabstir.test.treasury"))));
    TestUSDC internal usdc;
    PaymentEscrowV2 internal escrow;

    function _deployEscrow() internal {
        usdc = new TestUSDC();
        escrow = PaymentEscrowV2(
            Proxies.deploy(
                address(new PaymentEscrowV2()),
                abi.encodeCall(PaymentEscrowV2.initialize, (address(this), address(this), treasury, 250))
            )
        );
        escrow.setTokenAllowed(address(usdc), true);
        address[] memory tokens = new address[](2);
        (tokens[0], tokens[1]) = (ETH, address(usdc));
        escrow.finalizeMigration(bytes32(0), 0, tokens, new uint256[](2));
    }
}

/**
 * @title CreditsHandler
 * @notice Drives the credit functions with mostly valid inputs: funding and draining the pool,
 * grants, deposits, withdrawals, locks, settlements, refunds, expiries and time passing. A valid
 * call that reverts, or an invalid one that does not revert with its error, is a `problem`.
 * Ghost totals let the invariants check where every token unit went.
 */
contract CreditsHandler is ProblemLog {
    uint256 internal constant MAX_AMOUNT = 1e24;
    address internal constant ETH = address(0);

    PaymentEscrowV2 internal immutable escrow;
    TestUSDC internal immutable usdc;
    address internal immutable host = address(uint160(uint256(keccak256("fabstir.test.host"))));
    address internal immutable sink = address(uint160(uint256(keccak256("fabstir.test.sink"))));
    address[3] internal users;

    mapping(address token => uint256) public funded;
    mapping(address token => uint256) public poolWithdrawn;
    mapping(address token => uint256) public deposited;
    mapping(address token => uint256) public withdrawn;
    /// @dev Credits that paid a host (and its fee): they became real balance.
    mapping(address token => uint256) public creditsSpent;
    uint256[] internal _openJobs;
    uint256 internal _nextJob = 1;
    uint256 internal _nextGrant = 1;

    constructor(PaymentEscrowV2 escrow_, TestUSDC usdc_) {
        (escrow, usdc) = (escrow_, usdc_);
        for (uint256 i = 0; i < users.length; ++i) users[i] = address(uint160(uint256(keccak256(abi.encode(i + 1)))));
        usdc_.approve(address(escrow_), type(uint256).max);
    }

    // ------------------------------------------------------------ actions

    function fundPool(uint256 tokenSeed, uint256 amount) external {
        address token = _token(tokenSeed);
        amount = bound(amount, 1, MAX_AMOUNT);
        uint256 value = _pay(token, amount);
        _mustSucceed("fundPool", address(this), value, abi.encodeCall(escrow.fundCreditPool, (token, amount)));
        funded[token] += amount;
    }

    function withdrawPool(uint256 tokenSeed, uint256 amount) external {
        address token = _token(tokenSeed);
        uint256 pool = escrow.creditPool(token);
        if (pool == 0) {
            bytes memory err = abi.encodeWithSelector(IPaymentEscrowV2.InsufficientCreditPool.selector, token, 0, 1);
            _mustRevert("withdrawPool empty", abi.encodeCall(escrow.withdrawCreditPool, (token, 1, sink)), err);
            return;
        }
        amount = bound(amount, 1, pool);
        _mustSucceed(
            "withdrawPool",
            address(this),
            0,
            abi.encodeCall(escrow.withdrawCreditPool, (token, amount, sink))
        );
        poolWithdrawn[token] += amount;
    }

    function grant(uint256 userSeed, uint256 tokenSeed, uint256 amount, uint256 lifetime) external {
        (address user, address token) = (_user(userSeed), _token(tokenSeed));
        uint256 pool = escrow.creditPool(token);
        amount = bound(amount, 1, pool == 0 ? MAX_AMOUNT : pool);
        uint64 expiresAt = uint64(block.timestamp + bound(lifetime, 1, 200 days));
        bytes32 grantId = keccak256(abi.encode("grant", _nextGrant++));
        bytes memory call = abi.encodeCall(escrow.grantCredits, (grantId, user, token, amount, expiresAt));
        if (pool == 0) {
            bytes memory err = abi.encodeWithSelector(
                IPaymentEscrowV2.InsufficientCreditPool.selector,
                token,
                0,
                amount
            );
            _mustRevert("grant from an empty pool", call, err);
            return;
        }
        _mustSucceed("grant", address(this), 0, call);
        bytes memory replay = abi.encodeWithSelector(IPaymentEscrowV2.GrantAlreadyExists.selector, grantId);
        _mustRevert("grant replay", call, replay);
    }

    function deposit(uint256 userSeed, uint256 tokenSeed, uint256 amount) external {
        (address user, address token) = (_user(userSeed), _token(tokenSeed));
        amount = bound(amount, 1, MAX_AMOUNT);
        uint256 value = _pay(token, amount);
        _mustSucceed("deposit", address(this), value, abi.encodeCall(escrow.depositFor, (user, token, amount)));
        deposited[token] += amount;
    }

    /// @dev Also the host's and the treasury's earnings (seed picks among users, host, treasury).
    function withdraw(uint256 userSeed, uint256 tokenSeed, uint256 amount) external {
        address token = _token(tokenSeed);
        address user =
            userSeed % 5 == 3
                ? host
                : userSeed % 5 == 4
                    ? escrow.treasury()
                    : _user(userSeed);
        uint256 free = escrow.balanceOf(user, token);
        if (free == 0) {
            // Credits are never cash: a user holding only credits withdraws nothing.
            bytes memory err = abi.encodeWithSelector(
                IPaymentEscrowV2.InsufficientFreeBalance.selector,
                user,
                token,
                0,
                1
            );
            vm.prank(user);
            (bool ok, bytes memory ret) = address(escrow).call(abi.encodeCall(escrow.withdraw, (token, 1)));
            if (ok || keccak256(ret) != keccak256(err)) _problem("withdraw without free balance", ret);
            return;
        }
        amount = bound(amount, 1, free);
        _mustSucceed("withdraw", user, 0, abi.encodeCall(escrow.withdraw, (token, amount)));
        withdrawn[token] += amount;
    }

    function lock(uint256 userSeed, uint256 tokenSeed, uint256 amount) external {
        (address user, address token) = (_user(userSeed), _token(tokenSeed));
        uint256 live = escrow.liveCreditsOf(user, token);
        uint256 available = live + escrow.balanceOf(user, token);
        if (available == 0) return;
        amount = bound(amount, 1, available < type(uint96).max ? available : type(uint96).max);
        uint256 jobId = _nextJob++;
        _mustSucceed("lock", address(this), 0, abi.encodeCall(escrow.lockForJob, (jobId, user, token, amount)));
        // Credits first, and only live ones.
        uint256 expected = live < amount ? live : amount;
        _check(escrow.creditLockOf(jobId).amount == expected, "lock: credit part is min(live credits, amount)");
        _openJobs.push(jobId);
    }

    function settle(uint256 jobSeed, uint256 hostAmount) external {
        if (_openJobs.length == 0) return;
        uint256 jobId = _takeJob(jobSeed);
        IPaymentEscrowV2.JobLock memory jobLock = escrow.lockOf(jobId);
        uint256 creditPart = escrow.creditLockOf(jobId).amount;
        hostAmount = bound(hostAmount, 0, jobLock.payment.amount);
        _mustSucceed("settle", address(this), 0, abi.encodeCall(escrow.settle, (jobId, host, hostAmount)));
        creditsSpent[jobLock.payment.token] += creditPart < hostAmount ? creditPart : hostAmount;
    }

    function refund(uint256 jobSeed) external {
        if (_openJobs.length == 0) return;
        uint256 jobId = _takeJob(jobSeed);
        _mustSucceed("refund", address(this), 0, abi.encodeCall(escrow.refund, (jobId)));
    }

    function expire(uint256 userSeed, uint256 tokenSeed) external {
        (address user, address token) = (_user(userSeed), _token(tokenSeed));
        IPaymentEscrowV2.CreditBucket memory bucket = escrow.creditsOf(user, token);
        bytes memory call = abi.encodeCall(escrow.expireCredits, (user, token));
        if (bucket.amount != 0 && block.timestamp > bucket.expiresAt) {
            _mustSucceed("expire", address(this), 0, call);
        } else {
            bytes memory err = abi.encodeWithSelector(
                IPaymentEscrowV2.CreditsNotExpired.selector,
                user,
                token,
                bucket.amount,
                bucket.expiresAt
            );
            _mustRevert("expire a live or empty bucket", call, err);
        }
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 60 days));
    }

    // ------------------------------------------------------------ views for the invariants

    function userList() external view returns (address[3] memory) {
        return users;
    }

    function openJobs() external view returns (uint256[] memory) {
        return _openJobs;
    }

    // ------------------------------------------------------------ internals

    function _token(uint256 seed) internal view returns (address) {
        return seed % 2 == 0 ? ETH : address(usdc);
    }

    function _user(uint256 seed) internal view returns (address) {
        return users[seed % users.length];
    }

    /// @dev Gives this handler `amount` of `token`; returns the value to send with the call.
    function _pay(address token, uint256 amount) internal returns (uint256 value) {
        if (token == ETH) {
            vm.deal(address(this), address(this).balance + amount);
            return amount;
        }
        usdc.mint(address(this), amount);
    }

    function _takeJob(uint256 seed) internal returns (uint256 jobId) {
        uint256 i = seed % _openJobs.length;
        jobId = _openJobs[i];
        _openJobs[i] = _openJobs[_openJobs.length - 1];
        _openJobs.pop();
    }

    function _mustSucceed(string memory action, address caller, uint256 value, bytes memory data) internal {
        if (caller != address(this)) vm.prank(caller);
        (bool ok, bytes memory ret) = address(escrow).call{value: value}(data);
        if (!ok) _problem(action, ret);
    }

    function _mustRevert(string memory action, bytes memory data, bytes memory expected) internal {
        (bool ok, bytes memory ret) = address(escrow).call(data);
        if (ok) return _problem(string.concat(action, ": did not revert"), ret);
        if (keccak256(ret) != keccak256(expected)) _problem(string.concat(action, ": wrong error"), ret);
    }

    /// @dev ETH from withdrawCreditPool never comes here (it goes to `sink`); deals do not need it.
    receive() external payable {}
}

/**
 * @title PaymentEscrowV2CreditsInvariantTest
 * @notice The credit accounting under random sequences of pool funding and draining, grants,
 * deposits, withdrawals, locks, settlements, refunds, expiries and time passing.
 */
contract PaymentEscrowV2CreditsInvariantTest is CreditsEscrowFixture, InvariantSuite {
    CreditsHandler internal handler;

    function setUp() public {
        _deployEscrow();
        handler = new CreditsHandler(escrow, usdc);
        escrow.grantRole(escrow.MARKETPLACE_ROLE(), address(handler));
        escrow.grantRole(escrow.CREDITS_ROLE(), address(handler));
        escrow.grantRole(escrow.DEFAULT_ADMIN_ROLE(), address(handler));
        _targets.push(address(handler));
    }

    function targetSelectors() public view returns (FuzzSelector[] memory selectors) {
        bytes4[] memory actions = new bytes4[](10);
        actions[0] = CreditsHandler.fundPool.selector;
        actions[1] = CreditsHandler.withdrawPool.selector;
        actions[2] = CreditsHandler.grant.selector;
        actions[3] = CreditsHandler.deposit.selector;
        actions[4] = CreditsHandler.withdraw.selector;
        actions[5] = CreditsHandler.lock.selector;
        actions[6] = CreditsHandler.settle.selector;
        actions[7] = CreditsHandler.refund.selector;
        actions[8] = CreditsHandler.expire.selector;
        actions[9] = CreditsHandler.warp.selector;
        selectors = _selectors(address(handler), actions);
    }

    /// @notice Per token, the escrow holds exactly free + locked + pool + outstanding credits.
    function invariant_EscrowHoldsFreeLockedPoolAndCredits() public view {
        _assertNoProblems();
        for (uint256 t = 0; t < 2; ++t) {
            address token = t == 0 ? ETH : address(usdc);
            uint256 held = token == ETH ? address(escrow).balance : usdc.balanceOf(address(escrow));
            uint256 owed =
                escrow.totalFree(token) +
                    escrow.totalLocked(token) +
                    escrow.creditPool(token) +
                    escrow.totalCredits(token);
            assertEq(held, owed, "escrow balance != free + locked + pool + credits");
        }
    }

    /// @notice `totalCredits` is the sum of the users' buckets; locks add up to `totalLocked`,
    /// and no lock's credit part exceeds the lock.
    function invariant_TotalsAreTheSumsOfTheirParts() public view {
        _assertNoProblems();
        address[3] memory users = handler.userList();
        uint256[] memory jobs = handler.openJobs();
        for (uint256 t = 0; t < 2; ++t) {
            address token = t == 0 ? ETH : address(usdc);
            uint256 buckets = 0;
            for (uint256 i = 0; i < users.length; ++i) buckets += escrow.creditsOf(users[i], token).amount;
            assertEq(escrow.totalCredits(token), buckets, "totalCredits != sum of buckets");
            uint256 locked = 0;
            for (uint256 j = 0; j < jobs.length; ++j) {
                IPaymentEscrowV2.JobLock memory jobLock = escrow.lockOf(jobs[j]);
                if (jobLock.payment.token != token) continue;
                locked += jobLock.payment.amount;
                assertLe(escrow.creditLockOf(jobs[j]).amount, jobLock.payment.amount, "credit part > lock");
            }
            assertEq(escrow.totalLocked(token), locked, "totalLocked != sum of locks");
        }
    }

    /// @notice Every promotional unit funded and not withdrawn by the admin is in the pool, in a
    /// bucket, in a lock, or paid a host; and cash (free plus the cash part of locks) is exactly
    /// deposits less withdrawals plus the credits that paid hosts: credits never become a
    /// payer's cash.
    function invariant_CreditsAndCashAreConserved() public view {
        _assertNoProblems();
        uint256[] memory jobs = handler.openJobs();
        for (uint256 t = 0; t < 2; ++t) {
            address token = t == 0 ? ETH : address(usdc);
            uint256 inLocks = 0;
            for (uint256 j = 0; j < jobs.length; ++j) {
                if (escrow.lockOf(jobs[j]).payment.token == token) inLocks += escrow.creditLockOf(jobs[j]).amount;
            }
            assertEq(
                escrow.creditPool(token) + escrow.totalCredits(token) + inLocks + handler.creditsSpent(token),
                handler.funded(token) - handler.poolWithdrawn(token),
                "promotional funds not conserved"
            );
            assertEq(
                escrow.totalFree(token) + escrow.totalLocked(token) - inLocks,
                handler.deposited(token) - handler.withdrawn(token) + handler.creditsSpent(token),
                "cash not conserved"
            );
        }
    }

    function _assertNoProblems() internal view {
        _assertNoProblems("CreditsHandler", address(handler));
    }
}

/**
 * @title PaymentEscrowV2CreditsFuzzTest
 * @notice Settlement of a lock of `credits + cash` for any host amount: credits pay the host
 * first, the payer's cash comes back first, and unspent credits go back as credits while live or
 * to the pool once expired.
 */
contract PaymentEscrowV2CreditsFuzzTest is CreditsEscrowFixture {
    address internal payer = address(uint160(uint256(keccak256("fabstir.test.payer"))));
    address internal host = address(uint160(uint256(keccak256("fabstir.test.host"))));

    function setUp() public {
        _deployEscrow();
        escrow.grantRole(escrow.MARKETPLACE_ROLE(), address(this));
        escrow.grantRole(escrow.CREDITS_ROLE(), address(this));
        usdc.approve(address(escrow), type(uint256).max);
    }

    function testFuzz_SettleSplitsCreditsFirst(
        uint256 credits,
        uint256 cash,
        uint256 hostAmount,
        bool expireFirst
    ) public {
        credits = bound(credits, 1, 3e28);
        cash = bound(cash, 0, 3e28);
        hostAmount = bound(hostAmount, 0, credits + cash);
        usdc.mint(address(this), credits + cash);
        escrow.fundCreditPool(address(usdc), credits);
        uint64 expiresAt = uint64(block.timestamp + 1 days);
        escrow.grantCredits(bytes32(uint256(1)), payer, address(usdc), credits, expiresAt);
        if (cash != 0) escrow.depositFor(payer, address(usdc), cash);
        escrow.lockForJob(1, payer, address(usdc), credits + cash);
        assertEq(escrow.balanceOf(payer, address(usdc)), 0, "all cash locked");
        if (expireFirst) vm.warp(uint256(expiresAt) + 1);

        escrow.settle(1, host, hostAmount);
        uint256 fee = (hostAmount * escrow.feeBps()) / escrow.BPS_DENOMINATOR();
        uint256 spentCredits = hostAmount < credits ? hostAmount : credits;
        uint256 unspent = credits - spentCredits;
        assertEq(escrow.balanceOf(host, address(usdc)), hostAmount - fee, "host");
        assertEq(escrow.balanceOf(treasury, address(usdc)), fee, "treasury");
        assertEq(escrow.balanceOf(payer, address(usdc)), cash - (hostAmount - spentCredits), "payer's cash back");
        assertEq(escrow.creditsOf(payer, address(usdc)).amount, expireFirst ? 0 : unspent, "credits back");
        assertEq(escrow.creditPool(address(usdc)), expireFirst ? unspent : 0, "expired credits to the pool");
        assertEq(usdc.balanceOf(address(escrow)), credits + cash, "nothing left the escrow");
    }
}
