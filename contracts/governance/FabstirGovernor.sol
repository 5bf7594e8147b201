// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorPreventLateQuorum} from "@openzeppelin/contracts/governance/extensions/GovernorPreventLateQuorum.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/**
 * @title FabstirGovernor
 * @notice FAB holders' Governor: proposals are voted with FAB voting power (for, against,
 * abstain), need a quorum fraction of the supply, and run through the TimelockController, which
 * holds the protocol's admin and upgrade roles. Upgrades and migration steps are proposals built
 * by `npx hardhat upgrade:propose` and rehearsed by `npx hardhat upgrade:simulate`.
 * @dev Not upgradeable on purpose: the Governor decides upgrades, and replacing it is itself a
 * proposal (the timelock grants its roles to a new Governor). A description ending in
 * `#proposer=<address>` can only be proposed by that address (OpenZeppelin's front-running guard).
 * A vote that first reaches the quorum less than `lateQuorumVoteExtension()` before the deadline
 * pushes the deadline to that long after the vote (GovernorPreventLateQuorum): a large holder
 * cannot swing an upgrade in the last block, when nobody is left the time to vote against it.
 * Read the deadline from `proposalDeadline`, never as snapshot + voting period.
 */
contract FabstirGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl,
    GovernorPreventLateQuorum
{
    /**
     * @param token The FAB votes token; its clock (block number or timestamp) sets the unit of
     * `votingDelay` and `votingPeriod`.
     * @param timelock The TimelockController that executes passed proposals.
     * @param votingDelay Clock units between a proposal and the start of its vote.
     * @param votingPeriod Clock units the vote lasts.
     * @param threshold Votes an account needs to propose.
     * @param quorumPercent Percent of the supply at the vote's start that must vote for or abstain.
     * @param voteExtension Clock units the vote stays open at least after the vote that reaches the
     * quorum; at most `votingPeriod` (OpenZeppelin's bound, checked here: GovernorPreventLateQuorum
     * comes after GovernorSettings in the inheritance list, so the voting period is set first).
     */
    constructor(
        IVotes token,
        TimelockController timelock,
        uint48 votingDelay,
        uint32 votingPeriod,
        uint256 threshold,
        uint256 quorumPercent,
        uint48 voteExtension
    )
        Governor("FabstirGovernor")
        GovernorSettings(votingDelay, votingPeriod, threshold)
        GovernorVotes(token)
        GovernorVotesQuorumFraction(quorumPercent)
        GovernorTimelockControl(timelock)
        GovernorPreventLateQuorum(voteExtension)
    {}

    /// @inheritdoc Governor
    function state(uint256 proposalId) public view override(Governor, GovernorTimelockControl) returns (ProposalState) {
        return super.state(proposalId);
    }

    /// @inheritdoc Governor
    function proposalNeedsQueuing(
        uint256 proposalId
    ) public view override(Governor, GovernorTimelockControl) returns (bool) {
        return super.proposalNeedsQueuing(proposalId);
    }

    /// @inheritdoc GovernorPreventLateQuorum
    function proposalDeadline(
        uint256 proposalId
    ) public view override(Governor, GovernorPreventLateQuorum) returns (uint256) {
        return super.proposalDeadline(proposalId);
    }

    /// @inheritdoc Governor
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function _tallyUpdated(uint256 proposalId) internal override(Governor, GovernorPreventLateQuorum) {
        super._tallyUpdated(proposalId);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
