// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title IMigrationLifecycle
 * @notice What every V2 contract exposes about its migration window. The window is open from
 * initialization: `MIGRATOR_ROLE` imports records in batches while user-facing functions are
 * closed. `finalizeMigration` checks what was imported against what the caller expects, then
 * opens the contract to users and closes the migration entry points for good.
 */
interface IMigrationLifecycle {
    /// @notice One imported batch: records `[start, next batch's start)` were sent by `source`,
    /// and the commitment before them was `commitmentBefore`.
    struct MigrationBatch {
        bytes32 commitmentBefore;
        uint64 start;
        address source;
    }

    event MigrationBatchImported(uint256 indexed batch, uint256 start, uint256 end, bytes32 commitment);
    event MigrationBatchRolledBack(uint256 indexed batch, uint256 start, uint256 end, bytes32 commitment);
    event MigrationFinalized(bytes32 commitment, uint256 count);

    /// @dev The migration was finalized: entry points are closed for good.
    error MigrationAlreadyFinalized();
    /// @dev The contract is still migrating: user-facing functions open after `finalizeMigration`.
    error MigrationInProgress();
    /// @dev The caller expected to write record `expected` next, but the contract is at `actual`:
    /// the batch was already imported (a replay) or one is missing. Read `migratedCount()`.
    error UnexpectedCursor(uint256 expected, uint256 actual);
    /// @dev A batch must hold at least one record.
    error EmptyBatch();
    /// @dev No batch is left to roll back.
    error NothingToRollBack();
    /// @dev Only `source`, which sent the last batch (and its funds), may roll it back.
    error NotBatchSource(address caller, address source);
    /// @dev `finalizeMigration` expected commitment `expected`, the contract holds `actual`.
    error CommitmentMismatch(bytes32 expected, bytes32 actual);
    /// @dev `finalizeMigration` expected `expected` records, the contract holds `actual`.
    error CountMismatch(uint256 expected, uint256 actual);
    /// @dev `finalizeMigration` must name exactly the tokens `expected` (`migrationTokens()`), in
    /// order, with one expected amount each; it was given `tokens` and `fundsGiven` amounts.
    error TokenListMismatch(address[] expected, address[] tokens, uint256 fundsGiven);
    /// @dev `finalizeMigration` expected `expected` of `token` migrated, the contract holds `actual`.
    error FundsMismatch(address token, uint256 expected, uint256 actual);
    /// @dev The contract holds `balance` of `token`, less than the `owed` amount it accounts for.
    error Insolvent(address token, uint256 balance, uint256 owed);

    /**
     * @notice Ends the migration: reverts unless the commitment, the record count and the
     * migrated funds per token all equal the caller's expectations; then opens the contract to
     * users, closes every migration entry point forever and revokes `MIGRATOR_ROLE` from all
     * its holders.
     * @param expectedCommitment The commitment of the source state (V1 at the pinned block).
     * @param expectedCount How many records the source state holds.
     * @param tokens Exactly `migrationTokens()`, in its order.
     * @param expectedFunds The migrated amount of each token in `tokens`.
     */
    function finalizeMigration(
        bytes32 expectedCommitment,
        uint256 expectedCount,
        address[] calldata tokens,
        uint256[] calldata expectedFunds
    ) external;

    /// @notice The rolling commitment of every record imported so far.
    function migrationCommitment() external view returns (bytes32);

    /// @notice How many records were imported: the cursor the next batch must state.
    function migratedCount() external view returns (uint256);

    /// @notice Whether the migration was finalized.
    function migrationFinalized() external view returns (bool);

    /// @notice How many imported batches are on record (rolled-back batches are removed).
    function migrationBatchCount() external view returns (uint256);

    /// @notice Imported batch number `index`.
    function migrationBatch(uint256 index) external view returns (MigrationBatch memory);

    /// @notice The tokens whose migrated funds `finalizeMigration` checks (ETH is `address(0)`).
    function migrationTokens() external view returns (address[] memory);

    /// @notice The migrated amount of `token` the contract accounts for.
    function migratedFunds(address token) external view returns (uint256);
}
