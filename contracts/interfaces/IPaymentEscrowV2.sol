// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DepositRecord} from "../migration/MigrationRecords.sol";
import {IMigrationLifecycle} from "./IMigrationLifecycle.sol";

/**
 * @title IPaymentEscrowV2
 * @notice The V2 escrow: free balances per user and token, job locks as `{ payer, payment }`
 * with `payment = { token, amount }` packed in one slot, and settlement that pays the host what
 * the job cost (its price per token times the tokens used, at most the locked amount) and
 * refunds the rest to the renter.
 * @dev Extends `IMigrationLifecycle` so that the V1.1 escrow, which holds the V2 address as this
 * interface, can read the cursor (`migratedCount`) and `migrationFinalized` it depends on.
 */
interface IPaymentEscrowV2 is IMigrationLifecycle {
    /// @notice An amount of a token (ETH is `address(0)`), packed in one slot.
    struct Payment {
        address token;
        uint96 amount;
    }

    /// @notice Funds locked for one job.
    struct JobLock {
        address payer;
        Payment payment;
    }

    event Deposited(address indexed user, address indexed token, uint256 amount);
    event Withdrawn(address indexed user, address indexed token, uint256 amount);
    event DepositMigrated(uint256 indexed index, address indexed user, address indexed token, uint256 amount);
    event DepositsReturned(uint256 start, uint256 end);
    event Locked(uint256 indexed jobId, address indexed payer, address indexed token, uint256 amount);
    event Settled(
        uint256 indexed jobId,
        address indexed host,
        address indexed token,
        uint256 hostAmount,
        uint256 fee,
        uint256 refunded
    );
    event Refunded(uint256 indexed jobId, address indexed payer, address indexed token, uint256 amount);
    event TokenAllowed(address indexed token, bool allowed);
    event FeeChanged(uint256 oldFeeBps, uint256 newFeeBps);
    event TreasuryChanged(address oldTreasury, address newTreasury);

    error TokenNotAllowed(address token);
    /// @dev `token` was never listed by the escrow, so it cannot hold balances of it.
    error TokenNotListed(address token);
    error InvalidAmount(uint256 amount, uint256 value);
    error InsufficientFreeBalance(address user, address token, uint256 available, uint256 requested);
    error JobAlreadyLocked(uint256 jobId);
    error JobNotLocked(uint256 jobId);
    /// @dev The host's share `amount` exceeds the job's lock `locked`.
    error SettlementExceedsLock(uint256 amount, uint256 locked);
    /// @dev `user` already holds a migrated balance of `token`: this record was imported.
    error DepositAlreadyMigrated(address user, address token);
    /// @dev The ETH sent (`received`) differs from the batch's ETH records (`expected`).
    error EthMismatch(uint256 expected, uint256 received);
    /// @dev The records given to roll back are not the last batch's.
    error BatchRecordsMismatch();

    // ------------------------------------------------------------ users (after the migration)

    function deposit(address token, uint256 amount) external payable;

    /// @notice Credits `user` with `amount` of `token` paid by the caller (send the ETH with the
    /// call for `address(0)`; an ERC-20 is pulled from the caller). Emits `Deposited(user, …)`.
    function depositFor(address user, address token, uint256 amount) external payable;

    function withdraw(address token, uint256 amount) external;

    // ------------------------------------------------------------ marketplace

    /// @notice Locks `amount` of `payer`'s free `token` balance for job `jobId`.
    function lockForJob(uint256 jobId, address payer, address token, uint256 amount) external;

    /// @notice Pays `hostAmount` of job `jobId`'s lock to `host` (less the fee) and refunds the
    /// rest to the payer.
    function settle(uint256 jobId, address host, uint256 hostAmount) external;

    /// @notice Returns job `jobId`'s lock to its payer.
    function refund(uint256 jobId) external;

    // ------------------------------------------------------------ migration

    /**
     * @notice Imports one V1 balance as a batch of one record at the current cursor. Send the
     * ETH with the call; an ERC-20 amount is pulled from the caller. `MIGRATOR_ROLE`.
     */
    function migrateDeposit(address user, address token, uint256 amount) external payable;

    /**
     * @notice Imports V1 balances `[expectedCursor, expectedCursor + records.length)`. The ETH
     * records' sum must arrive as `msg.value`; each ERC-20's sum is pulled from the caller in the
     * same call. A (user, token) pair already holding a migrated balance reverts.
     */
    function batchMigrateDeposits(uint256 expectedCursor, DepositRecord[] calldata records) external payable;

    /**
     * @notice Removes the last imported batch, given its records (checked against the stored
     * commitment), and sends their funds back to the caller, which must be the batch's sender.
     */
    function returnLastBatch(DepositRecord[] calldata records) external;

    // ------------------------------------------------------------ views

    function balanceOf(address user, address token) external view returns (uint256);

    function lockOf(uint256 jobId) external view returns (JobLock memory);

    function totalFree(address token) external view returns (uint256);

    function totalLocked(address token) external view returns (uint256);

    /// @notice Every token ever listed, ETH (`address(0)`) first.
    function tokens() external view returns (address[] memory);

    function isTokenAllowed(address token) external view returns (bool);

    function feeBps() external view returns (uint256);

    function treasury() external view returns (address);
}
