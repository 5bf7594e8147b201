// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IPaymentEscrowV2} from "../../interfaces/IPaymentEscrowV2.sol";
import {PaymentEscrowV2} from "../../v2/PaymentEscrowV2.sol";
import {PaymentEscrowV1Storage} from "../../v1/storage/PaymentEscrowV1Storage.sol";
import {V1Adapter} from "../base/V1Adapter.sol";

/**
 * @title PaymentEscrowShapes
 * @notice The hand-written converters the PaymentEscrow mapping (adapters/PaymentEscrow.json)
 * names: deposits through `depositFor`, V2's packed locks in V1's shape, V1's fee split.
 * @dev Inherits V1's storage base so the adapter keeps V1's namespace declared; nothing here
 * reads or writes it. Funds never rest here: a deposit is pulled and passed on in one call.
 */
abstract contract PaymentEscrowShapes is V1Adapter, PaymentEscrowV1Storage {
    using SafeERC20 for IERC20;

    /**
     * @dev V1.1's migration namespace, declared (never used) so the upgrade from V1.1 validates:
     * the same layout as `PaymentEscrowV1_1`'s, which the cut-over's validation compares.
     * @custom:storage-location erc7201:fabstir.storage.PaymentEscrowV1_1
     */
    struct MigrationOutStorage {
        IPaymentEscrowV2 target;
        uint64 userCursor;
        uint64[] batchUserStarts;
    }

    /// @dev V1's fee denominator (100% in basis points).
    uint256 private constant V1_BPS_DENOMINATOR = 10_000;

    /// @dev `token` delivered `received` of the `sent` amount: fee-on-transfer tokens are refused,
    /// as V1 refused to list them (its accounting, and V2's, assume plain ERC-20s).
    error UnsupportedFeeOnTransfer(address token, uint256 sent, uint256 received);

    /// @dev The V2 escrow this adapter forwards to.
    function _escrow() internal view returns (PaymentEscrowV2) {
        return PaymentEscrowV2(_target());
    }

    /**
     * @dev V1's `deposit`: V1's checks and errors first (`TokenNotAllowed`, then
     * `InvalidAmount(amount, msg.value)`), then the user is credited in V2 through `depositFor`.
     * ETH goes on as value. An ERC-20 is pulled from the user (who approved the V1 escrow, this
     * proxy) and approved to V2, which pulls it in the same call: nothing stays here. A token
     * that delivers less than `amount` is refused (`UnsupportedFeeOnTransfer`).
     */
    function _deposit(address token, uint256 amount) internal {
        PaymentEscrowV2 escrow = _escrow();
        if (!escrow.isTokenAllowed(token)) revert TokenNotAllowed(token);
        if (amount == 0 || msg.value != (token == address(0) ? amount : 0)) revert InvalidAmount(amount, msg.value);
        if (token == address(0)) {
            escrow.depositFor{value: msg.value}(msg.sender, token, amount);
            return;
        }
        IERC20 erc20 = IERC20(token);
        uint256 before = erc20.balanceOf(address(this));
        erc20.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = erc20.balanceOf(address(this)) - before;
        if (received != amount) revert UnsupportedFeeOnTransfer(token, amount, received);
        erc20.forceApprove(address(escrow), amount);
        escrow.depositFor(msg.sender, token, amount);
    }

    /// @dev V2's lock of `jobId` (zero when none), read before a settlement removes it.
    function _lockOf(uint256 jobId) internal view returns (IPaymentEscrowV2.JobLock memory) {
        return _escrow().lockOf(jobId);
    }

    /// @dev V1's fee on a release of `amount`: `amount * feeBps / 10_000`, rounded down, as V2's.
    function _feeOn(uint256 amount) internal view returns (uint256) {
        return Math.mulDiv(amount, _escrow().feeBps(), V1_BPS_DENOMINATOR);
    }

    /// @dev V2's `{ payer, { token, amount } }` as V1's flat `JobLock` (all zero when none).
    function _toV1Lock(IPaymentEscrowV2.JobLock memory lock) internal pure returns (JobLock memory) {
        return JobLock({payer: lock.payer, token: lock.payment.token, amount: lock.payment.amount});
    }

    /// @dev V1's `balancesOf`: the free balance of `user` in every listed token, in `tokens()` order.
    function _balancesOf(address user) internal view returns (address[] memory tokenList, uint256[] memory amounts) {
        PaymentEscrowV2 escrow = _escrow();
        tokenList = escrow.tokens();
        amounts = new uint256[](tokenList.length);
        for (uint256 i = 0; i < tokenList.length; ++i) amounts[i] = escrow.balanceOf(user, tokenList[i]);
    }
}
