// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Votes} from "@openzeppelin/contracts/governance/utils/Votes.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

/**
 * @title FabstirVotes
 * @notice The FAB votes token for local and test networks (real networks use the existing FAB
 * token, whose address comes from configuration). Voting power is delegated, checkpointed by
 * timestamp, and delegable by signature; approvals can be given by EIP-2612 permit.
 * @dev The clock is the block timestamp (ERC-6372 `mode=timestamp`): on Base, blocks come every
 * 2 s, so voting delays and periods read better in seconds than in blocks.
 */
contract FabstirVotes is ERC20, ERC20Permit, ERC20Votes {
    /**
     * @param holder Receives the whole supply (and may delegate it, to itself or to others).
     * @param supply The fixed supply, in wei of FAB (18 decimals).
     */
    constructor(address holder, uint256 supply) ERC20("Fabstir", "FAB") ERC20Permit("Fabstir") {
        _mint(holder, supply);
    }

    /// @inheritdoc Votes
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @inheritdoc Votes
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
