// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IPaymentEscrowV2} from "../interfaces/IPaymentEscrowV2.sol";
import {DepositRecord} from "../migration/MigrationRecords.sol";
import {PaymentEscrowV1} from "../v1/PaymentEscrowV1.sol";
import {PaymentEscrowV1_1Storage} from "./storage/PaymentEscrowV1_1Storage.sol";

/**
 * @title PaymentEscrowV1_1
 * @notice The V1 escrow with the migration out added: a storage-compatible upgrade installed
 * (paused) through `upgradeToAndCall(impl, initializeMigration(target))`. `migrateDeposits`
 * moves a range of V1 users' free balances, records and funds together, into the V2 escrow in
 * one call, so funds never pass through an operator's wallet; `rollbackDeposits` takes the last
 * batch back and restores V1's accounting exactly.
 * @dev Every V1 function keeps working as in V1 (paused: only the marketplace's release and
 * refund, which let running jobs drain). Balances are read in V1's order (users in first-credit
 * order, then `tokens()` order), which is the order of the deposit commitment.
 * V1.1 is only ever installed over an initialized V1 proxy: its initializer is V1's `initialize`
 * (already run) plus the `initializeMigration` reinitializer, hence the validation exemption.
 * @custom:oz-upgrades-unsafe-allow missing-initializer
 */
// solhint-disable-next-line contract-name-capwords
contract PaymentEscrowV1_1 is PaymentEscrowV1, PaymentEscrowV1_1Storage {
    using SafeERC20 for IERC20;

    /// @notice May move balances to the target and roll them back (the migration operator).
    bytes32 public constant MIGRATOR_ROLE = keccak256("MIGRATOR_ROLE");

    /// @notice Users `[userStart, userEnd)` were migrated: `records` balances went to the target.
    event DepositsMigratedOut(uint256 userStart, uint256 userEnd, uint256 records);
    /// @notice The last batch came back: its `records` balances were re-credited and the user
    /// cursor moved back from `userEnd` to the batch's first user, `userStart`.
    event DepositsReturnedIn(uint256 userStart, uint256 userEnd, uint256 records);

    /// @dev The operator expected to migrate from user `expected`, but the cursor is at `actual`:
    /// the range was already migrated (a replay) or one was skipped. Read `migrationUserCursor()`.
    error UnexpectedUserCursor(uint256 expected, uint256 actual);
    /// @dev `amount` of `token` is still locked in open jobs. A later release or refund would
    /// credit a balance already migrated: let the marketplace drain (complete, cancel, expire) first.
    error OpenLocksRemain(address token, uint256 amount);
    /// @dev The target returned `received` of `token` for records worth `expected`.
    error ReturnedFundsMismatch(address token, uint256 expected, uint256 received);
    /// @dev `initializeMigration` was not called: there is no target to migrate to.
    error MigrationTargetUnset();
    /// @dev `records` records are in the target and it is not finalized: V1 stays paused until
    /// they are rolled back (`rollbackDeposits`) or the target is finalized.
    error MigrationOutstanding(uint256 records);
    /// @dev Only the target may send ETH here (when it returns a batch).
    error UnexpectedEthSender(address sender);

    /**
     * @notice Names the V2 escrow that balances move to. Called once, with the upgrade.
     * @param target The V2 escrow; it must grant this proxy `MIGRATOR_ROLE` and list V1's tokens.
     */
    function initializeMigration(IPaymentEscrowV2 target) external reinitializer(2) onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(target) == address(0)) revert ZeroAddress();
        _m().target = target;
    }

    /// @inheritdoc PaymentEscrowV1
    function version() external pure override returns (string memory) {
        return "1.1.0";
    }

    /// @notice Resumes user-facing activity, unless migrated balances are outstanding.
    /// @dev Reverts with `MigrationOutstanding` while the target holds records and is not
    /// finalized: V1 must not reopen with its users' funds elsewhere. Roll back first.
    function unpause() external override onlyRole(PAUSER_ROLE) {
        MigrationOutStorage storage m = _m();
        IPaymentEscrowV2 target = m.target;
        if (address(target) != address(0)) {
            uint256 migrated = target.migratedCount();
            bool finalized = target.migrationFinalized();
            if (migrated != 0 && !finalized) revert MigrationOutstanding(migrated);
            // Nothing is in the target: users may deposit again, so a later migration must walk
            // every user from the first, including those an empty range already passed.
            if (!finalized) m.userCursor = 0;
        }
        _unpause();
    }

    /// @notice Accepts ETH only from the target, which returns a rolled-back batch's ETH.
    receive() external payable {
        if (msg.sender != address(_m().target)) revert UnexpectedEthSender(msg.sender);
    }

    // ---------------------------------------------------------------- migration

    /**
     * @notice Moves the free balances of users `[expectedUserCursor, expectedUserCursor +
     * userCount)` to the target as one batch, with their funds: ETH as value, each ERC-20 by an
     * exact allowance the target pulls. A range holding no balance only advances the cursor.
     * @dev `MIGRATOR_ROLE`, V1 paused. Reverts with `UnexpectedUserCursor` on a replay,
     * `ValueOutOfRange` when the range is empty or runs past the last user, and `OpenLocksRemain`
     * while any job lock is open.
     * @param expectedUserCursor The first user to migrate: `migrationUserCursor()`.
     * @param userCount How many users to migrate (at least one).
     */
    function migrateDeposits(
        uint256 expectedUserCursor,
        uint256 userCount
    ) external onlyRole(MIGRATOR_ROLE) whenPaused nonReentrant {
        MigrationOutStorage storage m = _m();
        IPaymentEscrowV2 target = m.target;
        if (address(target) == address(0)) revert MigrationTargetUnset();
        uint256 userStart = m.userCursor;
        if (expectedUserCursor != userStart) revert UnexpectedUserCursor(expectedUserCursor, userStart);
        PaymentEscrowStorage storage $ = _s();
        address[] storage users = $.users;
        uint256 left = users.length - userStart;
        if (userCount == 0 || userCount > left) revert ValueOutOfRange(userCount, 1, left);
        address[] memory tokenList = $.tokens;
        for (uint256 t = 0; t < tokenList.length; ++t) {
            uint256 locked = $.totalLocked[tokenList[t]];
            if (locked != 0) revert OpenLocksRemain(tokenList[t], locked);
        }

        uint256 userEnd = userStart + userCount;
        (DepositRecord[] memory records, uint256[] memory sums) = _takeBalances(users, userStart, userEnd, tokenList);
        uint256 n = records.length;
        m.userCursor = uint64(userEnd);
        emit DepositsMigratedOut(userStart, userEnd, n);
        if (n == 0) return;

        m.batchUserStarts.push(uint64(userStart));
        uint256 value = 0;
        for (uint256 t = 0; t < tokenList.length; ++t) {
            uint256 sum = sums[t];
            if (sum == 0) continue;
            address token = tokenList[t];
            $.totalFree[token] -= sum;
            if (token == ETH) value = sum;
            else IERC20(token).forceApprove(address(target), sum);
        }
        target.batchMigrateDeposits{value: value}(target.migratedCount(), records);
    }

    /**
     * @notice Takes back the last batch sent to the target: the target checks `records` against
     * its commitment and returns their funds, which are re-credited exactly as they were.
     * @dev `MIGRATOR_ROLE`. The records are the last batch's, in order (from the
     * `DepositMigrated` events or a V1 snapshot). Reverts with `ReturnedFundsMismatch` unless the
     * funds received equal the records' sums. The user cursor returns to the batch's first user.
     * @param records The last batch's records.
     */
    function rollbackDeposits(DepositRecord[] calldata records) external onlyRole(MIGRATOR_ROLE) nonReentrant {
        MigrationOutStorage storage m = _m();
        PaymentEscrowStorage storage $ = _s();
        address[] memory tokenList = $.tokens;
        uint256[] memory sums = new uint256[](tokenList.length);
        for (uint256 i = 0; i < records.length; ++i) {
            // The target checks the records against its commitment before returning anything,
            // so each token is one of ours: an unknown one would run past the list and revert.
            uint256 t = 0;
            while (tokenList[t] != records[i].token) ++t;
            sums[t] += records[i].amount;
        }
        uint256[] memory before = new uint256[](tokenList.length);
        for (uint256 t = 0; t < tokenList.length; ++t) before[t] = _holding(tokenList[t]);

        m.target.returnLastBatch(records);

        for (uint256 t = 0; t < tokenList.length; ++t) {
            uint256 received = _holding(tokenList[t]) - before[t];
            if (received != sums[t]) revert ReturnedFundsMismatch(tokenList[t], sums[t], received);
            $.totalFree[tokenList[t]] += sums[t];
        }
        for (uint256 i = 0; i < records.length; ++i) {
            DepositRecord calldata record = records[i];
            $.balances[record.user][record.token] += record.amount;
        }
        uint256 userEnd = m.userCursor;
        uint256 userStart = m.batchUserStarts[m.batchUserStarts.length - 1];
        m.batchUserStarts.pop();
        // With no batch left, the walk starts over: ranges before the first batch held no
        // balance, but their users may deposit once V1 reopens, and must not be skipped then.
        if (m.batchUserStarts.length == 0) userStart = 0;
        m.userCursor = uint64(userStart);
        emit DepositsReturnedIn(userStart, userEnd, records.length);
    }

    // ---------------------------------------------------------------- views

    /// @notice The V2 escrow balances move to (zero before `initializeMigration`).
    function migrationTarget() external view returns (IPaymentEscrowV2) {
        return _m().target;
    }

    /// @notice The next user to migrate: the `expectedUserCursor` of the next `migrateDeposits`.
    function migrationUserCursor() external view returns (uint256) {
        return _m().userCursor;
    }

    /// @notice The first user of each batch sent to the target and not rolled back, oldest first.
    function migrationBatchUserStarts() external view returns (uint64[] memory) {
        return _m().batchUserStarts;
    }

    // ---------------------------------------------------------------- internals

    /**
     * @dev Zeroes the free balances of `users[userStart, userEnd)` in every token of `tokenList`
     * and returns them as records, in user then token order, with each token's sum.
     */
    function _takeBalances(
        address[] storage users,
        uint256 userStart,
        uint256 userEnd,
        address[] memory tokenList
    ) private returns (DepositRecord[] memory records, uint256[] memory sums) {
        mapping(address user => mapping(address token => uint256)) storage balances = _s().balances;
        // At most one record per user and token; trimmed to the records found.
        records = new DepositRecord[]((userEnd - userStart) * tokenList.length);
        sums = new uint256[](tokenList.length);
        uint256 n = 0;
        for (uint256 u = userStart; u < userEnd; ++u) {
            address user = users[u];
            mapping(address token => uint256) storage userBalances = balances[user];
            for (uint256 t = 0; t < tokenList.length; ++t) {
                address token = tokenList[t];
                uint256 amount = userBalances[token];
                if (amount == 0) continue;
                userBalances[token] = 0;
                sums[t] += amount;
                records[n++] = DepositRecord({user: user, token: token, amount: amount});
            }
        }
        assembly ("memory-safe") {
            mstore(records, n)
        }
    }

    /// @dev What this contract holds of `token` (ETH as `address(0)`).
    function _holding(address token) private view returns (uint256) {
        return token == ETH ? address(this).balance : IERC20(token).balanceOf(address(this));
    }
}
