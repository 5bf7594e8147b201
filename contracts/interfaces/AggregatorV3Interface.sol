// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title AggregatorV3Interface
 * @notice The read side of a Chainlink data feed (e.g. ETH / USD), as `platform:import --price-feed`
 * reads it. Written from Chainlink's published interface; only the functions a reader calls.
 */
// solhint-disable-next-line interface-starts-with-i
interface AggregatorV3Interface {
    /// @notice How many decimals `answer` has (8 for Chainlink's USD feeds).
    function decimals() external view returns (uint8);

    /// @notice What the feed prices, e.g. "ETH / USD".
    function description() external view returns (string memory);

    /// @notice The aggregator's version.
    function version() external view returns (uint256);

    /// @notice A past round: its answer and times. Reverts when the round has no data.
    function getRoundData(
        uint80 roundId
    )
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice The latest round: its answer and times.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
