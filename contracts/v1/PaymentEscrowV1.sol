// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {GovernedUpgradeable} from "../common/GovernedUpgradeable.sol";
import {PageBounds} from "../common/PageBounds.sol";
import {IPaymentEscrowV1} from "../interfaces/IPaymentEscrowV1.sol";
import {PaymentEscrowV1Storage} from "./storage/PaymentEscrowV1Storage.sol";

/**
 * @title PaymentEscrowV1
 * @notice Holds renters' deposits and per-job locks, and pays hosts.
 * @dev Solvency: for every token, the escrow's balance covers `totalFree + totalLocked`.
 * Funds leave only through `withdraw`, which lowers the totals before transferring. Tokens must
 * be allow-listed, since fee-on-transfer or rebasing tokens would break that accounting.
 */
contract PaymentEscrowV1 is IPaymentEscrowV1, PaymentEscrowV1Storage, GovernedUpgradeable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice May lock, release and refund job funds (the job marketplace).
    bytes32 public constant MARKETPLACE_ROLE = keccak256("MARKETPLACE_ROLE");

    /// @notice The token id under which ETH is accounted.
    address public constant ETH = address(0);
    /// @notice 100% in basis points.
    uint256 public constant BPS_DENOMINATOR = 10_000;
    /// @notice The fee may not exceed 10%.
    uint256 public constant MAX_FEE_BPS = 1_000;

    /**
     * @notice Sets up the escrow behind a proxy. ETH is always allowed.
     * @param admin Receives the admin, upgrader and pauser roles (the timelock in production).
     * @param treasury_ Who is credited the fees.
     * @param feeBps_ The fee on releases in basis points (at most `MAX_FEE_BPS`).
     */
    function initialize(address admin, address treasury_, uint256 feeBps_) external initializer {
        __GovernedUpgradeable_init(admin);
        _setTreasury(treasury_);
        _setFeeBps(feeBps_);
        _setTokenAllowed(ETH, true);
    }

    /// @inheritdoc GovernedUpgradeable
    function version() external pure virtual override returns (string memory) {
        return "1.0.0";
    }

    // ---------------------------------------------------------------- users

    /// @inheritdoc IPaymentEscrowV1
    function deposit(address token, uint256 amount) external payable whenNotPaused nonReentrant {
        PaymentEscrowStorage storage $ = _s();
        if (!$.allowed[token]) revert TokenNotAllowed(token);
        if (amount == 0 || msg.value != (token == ETH ? amount : 0)) revert InvalidAmount(amount, msg.value);
        _credit(msg.sender, token, amount);
        emit Deposited(msg.sender, token, amount);
        if (token != ETH) IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IPaymentEscrowV1
    function withdraw(address token, uint256 amount) external whenNotPaused nonReentrant {
        PaymentEscrowStorage storage $ = _s();
        if (amount == 0) revert InvalidAmount(amount, 0);
        uint256 available = $.balances[msg.sender][token];
        if (amount > available) revert InsufficientFreeBalance(msg.sender, token, available, amount);
        $.balances[msg.sender][token] = available - amount;
        $.totalFree[token] -= amount;
        emit Withdrawn(msg.sender, token, amount);
        if (token == ETH) Address.sendValue(payable(msg.sender), amount);
        else IERC20(token).safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- marketplace

    /// @inheritdoc IPaymentEscrowV1
    function lockForJob(
        uint256 jobId,
        address payer,
        address token,
        uint256 amount
    ) external onlyRole(MARKETPLACE_ROLE) whenNotPaused {
        PaymentEscrowStorage storage $ = _s();
        if (!$.allowed[token]) revert TokenNotAllowed(token);
        if (amount == 0) revert InvalidAmount(amount, 0);
        if ($.locks[jobId].amount != 0) revert JobAlreadyLocked(jobId);
        uint256 available = $.balances[payer][token];
        if (amount > available) revert InsufficientFreeBalance(payer, token, available, amount);
        $.balances[payer][token] = available - amount;
        $.totalFree[token] -= amount;
        $.totalLocked[token] += amount;
        $.locks[jobId] = JobLock({payer: payer, token: token, amount: amount});
        emit Locked(jobId, payer, token, amount);
    }

    /// @inheritdoc IPaymentEscrowV1
    /// @dev Allowed while paused, so that running jobs can finish during a migration freeze.
    function releaseToHost(uint256 jobId, address host) external onlyRole(MARKETPLACE_ROLE) {
        if (host == address(0)) revert ZeroAddress();
        PaymentEscrowStorage storage $ = _s();
        JobLock memory lock = _takeLock(jobId);
        // mulDiv: the split must work for any amount a token can hold, without overflow.
        uint256 fee = Math.mulDiv(lock.amount, $.feeBps, BPS_DENOMINATOR);
        _credit(host, lock.token, lock.amount - fee);
        if (fee != 0) _credit($.treasury, lock.token, fee);
        emit Released(jobId, host, lock.token, lock.amount - fee, fee);
    }

    /// @inheritdoc IPaymentEscrowV1
    /// @dev Allowed while paused, like `releaseToHost`.
    function refund(uint256 jobId) external onlyRole(MARKETPLACE_ROLE) {
        JobLock memory lock = _takeLock(jobId);
        _credit(lock.payer, lock.token, lock.amount);
        emit Refunded(jobId, lock.payer, lock.token, lock.amount);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Allows or disallows `token` for new deposits and locks. Balances already held
    /// stay withdrawable either way. Only plain ERC-20s (no fee on transfer, no rebasing).
    function setTokenAllowed(address token, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTokenAllowed(token, allowed);
    }

    /// @notice Sets the fee on releases in basis points (at most `MAX_FEE_BPS`).
    function setFeeBps(uint256 feeBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFeeBps(feeBps_);
    }

    /// @notice Sets who is credited the fees.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(treasury_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IPaymentEscrowV1
    function balanceOf(address user, address token) external view returns (uint256) {
        return _s().balances[user][token];
    }

    /// @inheritdoc IPaymentEscrowV1
    function lockOf(uint256 jobId) external view returns (JobLock memory) {
        return _s().locks[jobId];
    }

    /// @inheritdoc IPaymentEscrowV1
    function totalFree(address token) external view returns (uint256) {
        return _s().totalFree[token];
    }

    /// @inheritdoc IPaymentEscrowV1
    function totalLocked(address token) external view returns (uint256) {
        return _s().totalLocked[token];
    }

    /// @inheritdoc IPaymentEscrowV1
    function tokens() external view returns (address[] memory) {
        return _s().tokens;
    }

    /// @inheritdoc IPaymentEscrowV1
    function isTokenAllowed(address token) external view returns (bool) {
        return _s().allowed[token];
    }

    /// @inheritdoc IPaymentEscrowV1
    function userCount() external view returns (uint256) {
        return _s().users.length;
    }

    /// @inheritdoc IPaymentEscrowV1
    function getUsersPage(uint256 offset, uint256 limit) external view returns (address[] memory page) {
        address[] storage users = _s().users;
        page = new address[](PageBounds.size(offset, limit, users.length));
        for (uint256 i = 0; i < page.length; ++i) page[i] = users[offset + i];
    }

    /// @inheritdoc IPaymentEscrowV1
    function balancesOf(address user) external view returns (address[] memory tokenList, uint256[] memory amounts) {
        PaymentEscrowStorage storage $ = _s();
        tokenList = $.tokens;
        amounts = new uint256[](tokenList.length);
        for (uint256 i = 0; i < tokenList.length; ++i) amounts[i] = $.balances[user][tokenList[i]];
    }

    /// @inheritdoc IPaymentEscrowV1
    function feeBps() external view returns (uint256) {
        return _s().feeBps;
    }

    /// @inheritdoc IPaymentEscrowV1
    function treasury() external view returns (address) {
        return _s().treasury;
    }

    // ---------------------------------------------------------------- internals

    function _credit(address user, address token, uint256 amount) private {
        PaymentEscrowStorage storage $ = _s();
        if (!$.known[user]) {
            $.known[user] = true;
            $.users.push(user);
        }
        $.balances[user][token] += amount;
        $.totalFree[token] += amount;
    }

    function _takeLock(uint256 jobId) private returns (JobLock memory lock) {
        PaymentEscrowStorage storage $ = _s();
        lock = $.locks[jobId];
        if (lock.amount == 0) revert JobNotLocked(jobId);
        delete $.locks[jobId];
        // The released amount is credited back to free balances by the caller.
        $.totalLocked[lock.token] -= lock.amount;
    }

    function _setTokenAllowed(address token, bool allowed) private {
        PaymentEscrowStorage storage $ = _s();
        if (token != ETH && token.code.length == 0) revert TokenNotAllowed(token);
        // Listed once it is first allowed: `tokens()` names every token ever allowed.
        if (allowed && !$.listed[token]) {
            $.listed[token] = true;
            $.tokens.push(token);
        }
        $.allowed[token] = allowed;
        emit TokenAllowed(token, allowed);
    }

    function _setFeeBps(uint256 value) private {
        if (value > MAX_FEE_BPS) revert ValueOutOfRange(value, 0, MAX_FEE_BPS);
        emit FeeChanged(_s().feeBps, value);
        _s().feeBps = value;
    }

    function _setTreasury(address value) private {
        if (value == address(0)) revert ZeroAddress();
        emit TreasuryChanged(_s().treasury, value);
        _s().treasury = value;
    }
}
