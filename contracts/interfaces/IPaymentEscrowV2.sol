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

    // ------------------------------------------------------------ migration credits (appended)

    /**
     * @notice One user's unspent credits in one token. Grants to the same (user, token) share the
     * bucket: amounts add up and the bucket expires with the latest grant's `expiresAt`. The
     * amount counts for locks only while `block.timestamp <= expiresAt`.
     */
    struct CreditBucket {
        uint192 amount;
        uint64 expiresAt;
    }

    /// @notice A grant as it was made (kept for lookups by id; `user` is zero when unknown).
    struct CreditGrant {
        address user;
        uint64 expiresAt;
        address token;
        uint96 amount;
    }

    /// @notice The part of a job's lock that came from credits, and when those credits expire.
    struct CreditLock {
        uint96 amount;
        uint64 expiresAt;
    }

    event CreditPoolFunded(address indexed funder, address indexed token, uint256 amount);
    event CreditPoolWithdrawn(address indexed token, address indexed to, uint256 amount);
    /// @dev `bucketAmount` and `bucketExpiresAt` are the user's bucket after the grant.
    event CreditsGranted(
        bytes32 indexed grantId,
        address indexed user,
        address indexed token,
        uint256 amount,
        uint64 expiresAt,
        uint256 bucketAmount,
        uint64 bucketExpiresAt
    );
    /// @dev `amount` expired credits of `user` went back to the pool.
    event CreditsExpired(address indexed user, address indexed token, uint256 amount);
    /// @dev Job `jobId`'s lock took `amount` from `payer`'s credits (the rest from its free balance).
    event CreditsLocked(
        uint256 indexed jobId,
        address indexed payer,
        address indexed token,
        uint256 amount,
        uint64 expiresAt
    );
    /// @dev At settlement or refund: `spent` credits paid the host, `returned` went back to the
    /// payer's credits and `toPool` (expired meanwhile) to the pool.
    event CreditsReleased(
        uint256 indexed jobId,
        address indexed payer,
        address indexed token,
        uint256 spent,
        uint256 returned,
        uint256 toPool
    );

    /// @dev A grant with id `grantId` was already made.
    error GrantAlreadyExists(bytes32 grantId);
    /// @dev `expiresAt` is not after the current block's timestamp `now_`.
    error CreditExpiryNotInFuture(uint64 expiresAt, uint256 now_);
    /// @dev The pool holds `available` of `token`, less than `requested`.
    error InsufficientCreditPool(address token, uint256 available, uint256 requested);
    /// @dev `user`'s credits in `token` are live until `expiresAt` (or there are none: `amount` 0).
    error CreditsNotExpired(address user, address token, uint256 amount, uint64 expiresAt);

    /**
     * @notice Adds `amount` of `token` paid by the caller to the credit pool (send the ETH with the
     * call for `address(0)`). Permissionless; opens after `finalizeMigration`.
     */
    function fundCreditPool(address token, uint256 amount) external payable;

    /// @notice Takes `amount` of unallocated pool funds back to `to`. `DEFAULT_ADMIN_ROLE`.
    function withdrawCreditPool(address token, uint256 amount, address to) external;

    /**
     * @notice Moves `amount` of `token` from the pool to `user`'s credits, live until `expiresAt`.
     * Each `grantId` is used once. `CREDITS_ROLE`.
     */
    function grantCredits(bytes32 grantId, address user, address token, uint256 amount, uint64 expiresAt) external;

    /// @notice Returns `user`'s expired credits in `token` to the pool. Permissionless.
    function expireCredits(address user, address token) external;

    function creditPool(address token) external view returns (uint256);

    /// @notice The unspent credits of all users in `token` (live or expired but not yet returned).
    function totalCredits(address token) external view returns (uint256);

    function creditsOf(address user, address token) external view returns (CreditBucket memory);

    /// @notice `user`'s credits in `token` that a lock would use now (zero once expired).
    function liveCreditsOf(address user, address token) external view returns (uint256);

    function grantOf(bytes32 grantId) external view returns (CreditGrant memory);

    function creditLockOf(uint256 jobId) external view returns (CreditLock memory);
}
