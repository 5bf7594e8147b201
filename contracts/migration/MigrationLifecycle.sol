// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ContextUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/ContextUpgradeable.sol";
import {GovernedUpgradeable} from "../common/GovernedUpgradeable.sol";
import {TrustedAdapterContext} from "../common/TrustedAdapterContext.sol";
import {IMigrationLifecycle} from "../interfaces/IMigrationLifecycle.sol";
import {StateCommitment} from "./StateCommitment.sol";

/**
 * @title MigrationLifecycle
 * @notice The migration window every V2 contract shares. From initialization until
 * `finalizeMigration`, `MIGRATOR_ROLE` imports records in batches and user-facing functions
 * (guarded by `whenMigrated`) revert with `MigrationInProgress`. Each batch states the cursor
 * it expects to write next, so a replayed or skipped batch reverts with `UnexpectedCursor`, and
 * folds its records into the state commitment, stored once per batch.
 * @dev Batches are kept as checkpoints (commitment before, first record, sender) so that the
 * last batch can be rolled back, most recent first, by the contract that sent it: funds only
 * ever return to where they came from. After finalize nothing reaches an entry point: the
 * window is closed, every migrator loses the role and the role can no longer be granted.
 * Every V2 contract is also served to V1's callers through the V1 adapters, so the lifecycle
 * brings `TrustedAdapterContext` with it: `_msgSender()` is the user behind an adapter call.
 */
abstract contract MigrationLifecycle is IMigrationLifecycle, GovernedUpgradeable, TrustedAdapterContext {
    /// @notice May import records (and roll them back) while the migration window is open.
    bytes32 public constant MIGRATOR_ROLE = keccak256("MIGRATOR_ROLE");

    /// @custom:storage-location erc7201:fabstir.storage.MigrationLifecycle
    struct MigrationLifecycleStorage {
        bytes32 commitment;
        uint64 count;
        bool finalized;
        MigrationBatch[] batches;
        /// @dev Every account ever granted `MIGRATOR_ROLE`, so finalize can revoke them all.
        address[] migrators;
    }

    // keccak256(abi.encode(uint256(keccak256("fabstir.storage.MigrationLifecycle")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant MIGRATION_STORAGE_LOCATION =
        0x7fcc15d17eed7b9d62f814974872fdd6fd44cf2108b3923034c274a830c09300;

    function _migration() private pure returns (MigrationLifecycleStorage storage $) {
        assembly {
            $.slot := MIGRATION_STORAGE_LOCATION
        }
    }

    /// @dev Reverts unless the window is open and the caller holds `MIGRATOR_ROLE`.
    modifier onlyMigrator() {
        if (_migration().finalized) revert MigrationAlreadyFinalized();
        // The batch's sender, not `_msgSender()`: migration never goes through an adapter.
        _checkRole(MIGRATOR_ROLE, msg.sender);
        _;
    }

    /// @dev Reverts while the migration is in progress: for user-facing functions.
    modifier whenMigrated() {
        if (!_migration().finalized) revert MigrationInProgress();
        _;
    }

    // solhint-disable-next-line func-name-mixedcase
    function __MigrationLifecycle_init(address migrator) internal onlyInitializing {
        if (migrator != address(0)) _grantRole(MIGRATOR_ROLE, migrator);
    }

    /// @inheritdoc IMigrationLifecycle
    function finalizeMigration(
        bytes32 expectedCommitment,
        uint256 expectedCount,
        address[] calldata tokens,
        uint256[] calldata expectedFunds
    ) external onlyMigrator {
        MigrationLifecycleStorage storage $ = _migration();
        if ($.commitment != expectedCommitment) revert CommitmentMismatch(expectedCommitment, $.commitment);
        if ($.count != expectedCount) revert CountMismatch(expectedCount, $.count);
        address[] memory held = _migrationTokens();
        bool sameTokens = tokens.length == held.length && expectedFunds.length == held.length;
        for (uint256 i = 0; sameTokens && i < held.length; ++i) sameTokens = tokens[i] == held[i];
        if (!sameTokens) revert TokenListMismatch(held, tokens, expectedFunds.length);
        for (uint256 i = 0; i < held.length; ++i) {
            uint256 owed = _migratedFunds(held[i]);
            if (owed != expectedFunds[i]) revert FundsMismatch(held[i], expectedFunds[i], owed);
            uint256 balance = held[i] == address(0) ? address(this).balance : IERC20(held[i]).balanceOf(address(this));
            if (balance < owed) revert Insolvent(held[i], balance, owed);
        }

        $.finalized = true;
        address[] storage migrators = $.migrators;
        for (uint256 i = 0; i < migrators.length; ++i) _revokeRole(MIGRATOR_ROLE, migrators[i]);
        emit MigrationFinalized($.commitment, $.count);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IMigrationLifecycle
    function migrationCommitment() external view returns (bytes32) {
        return _migration().commitment;
    }

    /// @inheritdoc IMigrationLifecycle
    function migratedCount() public view returns (uint256) {
        return _migration().count;
    }

    /// @inheritdoc IMigrationLifecycle
    function migrationFinalized() public view returns (bool) {
        return _migration().finalized;
    }

    /// @inheritdoc IMigrationLifecycle
    function migrationBatchCount() external view returns (uint256) {
        return _migration().batches.length;
    }

    /// @inheritdoc IMigrationLifecycle
    function migrationBatch(uint256 index) external view returns (MigrationBatch memory) {
        return _migration().batches[index];
    }

    /// @inheritdoc IMigrationLifecycle
    function migrationTokens() external view returns (address[] memory) {
        return _migrationTokens();
    }

    /// @inheritdoc IMigrationLifecycle
    function migratedFunds(address token) external view returns (uint256) {
        return _migratedFunds(token);
    }

    // ---------------------------------------------------------------- for entry points

    /**
     * @dev Opens a batch of `size` records that the caller expects to start at
     * `expectedCursor`. Returns the commitment to fold into and the first record's index.
     */
    function _beginBatch(uint256 expectedCursor, uint256 size) internal returns (bytes32 commitment, uint256 start) {
        if (size == 0) revert EmptyBatch();
        MigrationLifecycleStorage storage $ = _migration();
        start = $.count;
        if (expectedCursor != start) revert UnexpectedCursor(expectedCursor, start);
        commitment = $.commitment;
        $.batches.push(MigrationBatch({commitmentBefore: commitment, start: uint64(start), source: msg.sender}));
    }

    /// @dev Closes the batch opened by `_beginBatch`: stores the folded commitment and the cursor.
    function _endBatch(bytes32 commitment, uint256 end) internal {
        MigrationLifecycleStorage storage $ = _migration();
        uint256 batch = $.batches.length - 1;
        $.commitment = commitment;
        $.count = uint64(end);
        emit MigrationBatchImported(batch, $.batches[batch].start, end, commitment);
    }

    /**
     * @dev Removes the last batch if the caller sent it, restoring the commitment and cursor it
     * started from. Returns the range `[start, end)` of records the caller must undo.
     */
    function _rollBackLastBatch() internal returns (uint256 start, uint256 end, bytes32 commitmentAfter) {
        MigrationLifecycleStorage storage $ = _migration();
        uint256 batches = $.batches.length;
        if (batches == 0) revert NothingToRollBack();
        MigrationBatch memory last = $.batches[batches - 1];
        if (msg.sender != last.source) revert NotBatchSource(msg.sender, last.source);
        $.batches.pop();
        start = last.start;
        end = $.count;
        commitmentAfter = $.commitment;
        $.commitment = last.commitmentBefore;
        $.count = uint64(start);
        emit MigrationBatchRolledBack(batches - 1, start, end, last.commitmentBefore);
    }

    /// @dev The commitment and start of the last batch, for entry points that verify its records.
    function _lastBatch() internal view returns (MigrationBatch memory) {
        MigrationLifecycleStorage storage $ = _migration();
        if ($.batches.length == 0) revert NothingToRollBack();
        return $.batches[$.batches.length - 1];
    }

    /// @dev Folds `leaf` into `commitment`.
    function _fold(bytes32 commitment, bytes32 leaf) internal pure returns (bytes32) {
        return StateCommitment.fold(commitment, leaf);
    }

    /// @dev The tokens whose migrated funds finalize checks, ETH as `address(0)`.
    function _migrationTokens() internal view virtual returns (address[] memory);

    /// @dev The migrated amount of `token` the contract owes.
    function _migratedFunds(address token) internal view virtual returns (uint256);

    /// @dev The user behind an adapter call, else the caller (see `TrustedAdapterContext`).
    function _msgSender() internal view override(ContextUpgradeable, TrustedAdapterContext) returns (address) {
        return TrustedAdapterContext._msgSender();
    }

    /// @dev The calldata without an adapter's sender suffix.
    function _msgData() internal view override(ContextUpgradeable, TrustedAdapterContext) returns (bytes calldata) {
        return TrustedAdapterContext._msgData();
    }

    /// @dev An adapter appends 20 bytes.
    function _contextSuffixLength()
        internal
        view
        override(ContextUpgradeable, TrustedAdapterContext)
        returns (uint256)
    {
        return TrustedAdapterContext._contextSuffixLength();
    }

    /// @dev Tracks migrators for revocation at finalize; refuses new ones after it.
    function _grantRole(bytes32 role, address account) internal virtual override returns (bool granted) {
        if (role == MIGRATOR_ROLE) {
            MigrationLifecycleStorage storage $ = _migration();
            if ($.finalized) revert MigrationAlreadyFinalized();
            granted = super._grantRole(role, account);
            if (granted) $.migrators.push(account);
        } else {
            granted = super._grantRole(role, account);
        }
    }
}
