// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IPaymentEscrowV2} from "../interfaces/IPaymentEscrowV2.sol";
import {DepositRecord, MigrationRecords} from "../migration/MigrationRecords.sol";
import {MigrationLifecycle} from "../migration/MigrationLifecycle.sol";

/**
 * @title PaymentEscrowV2
 * @notice Holds renters' deposits and per-job locks, and settles jobs: the host is paid what the
 * job cost (less the fee, credited to the treasury) and the rest of the lock returns to the payer.
 * Balances are pull payments, withdrawn by their owners. V1's free balances are imported during
 * the migration window (`batchMigrateDeposits`); users and the marketplace get in after
 * `finalizeMigration`.
 * @dev Solvency: for every token, the escrow's balance covers `totalFree + totalLocked`. Funds
 * leave only through `withdraw` and `returnLastBatch`, which lower the totals before transferring.
 * Tokens must be allow-listed, since fee-on-transfer or rebasing tokens would break that
 * accounting.
 *
 * Migration credits (promotional, e.g. the migration guide's 10% bonus for 90 days): a pool per
 * token, funded with real tokens by anyone (`fundCreditPool`), from which `CREDITS_ROLE` grants
 * credits to users (`grantCredits`). Invariants, each pinned by test/PaymentEscrowV2Credits.t.sol:
 * - per token, the escrow holds at least `totalFree + totalLocked + creditPool + totalCredits`
 *   (locks include their credit part; `totalCredits` is the unspent credits outside locks);
 * - `totalCredits` is the sum of the users' buckets, and every credit unit is either in the pool,
 *   in a bucket, in a lock, or was paid to a host (then it is real balance: the pool paid for it);
 * - credits are never withdrawable: `withdraw` reads free balances only, and a credit returns only
 *   to the payer's credits (while live) or to the pool (once expired), never to a free balance;
 * - expired credits never fund a lock, and anyone can return them to the pool (`expireCredits`).
 * Grants to one (user, token) share one bucket `{ amount, expiresAt }` in one slot, whose expiry
 * is the latest grant's: a lock reads one slot whatever the number of grants (a payer without
 * credits pays one extra cold SLOAD). The trade-off: a later grant extends the life of earlier,
 * still-live credits of that user to its own expiry (never of expired ones: a grant or a return
 * first sweeps an expired bucket to the pool).
 *
 * Unlike V1 the escrow keeps no list of its users: every account that ever held a balance is
 * enumerable off-chain from the `Deposited` and `DepositMigrated` events (a user is credited
 * otherwise only as a host or treasury, which `Settled` names, or as a payer, which `Locked`
 * names). Dropping the list saves the migration two fresh storage slots per user (the "known"
 * flag and the array entry), the largest cost of importing a balance after the balance itself.
 */
contract PaymentEscrowV2 is IPaymentEscrowV2, MigrationLifecycle, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice May lock, settle and refund job funds (the job marketplace).
    bytes32 public constant MARKETPLACE_ROLE = keccak256("MARKETPLACE_ROLE");
    /// @notice May grant credits from the pool (`grantCredits`). Nobody holds it at initialize.
    bytes32 public constant CREDITS_ROLE = keccak256("CREDITS_ROLE");

    /// @notice The token id under which ETH is accounted.
    address public constant ETH = address(0);
    /// @notice 100% in basis points.
    uint256 public constant BPS_DENOMINATOR = 10_000;
    /// @notice The fee may not exceed 10%.
    uint256 public constant MAX_FEE_BPS = 1_000;

    /// @custom:storage-location erc7201:fabstir.storage.PaymentEscrowV2
    struct PaymentEscrowStorage {
        mapping(address user => mapping(address token => uint256)) balances;
        mapping(uint256 jobId => JobLock) locks;
        mapping(address token => uint256) totalFree;
        mapping(address token => uint256) totalLocked;
        mapping(address token => bool) allowed;
        mapping(address token => bool) listed;
        address[] tokens;
        uint256 feeBps;
        address treasury;
        // Appended for migration credits (never reorder the fields above).
        mapping(address token => uint256) creditPool;
        mapping(address token => uint256) totalCredits;
        mapping(address user => mapping(address token => CreditBucket)) credits;
        mapping(bytes32 grantId => CreditGrant) grants;
        mapping(uint256 jobId => CreditLock) creditLocks;
    }

    // keccak256(abi.encode(uint256(keccak256("fabstir.storage.PaymentEscrowV2")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_LOCATION = 0x4c7f1e66e34d5d909a916c19ffffcde0ad56ccb50acb6daa1a91814b90c83100;

    function _s() private pure returns (PaymentEscrowStorage storage $) {
        assembly {
            $.slot := STORAGE_LOCATION
        }
    }

    /**
     * @notice Sets up the escrow behind a proxy and opens the migration window. ETH is always
     * allowed; list V1's other tokens with `setTokenAllowed` before importing their balances.
     * @param admin Receives the admin, upgrader and pauser roles (the timelock in production).
     * @param migrator Receives `MIGRATOR_ROLE` (zero for none: the admin grants it later).
     * @param treasury_ Who is credited the fees.
     * @param feeBps_ The fee on settlements in basis points (at most `MAX_FEE_BPS`).
     */
    function initialize(address admin, address migrator, address treasury_, uint256 feeBps_) external initializer {
        __GovernedUpgradeable_init(admin);
        __MigrationLifecycle_init(migrator);
        _setTreasury(treasury_);
        _setFeeBps(feeBps_);
        _setTokenAllowed(ETH, true);
    }

    /// @notice The semantic version of the implementation behind the proxy.
    function version() external pure override returns (string memory) {
        return "2.0.0";
    }

    // ---------------------------------------------------------------- users

    /// @notice Deposits `amount` of `token` (send the ETH with the call for `address(0)`).
    /// @dev Opens after `finalizeMigration`; blocked while paused.
    function deposit(address token, uint256 amount) external payable {
        depositFor(_msgSender(), token, amount);
    }

    /// @inheritdoc IPaymentEscrowV2
    /// @dev Permissionless: the funds come from the caller, so crediting another account takes
    /// nothing from anyone. The V1 escrow's adapter uses it for ERC-20 deposits it pulled from
    /// the user. Opens after `finalizeMigration`; blocked while paused.
    function depositFor(
        address user,
        address token,
        uint256 amount
    ) public payable whenMigrated whenNotPaused nonReentrant {
        PaymentEscrowStorage storage $ = _s();
        if (user == address(0)) revert ZeroAddress();
        if (!$.allowed[token]) revert TokenNotAllowed(token);
        if (amount == 0 || msg.value != (token == ETH ? amount : 0)) revert InvalidAmount(amount, msg.value);
        _credit(user, token, amount);
        emit Deposited(user, token, amount);
        if (token != ETH) IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Withdraws `amount` of `token` from the caller's free balance.
    /// @dev Opens after `finalizeMigration`; blocked while paused. Works for tokens no longer
    /// allowed: a balance is never stuck.
    function withdraw(address token, uint256 amount) external whenMigrated whenNotPaused nonReentrant {
        address sender = _msgSender();
        PaymentEscrowStorage storage $ = _s();
        if (amount == 0) revert InvalidAmount(amount, 0);
        uint256 available = $.balances[sender][token];
        if (amount > available) revert InsufficientFreeBalance(sender, token, available, amount);
        $.balances[sender][token] = available - amount;
        $.totalFree[token] -= amount;
        emit Withdrawn(sender, token, amount);
        if (token == ETH) Address.sendValue(payable(sender), amount);
        else IERC20(token).safeTransfer(sender, amount);
    }

    // ---------------------------------------------------------------- marketplace

    /// @inheritdoc IPaymentEscrowV2
    /// @dev `amount` must fit in 96 bits (the lock is one packed slot); blocked while paused.
    /// Draws from the payer's live credits first, then from its free balance; the credit part is
    /// remembered in `creditLockOf(jobId)` with its expiry. `InsufficientFreeBalance` reports the
    /// live credits plus the free balance as available.
    function lockForJob(
        uint256 jobId,
        address payer,
        address token,
        uint256 amount
    ) external onlyRole(MARKETPLACE_ROLE) whenMigrated whenNotPaused {
        PaymentEscrowStorage storage $ = _s();
        if (!$.allowed[token]) revert TokenNotAllowed(token);
        if (amount == 0) revert InvalidAmount(amount, 0);
        if ($.locks[jobId].payment.amount != 0) revert JobAlreadyLocked(jobId);
        // The one extra read for a payer without credits: the bucket is a single slot, read whole
        // (a memory copy of the struct costs more than its SLOAD's arithmetic for the common case).
        CreditBucket storage bucket = $.credits[payer][token];
        uint256 packed;
        assembly ("memory-safe") {
            packed := sload(bucket.slot)
        }
        uint256 fromCredits = 0;
        if (packed != 0 && block.timestamp <= packed >> 192) fromCredits = Math.min(uint192(packed), amount);
        uint256 fromFree = amount - fromCredits;
        uint256 available = $.balances[payer][token];
        if (fromFree > available) revert InsufficientFreeBalance(payer, token, available + fromCredits, amount);
        if (fromFree != 0) {
            $.balances[payer][token] = available - fromFree;
            $.totalFree[token] -= fromFree;
        }
        $.totalLocked[token] += amount;
        $.locks[jobId] = JobLock({payer: payer, payment: Payment({token: token, amount: amount.toUint96()})});
        emit Locked(jobId, payer, token, amount);
        if (fromCredits != 0) {
            // fromCredits <= amount, which fits in 96 bits (checked above).
            uint64 expiresAt = uint64(packed >> 192);
            bucket.amount = uint192(uint192(packed) - fromCredits);
            $.totalCredits[token] -= fromCredits;
            $.creditLocks[jobId] = CreditLock({amount: uint96(fromCredits), expiresAt: expiresAt});
            emit CreditsLocked(jobId, payer, token, fromCredits, expiresAt);
        }
    }

    /// @inheritdoc IPaymentEscrowV2
    /// @dev The fee is `hostAmount * feeBps / BPS_DENOMINATOR`, rounded down. `Settled` reports
    /// what the host was credited (`hostAmount` less the fee), the fee and the refund, which add up
    /// to the lock. Allowed while paused, so that running jobs can finish during a freeze.
    /// A lock's credit part pays the host first (it becomes the host's real balance: the pool paid
    /// for it), so the payer's cash comes back first: the refund is cash up to the lock's cash part,
    /// and the unspent credits return to the payer's credits while live, else to the pool
    /// (`CreditsReleased` splits it). `Settled.refunded` is the whole refund, credits included.
    function settle(uint256 jobId, address host, uint256 hostAmount) external onlyRole(MARKETPLACE_ROLE) whenMigrated {
        if (host == address(0)) revert ZeroAddress();
        PaymentEscrowStorage storage $ = _s();
        (address payer, address token, uint256 locked) = _takeLock(jobId);
        if (hostAmount > locked) revert SettlementExceedsLock(hostAmount, locked);
        // mulDiv: the split must work for any amount a token can hold, without overflow.
        uint256 fee = Math.mulDiv(hostAmount, $.feeBps, BPS_DENOMINATOR);
        uint256 refunded = locked - hostAmount;
        if (hostAmount != 0) _credit(host, token, hostAmount - fee);
        if (fee != 0) _credit($.treasury, token, fee);
        uint256 cashRefunded = _releaseCredits(jobId, payer, token, hostAmount, refunded);
        if (cashRefunded != 0) _credit(payer, token, cashRefunded);
        emit Settled(jobId, host, token, hostAmount - fee, fee, refunded);
    }

    /// @inheritdoc IPaymentEscrowV2
    /// @dev Allowed while paused, like `settle`. The lock's credit part returns as credits while
    /// live, else to the pool; `Refunded.amount` is the whole lock.
    function refund(uint256 jobId) external onlyRole(MARKETPLACE_ROLE) whenMigrated {
        (address payer, address token, uint256 locked) = _takeLock(jobId);
        uint256 cashRefunded = _releaseCredits(jobId, payer, token, 0, locked);
        if (cashRefunded != 0) _credit(payer, token, cashRefunded);
        emit Refunded(jobId, payer, token, locked);
    }

    // ---------------------------------------------------------------- migration credits

    /// @inheritdoc IPaymentEscrowV2
    /// @dev Permissionless: the funds come from the caller. Opens after `finalizeMigration` (so
    /// the migration's funds check never sees pool funds); blocked while paused, like deposits.
    function fundCreditPool(address token, uint256 amount) external payable whenMigrated whenNotPaused nonReentrant {
        PaymentEscrowStorage storage $ = _s();
        if (!$.allowed[token]) revert TokenNotAllowed(token);
        if (amount == 0 || msg.value != (token == ETH ? amount : 0)) revert InvalidAmount(amount, msg.value);
        $.creditPool[token] += amount;
        emit CreditPoolFunded(msg.sender, token, amount);
        if (token != ETH) IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IPaymentEscrowV2
    /// @dev Only unallocated funds: granted credits stay with their users until they expire.
    /// Blocked while paused, like `withdraw`.
    function withdrawCreditPool(
        address token,
        uint256 amount,
        address to
    ) external onlyRole(DEFAULT_ADMIN_ROLE) whenNotPaused nonReentrant {
        PaymentEscrowStorage storage $ = _s();
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert InvalidAmount(amount, 0);
        uint256 pool = $.creditPool[token];
        if (amount > pool) revert InsufficientCreditPool(token, pool, amount);
        $.creditPool[token] = pool - amount;
        emit CreditPoolWithdrawn(token, to, amount);
        if (token == ETH) Address.sendValue(payable(to), amount);
        else IERC20(token).safeTransfer(to, amount);
    }

    /// @inheritdoc IPaymentEscrowV2
    /// @dev `amount` must fit in 96 bits (like a lock) and `expiresAt` be after this block.
    /// Reverts with `GrantAlreadyExists(grantId)` on a replay, so an off-chain plan applied twice
    /// grants once. Moves accounting only (no transfer). Blocked while paused.
    function grantCredits(
        bytes32 grantId,
        address user,
        address token,
        uint256 amount,
        uint64 expiresAt
    ) external onlyRole(CREDITS_ROLE) whenMigrated whenNotPaused {
        PaymentEscrowStorage storage $ = _s();
        if (user == address(0)) revert ZeroAddress();
        if (amount == 0) revert InvalidAmount(amount, 0);
        if (expiresAt <= block.timestamp) revert CreditExpiryNotInFuture(expiresAt, block.timestamp);
        if ($.grants[grantId].user != address(0)) revert GrantAlreadyExists(grantId);
        uint256 pool = $.creditPool[token];
        if (amount > pool) revert InsufficientCreditPool(token, pool, amount);
        $.creditPool[token] = pool - amount;
        $.grants[grantId] = CreditGrant({user: user, expiresAt: expiresAt, token: token, amount: amount.toUint96()});
        CreditBucket memory bucket = _addCredits(user, token, amount, expiresAt);
        emit CreditsGranted(grantId, user, token, amount, expiresAt, bucket.amount, bucket.expiresAt);
    }

    /// @inheritdoc IPaymentEscrowV2
    /// @dev Reverts with `CreditsNotExpired` while the bucket is live or empty. Allowed to anyone:
    /// it only moves expired credits, which no lock can use any more, back to the pool.
    function expireCredits(address user, address token) external whenNotPaused {
        CreditBucket memory bucket = _s().credits[user][token];
        if (bucket.amount == 0 || block.timestamp <= bucket.expiresAt) {
            revert CreditsNotExpired(user, token, bucket.amount, bucket.expiresAt);
        }
        _sweepCredits(user, token, bucket.amount);
    }

    // ---------------------------------------------------------------- migration

    /// @inheritdoc IPaymentEscrowV2
    /// @dev A batch of one record at the current cursor: the operator need not know the cursor,
    /// and a replay reverts with `DepositAlreadyMigrated`.
    function migrateDeposit(address user, address token, uint256 amount) external payable onlyMigrator nonReentrant {
        DepositRecord[] memory records = new DepositRecord[](1);
        records[0] = DepositRecord({user: user, token: token, amount: amount});
        _importDeposits(migratedCount(), records);
    }

    /// @inheritdoc IPaymentEscrowV2
    /// @dev Per record: `user` is not zero (`ZeroAddress`), `amount` is not zero
    /// (`InvalidAmount`), `token` was listed (`TokenNotListed`) and the user holds none of it yet
    /// (`DepositAlreadyMigrated`): since nobody can deposit during the window, a nonzero balance
    /// is exactly the mark of an imported record, at no extra storage.
    function batchMigrateDeposits(
        uint256 expectedCursor,
        DepositRecord[] calldata records
    ) external payable onlyMigrator nonReentrant {
        _importDeposits(expectedCursor, records);
    }

    /// @inheritdoc IPaymentEscrowV2
    /// @dev Reverts with `BatchRecordsMismatch` unless `records` are exactly the last batch's
    /// (same count, and folded from the commitment before the batch they give the current one),
    /// and with `NotBatchSource` unless the caller sent that batch.
    function returnLastBatch(DepositRecord[] calldata records) external onlyMigrator nonReentrant {
        bytes32 commitment = _lastBatch().commitmentBefore;
        (uint256 start, uint256 end, bytes32 commitmentAfter) = _rollBackLastBatch();
        if (records.length != end - start) revert BatchRecordsMismatch();
        for (uint256 i = 0; i < records.length; ++i) commitment = _fold(commitment, MigrationRecords.leaf(records[i]));
        if (commitment != commitmentAfter) revert BatchRecordsMismatch();

        PaymentEscrowStorage storage $ = _s();
        address[] memory tokenList = $.tokens;
        uint256[] memory sums = new uint256[](tokenList.length);
        for (uint256 i = 0; i < records.length; ++i) {
            DepositRecord calldata record = records[i];
            // Users cannot act during the window: the balance is still exactly the record's.
            $.balances[record.user][record.token] = 0;
            sums[_indexOf(tokenList, record.token)] += record.amount;
        }
        emit DepositsReturned(start, end);
        // ETH is listed first (at initialize) and goes back as value; every other token by transfer.
        for (uint256 t = 0; t < tokenList.length; ++t) {
            uint256 sum = sums[t];
            if (sum == 0) continue;
            address token = tokenList[t];
            $.totalFree[token] -= sum;
            if (t == 0) Address.sendValue(payable(msg.sender), sum);
            else IERC20(token).safeTransfer(msg.sender, sum);
        }
    }

    // ---------------------------------------------------------------- admin

    /// @notice Allows or disallows `token` for new deposits and locks. Balances already held
    /// stay withdrawable either way. Only plain ERC-20s (no fee on transfer, no rebasing).
    /// @dev Works during the migration window: the operator lists V1's tokens before importing
    /// their balances (a token V1 no longer allows is listed, then disallowed).
    function setTokenAllowed(address token, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTokenAllowed(token, allowed);
    }

    /// @notice Sets the fee on settlements in basis points (at most `MAX_FEE_BPS`).
    function setFeeBps(uint256 feeBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFeeBps(feeBps_);
    }

    /// @notice Sets who is credited the fees.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(treasury_);
    }

    // ---------------------------------------------------------------- views

    /// @notice The free balance of `user` in `token`.
    function balanceOf(address user, address token) external view returns (uint256) {
        return _s().balances[user][token];
    }

    /// @notice The lock of job `jobId` (zero when none).
    function lockOf(uint256 jobId) external view returns (JobLock memory) {
        return _s().locks[jobId];
    }

    /// @notice The sum of all free balances of `token`.
    function totalFree(address token) external view returns (uint256) {
        return _s().totalFree[token];
    }

    /// @notice The locked total of `token`.
    function totalLocked(address token) external view returns (uint256) {
        return _s().totalLocked[token];
    }

    /// @inheritdoc IPaymentEscrowV2
    function tokens() external view returns (address[] memory) {
        return _s().tokens;
    }

    /// @notice Whether `token` is accepted for new deposits and locks.
    function isTokenAllowed(address token) external view returns (bool) {
        return _s().allowed[token];
    }

    /// @notice The fee on settlements, in basis points.
    function feeBps() external view returns (uint256) {
        return _s().feeBps;
    }

    /// @notice Who is credited the fees.
    function treasury() external view returns (address) {
        return _s().treasury;
    }

    /// @notice The unallocated credit pool of `token`.
    function creditPool(address token) external view returns (uint256) {
        return _s().creditPool[token];
    }

    /// @inheritdoc IPaymentEscrowV2
    function totalCredits(address token) external view returns (uint256) {
        return _s().totalCredits[token];
    }

    /// @notice `user`'s credit bucket in `token`, live or not (see `liveCreditsOf`).
    function creditsOf(address user, address token) external view returns (CreditBucket memory) {
        return _s().credits[user][token];
    }

    /// @inheritdoc IPaymentEscrowV2
    function liveCreditsOf(address user, address token) external view returns (uint256) {
        CreditBucket memory bucket = _s().credits[user][token];
        return block.timestamp <= bucket.expiresAt ? bucket.amount : 0;
    }

    /// @notice The grant made under `grantId` (all zero when none).
    function grantOf(bytes32 grantId) external view returns (CreditGrant memory) {
        return _s().grants[grantId];
    }

    /// @notice The credit part of job `jobId`'s lock (zero when none).
    function creditLockOf(uint256 jobId) external view returns (CreditLock memory) {
        return _s().creditLocks[jobId];
    }

    // ---------------------------------------------------------------- internals

    /**
     * @dev Imports `records` as one batch at `expectedCursor`. Balances are written per record;
     * the totals and the transfers happen once per token, from sums kept in memory over the
     * listed tokens (a handful), which is also how an unlisted token is detected.
     */
    function _importDeposits(uint256 expectedCursor, DepositRecord[] memory records) private {
        (bytes32 commitment, uint256 start) = _beginBatch(expectedCursor, records.length);
        PaymentEscrowStorage storage $ = _s();
        address[] memory tokenList = $.tokens;
        uint256[] memory sums = new uint256[](tokenList.length);
        for (uint256 i = 0; i < records.length; ++i) {
            DepositRecord memory record = records[i];
            (address user, address token, uint256 amount) = (record.user, record.token, record.amount);
            if (user == address(0)) revert ZeroAddress();
            if (amount == 0) revert InvalidAmount(0, 0);
            uint256 t = 0;
            while (t < tokenList.length && tokenList[t] != token) ++t;
            if (t == tokenList.length) revert TokenNotListed(token);
            mapping(address token => uint256) storage userBalances = $.balances[user];
            if (userBalances[token] != 0) revert DepositAlreadyMigrated(user, token);
            userBalances[token] = amount;
            sums[t] += amount;
            commitment = _fold(commitment, MigrationRecords.leaf(record));
            emit DepositMigrated(start + i, user, token, amount);
        }
        _endBatch(commitment, start + records.length);

        // ETH is listed first (at initialize): its sum arrives as the value, the rest is pulled.
        if (msg.value != sums[0]) revert EthMismatch(sums[0], msg.value);
        for (uint256 t = 0; t < tokenList.length; ++t) {
            uint256 sum = sums[t];
            if (sum == 0) continue;
            address token = tokenList[t];
            $.totalFree[token] += sum;
            if (t != 0) IERC20(token).safeTransferFrom(msg.sender, address(this), sum);
        }
    }

    /// @dev The position of `token` in `tokenList`, which holds it (an absent token runs past
    /// the end and reverts with an array bounds panic).
    function _indexOf(address[] memory tokenList, address token) private pure returns (uint256 t) {
        while (tokenList[t] != token) ++t;
    }

    function _credit(address user, address token, uint256 amount) private {
        PaymentEscrowStorage storage $ = _s();
        $.balances[user][token] += amount;
        $.totalFree[token] += amount;
    }

    /**
     * @dev Adds `amount` credits expiring at `expiresAt` to `user`'s bucket and returns the bucket.
     * An expired remainder is swept to the pool first, so a new grant never revives it; a live one
     * keeps its amount and the bucket takes the later expiry.
     */
    function _addCredits(
        address user,
        address token,
        uint256 amount,
        uint64 expiresAt
    ) private returns (CreditBucket memory bucket) {
        PaymentEscrowStorage storage $ = _s();
        bucket = $.credits[user][token];
        if (bucket.amount != 0 && block.timestamp > bucket.expiresAt) {
            _sweepCredits(user, token, bucket.amount);
            bucket.amount = 0;
        }
        // An empty bucket takes the new expiry even if an earlier one was later.
        if (bucket.amount == 0 || expiresAt > bucket.expiresAt) bucket.expiresAt = expiresAt;
        bucket.amount = (bucket.amount + amount).toUint192();
        $.credits[user][token] = bucket;
        $.totalCredits[token] += amount;
    }

    /// @dev Moves `user`'s `amount` credits in `token` (its whole, expired bucket) to the pool.
    function _sweepCredits(address user, address token, uint256 amount) private {
        PaymentEscrowStorage storage $ = _s();
        delete $.credits[user][token];
        $.totalCredits[token] -= amount;
        $.creditPool[token] += amount;
        emit CreditsExpired(user, token, amount);
    }

    /**
     * @dev Splits job `jobId`'s released lock: its credit part pays `hostAmount` first, and the
     * unspent credits go back to `payer`'s credits (while live) or to the pool. Returns the cash
     * part of `refunded` (the lock less `hostAmount`), which the caller credits to the payer.
     * One SLOAD for a lock without credits.
     */
    function _releaseCredits(
        uint256 jobId,
        address payer,
        address token,
        uint256 hostAmount,
        uint256 refunded
    ) private returns (uint256 cashRefunded) {
        PaymentEscrowStorage storage $ = _s();
        CreditLock memory part = $.creditLocks[jobId];
        if (part.amount == 0) return refunded;
        delete $.creditLocks[jobId];
        uint256 spent = Math.min(part.amount, hostAmount);
        uint256 unspent = part.amount - spent;
        uint256 toPool = 0;
        if (unspent != 0) {
            if (block.timestamp <= part.expiresAt) {
                _addCredits(payer, token, unspent, part.expiresAt);
            } else {
                toPool = unspent;
                $.creditPool[token] += unspent;
            }
        }
        emit CreditsReleased(jobId, payer, token, spent, unspent - toPool, toPool);
        return refunded - unspent;
    }

    function _takeLock(uint256 jobId) private returns (address payer, address token, uint256 amount) {
        PaymentEscrowStorage storage $ = _s();
        JobLock storage lock = $.locks[jobId];
        (payer, token, amount) = (lock.payer, lock.payment.token, lock.payment.amount);
        if (amount == 0) revert JobNotLocked(jobId);
        delete $.locks[jobId];
        // The amount is credited back to free balances by the caller.
        $.totalLocked[token] -= amount;
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

    // ---------------------------------------------------------------- migration lifecycle

    /// @dev Every listed token: each may hold migrated balances.
    function _migrationTokens() internal view override returns (address[] memory) {
        return _s().tokens;
    }

    /// @dev What the escrow owes in `token`: free balances plus locks. The credit pool and credits
    /// are not counted: they can exist only after finalize (`fundCreditPool` is `whenMigrated`).
    function _migratedFunds(address token) internal view override returns (uint256) {
        return _s().totalFree[token] + _s().totalLocked[token];
    }
}
