// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {PaymentEscrowV1} from "../v1/PaymentEscrowV1.sol";

/**
 * @title GuideEscrowV1_1
 * @notice FOR THE BENCHMARK ONLY (`npm run bench`): never deploy it. It models the migration
 * guide's approach to escrow: the operator withdraws each user's balance in one token to its own
 * wallet, then deposits it into V2 with `migrateDeposit`: two transactions per balance, with the
 * funds passing through an externally owned account between them. That is the unsafe pattern the
 * toolkit avoids (`PaymentEscrowV1_1` pushes balances and funds to V2 in one call); it exists so
 * the benchmark can measure the guide's cost honestly on the same state.
 * @dev Storage-compatible with V1 (it adds no storage). Installed over a paused V1 or V1.1 proxy.
 * @custom:oz-upgrades-unsafe-allow missing-initializer
 */
// solhint-disable-next-line contract-name-capwords
contract GuideEscrowV1_1 is PaymentEscrowV1 {
    using SafeERC20 for IERC20;

    /// @notice May withdraw users' balances for the migration (the migration operator).
    bytes32 public constant MIGRATOR_ROLE = keccak256("MIGRATOR_ROLE");

    /// @notice `amount` of `user`'s `token` balance went to the operator `to`, to be migrated.
    event WithdrawnForMigration(address indexed user, address indexed token, uint256 amount, address indexed to);

    /// @dev `user` holds no free balance of `token`: there is nothing to move.
    error NothingToWithdraw(address user, address token);

    /// @inheritdoc PaymentEscrowV1
    function version() external pure override returns (string memory) {
        return "1.1.0-guide";
    }

    /**
     * @notice Sends `user`'s whole free balance of `token` to the caller (the operator) and
     * removes it from V1's accounting, as the migration guide's first transaction per balance.
     * @dev `MIGRATOR_ROLE`, V1 paused. Reverts with `NothingToWithdraw` on a zero balance.
     * @param user The balance's owner.
     * @param token The token (`address(0)` for ETH).
     * @return amount What was sent to the caller.
     */
    function withdrawForMigration(
        address user,
        address token
    ) external onlyRole(MIGRATOR_ROLE) whenPaused nonReentrant returns (uint256 amount) {
        PaymentEscrowStorage storage $ = _s();
        amount = $.balances[user][token];
        if (amount == 0) revert NothingToWithdraw(user, token);
        $.balances[user][token] = 0;
        $.totalFree[token] -= amount;
        emit WithdrawnForMigration(user, token, amount, msg.sender);
        if (token == ETH) Address.sendValue(payable(msg.sender), amount);
        else IERC20(token).safeTransfer(msg.sender, amount);
    }
}
