// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IPaymentEscrowV1
 * @notice The V1 escrow as deployed: users hold free balances per token (ETH as `address(0)`
 * and allow-listed ERC-20s such as USDC); the marketplace locks a renter's funds per job, then
 * releases them to the host minus a fee for the treasury, or refunds them. Payouts are credited
 * to free balances and withdrawn by their owners (pull payments).
 */
interface IPaymentEscrowV1 {
    /// @notice Funds locked for one job.
    struct JobLock {
        address payer;
        address token;
        uint256 amount;
    }

    event Deposited(address indexed user, address indexed token, uint256 amount);
    event Withdrawn(address indexed user, address indexed token, uint256 amount);
    event Locked(uint256 indexed jobId, address indexed payer, address indexed token, uint256 amount);
    event Released(uint256 indexed jobId, address indexed host, address indexed token, uint256 hostAmount, uint256 fee);
    event Refunded(uint256 indexed jobId, address indexed payer, address indexed token, uint256 amount);
    event TokenAllowed(address indexed token, bool allowed);
    event FeeChanged(uint256 oldFeeBps, uint256 newFeeBps);
    event TreasuryChanged(address oldTreasury, address newTreasury);

    /// @dev `token` is not accepted by the escrow; an admin must allow it first.
    error TokenNotAllowed(address token);
    /// @dev Amount is zero, or does not match the ETH sent (`msg.value` must equal `amount`
    /// for ETH and be zero for tokens).
    error InvalidAmount(uint256 amount, uint256 value);
    /// @dev `user` holds `available` of `token`, less than the `requested` amount.
    error InsufficientFreeBalance(address user, address token, uint256 available, uint256 requested);
    /// @dev Job `jobId` already has locked funds.
    error JobAlreadyLocked(uint256 jobId);
    /// @dev Job `jobId` has no locked funds (never locked, or already settled).
    error JobNotLocked(uint256 jobId);

    /// @notice Deposits `amount` of `token` (send the ETH with the call for `address(0)`).
    function deposit(address token, uint256 amount) external payable;

    /// @notice Withdraws `amount` of `token` from the caller's free balance.
    function withdraw(address token, uint256 amount) external;

    /// @notice Moves `amount` of `payer`'s free `token` balance into a lock for job `jobId`.
    function lockForJob(uint256 jobId, address payer, address token, uint256 amount) external;

    /// @notice Pays job `jobId`'s lock to `host`, less the fee credited to the treasury.
    function releaseToHost(uint256 jobId, address host) external;

    /// @notice Returns job `jobId`'s lock to its payer.
    function refund(uint256 jobId) external;

    /// @notice The free balance of `user` in `token`.
    function balanceOf(address user, address token) external view returns (uint256);

    /// @notice The lock of job `jobId` (zero when none).
    function lockOf(uint256 jobId) external view returns (JobLock memory);

    /// @notice The sum of all free balances of `token`.
    function totalFree(address token) external view returns (uint256);

    /// @notice Locked total of `token`.
    function totalLocked(address token) external view returns (uint256);

    /// @notice Every token ever allowed, ETH (`address(0)`) first.
    function tokens() external view returns (address[] memory);

    /// @notice Whether `token` is accepted for new deposits and locks.
    function isTokenAllowed(address token) external view returns (bool);

    /// @notice How many users have ever held a free balance.
    function userCount() external view returns (uint256);

    /// @notice Up to `limit` users from position `offset`.
    function getUsersPage(uint256 offset, uint256 limit) external view returns (address[] memory);

    /// @notice The free balances of `user` in every token of `tokens()`, in that order.
    function balancesOf(address user) external view returns (address[] memory tokenList, uint256[] memory amounts);

    /// @notice The fee on releases, in basis points.
    function feeBps() external view returns (uint256);

    /// @notice Who is credited the fees.
    function treasury() external view returns (address);
}
