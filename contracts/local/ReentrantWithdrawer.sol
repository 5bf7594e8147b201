// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPaymentEscrowV1} from "../interfaces/IPaymentEscrowV1.sol";

/**
 * @title ReentrantWithdrawer
 * @notice Test-only attacker: holds an ETH balance in the escrow and, when the escrow pays it
 * on `withdraw`, re-enters `withdraw` from `receive` to try to take the same amount again.
 * Never deploy it outside tests.
 */
contract ReentrantWithdrawer {
    /// @notice The escrow under attack.
    IPaymentEscrowV1 public immutable escrow;
    /// @notice When true, a failed re-entry is caught so the outer withdrawal may finish;
    /// when false, it bubbles up and reverts the outer withdrawal.
    bool public swallowReentryFailure;
    /// @notice How many times `receive` tried to re-enter the escrow.
    uint256 public reentryAttempts;
    /// @notice The revert data of the last caught re-entry.
    bytes public lastReentryError;

    /// @param escrow_ The escrow to attack.
    constructor(IPaymentEscrowV1 escrow_) {
        escrow = escrow_;
    }

    /// @notice Deposits the ETH sent into the escrow under this contract's name.
    function deposit() external payable {
        escrow.deposit{value: msg.value}(address(0), msg.value);
    }

    /// @notice Withdraws `amount` of ETH, re-entering from `receive`.
    /// @param amount The ETH to withdraw (and to try again on re-entry).
    /// @param swallow Whether to catch a failed re-entry (see `swallowReentryFailure`).
    function withdraw(uint256 amount, bool swallow) external {
        swallowReentryFailure = swallow;
        escrow.withdraw(address(0), amount);
    }

    /// @notice Re-enters `withdraw` for the amount just received. Against a vulnerable escrow
    /// this would recurse until the escrow is drained; the escrow must make it fail instead.
    // solhint-disable-next-line no-complex-fallback
    receive() external payable {
        ++reentryAttempts;
        if (swallowReentryFailure) {
            try escrow.withdraw(address(0), msg.value) {} catch (bytes memory reason) {
                lastReentryError = reason;
            }
        } else {
            escrow.withdraw(address(0), msg.value);
        }
    }
}
