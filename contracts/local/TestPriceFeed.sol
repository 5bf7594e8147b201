// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";

/**
 * @title TestPriceFeed
 * @notice A settable AggregatorV3 feed for local chains and tests: anyone may set any round, so
 * stale, future, non-positive and incomplete rounds can be produced on purpose. Never deploy it
 * where it could be mistaken for a real feed.
 */
contract TestPriceFeed is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
        uint80 answeredInRound;
    }

    /// @notice A round that was never set.
    error NoDataPresent(uint80 roundId);

    /// @notice Round `roundId` was set.
    event RoundSet(uint80 indexed roundId, int256 answer, uint256 updatedAt, uint80 answeredInRound);

    uint8 private _decimals;
    string private _description;
    uint80 private _latest;
    mapping(uint80 roundId => Round) private _rounds;

    constructor(uint8 decimals_, string memory description_) {
        _decimals = decimals_;
        _description = description_;
    }

    // ------ setters

    /**
     * @notice Sets round `roundId` and makes it the latest one.
     * @param roundId The round's id.
     * @param answer The price, with `decimals()` decimals.
     * @param updatedAt When the answer was last updated (unix seconds); also used as startedAt.
     * @param answeredInRound The round the answer was computed in (below `roundId`: an incomplete round).
     */
    function setRound(uint80 roundId, int256 answer, uint256 updatedAt, uint80 answeredInRound) external {
        _rounds[roundId] = Round(answer, updatedAt, updatedAt, answeredInRound);
        _latest = roundId;
        emit RoundSet(roundId, answer, updatedAt, answeredInRound);
    }

    /**
     * @notice Changes the `startedAt` of a round already set (uptime feeds report when the status
     * changed there, and an invalid round reports 0).
     */
    function setStartedAt(uint80 roundId, uint256 startedAt) external {
        _rounds[roundId].startedAt = startedAt;
    }

    /// @notice Changes `decimals()` (a feed's decimals never change; this exists to test readers).
    function setDecimals(uint8 decimals_) external {
        _decimals = decimals_;
    }

    // ------ AggregatorV3Interface

    /// @inheritdoc AggregatorV3Interface
    function decimals() external view returns (uint8) {
        return _decimals;
    }

    /// @inheritdoc AggregatorV3Interface
    function description() external view returns (string memory) {
        return _description;
    }

    /// @inheritdoc AggregatorV3Interface
    function version() external pure returns (uint256) {
        return 4;
    }

    /// @inheritdoc AggregatorV3Interface
    function getRoundData(uint80 roundId) public view returns (uint80, int256, uint256, uint256, uint80) {
        Round storage round = _rounds[roundId];
        if (round.updatedAt == 0) revert NoDataPresent(roundId);
        return (roundId, round.answer, round.startedAt, round.updatedAt, round.answeredInRound);
    }

    /// @inheritdoc AggregatorV3Interface
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return getRoundData(_latest);
    }
}
