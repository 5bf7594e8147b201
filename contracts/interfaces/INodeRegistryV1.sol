// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/**
 * @title INodeRegistryV1
 * @notice The V1 node registry as deployed: hosts stake ETH to register a GPU node that serves
 * a list of models in a region; the marketplace moves their reputation; a slasher can take
 * stake for misbehaviour.
 */
interface INodeRegistryV1 {
    /// @notice A registered GPU node, keyed by its operator. The layout is the deployed one;
    /// V2 packs it, which is why the migration copies state instead of upgrading in place.
    // solhint-disable-next-line gas-struct-packing
    struct Node {
        address operator;
        string peerId;
        uint256 stake;
        bool active;
        string[] models;
        string region;
        uint64 registeredAt;
        /// @dev Zero unless the operator asked to leave; then the time of that request.
        uint64 unstakeRequestedAt;
    }

    event NodeRegistered(address indexed operator, string peerId, uint256 stake, string[] models, string region);
    event StakeAdded(address indexed operator, uint256 amount, uint256 newStake);
    event ModelsUpdated(address indexed operator, string[] models);
    event RegionUpdated(address indexed operator, string region);
    event UnstakeRequested(address indexed operator, uint256 availableAt);
    event UnstakeCancelled(address indexed operator);
    event StakeWithdrawn(address indexed operator, uint256 amount);
    event NodeSlashed(address indexed operator, uint256 amount, string reason);
    event ReputationChanged(address indexed operator, uint256 oldReputation, uint256 newReputation);
    event MinimumStakeChanged(uint256 oldMinimum, uint256 newMinimum);
    event UnstakeCooldownChanged(uint256 oldCooldown, uint256 newCooldown);
    event TreasuryChanged(address oldTreasury, address newTreasury);

    /// @dev `operator` already has a node; update it instead of registering again.
    error NodeAlreadyRegistered(address operator);
    /// @dev `operator` has no node.
    error NodeNotRegistered(address operator);
    /// @dev The stake sent (`sent`) is below the registry's minimum (`minimum`).
    error StakeBelowMinimum(uint256 sent, uint256 minimum);
    /// @dev A call that needs value was made with none.
    error ZeroAmount();
    /// @dev The peer id is empty or longer than `maxLength` bytes.
    error InvalidPeerId(uint256 length, uint256 maxLength);
    /// @dev The region is longer than `maxLength` bytes.
    error InvalidRegion(uint256 length, uint256 maxLength);
    /// @dev More than `maxModels` models.
    error InvalidModels(uint256 count, uint256 maxModels);
    /// @dev Model name number `index` is empty or longer than `maxLength` bytes.
    error InvalidModelName(uint256 index, uint256 length, uint256 maxLength);
    /// @dev The node is leaving: cancel the unstake request first, or wait for the cooldown.
    error UnstakePending(address operator);
    /// @dev The node has not asked to leave: call `requestUnstake` first.
    error UnstakeNotRequested(address operator);
    /// @dev The cooldown runs until `availableAt`.
    error CooldownNotElapsed(uint256 availableAt);
    /// @dev Slashing `amount` exceeds the node's stake `stake`.
    error SlashExceedsStake(uint256 amount, uint256 stake);

    /// @notice Registers the caller's node with the ETH sent as stake.
    function registerNode(string calldata peerId, string[] calldata models, string calldata region) external payable;

    /// @notice Adds the ETH sent to the caller's stake; reactivates a node that was slashed
    /// below the minimum once the stake reaches it again (unless the node is leaving).
    function addStake() external payable;

    /// @notice Replaces the list of models the caller's node serves.
    function updateModels(string[] calldata models) external;

    /// @notice Changes the caller's region.
    function updateRegion(string calldata region) external;

    /// @notice Deactivates the caller's node and starts the unstake cooldown.
    function requestUnstake() external;

    /// @notice Reactivates the caller's node and stops the cooldown.
    function cancelUnstake() external;

    /// @notice After the cooldown, pays the whole stake back and removes the node.
    function withdrawStake() external;

    /// @notice Takes `amount` of `operator`'s stake to the treasury.
    function slash(address operator, uint256 amount, string calldata reason) external;

    /// @notice Raises `operator`'s reputation by `amount`, capped at the maximum.
    function increaseReputation(address operator, uint256 amount) external;

    /// @notice Lowers `operator`'s reputation by `amount`, floored at zero.
    function decreaseReputation(address operator, uint256 amount) external;

    /// @notice The node of `operator` (all fields zero when none).
    function getNode(address operator) external view returns (Node memory);

    /// @notice Whether `operator` has a node, whatever its state.
    function isRegistered(address operator) external view returns (bool);

    /// @notice Whether `operator` has an active node that may take jobs.
    function isActiveNode(address operator) external view returns (bool);

    /// @notice Whether `operator`'s node lists the model `modelId`.
    function supportsModel(address operator, string calldata modelId) external view returns (bool);

    /// @notice The reputation of `operator`.
    function reputationOf(address operator) external view returns (uint256);

    /// @notice How many nodes are registered.
    function nodeCount() external view returns (uint256);

    /// @notice Up to `limit` nodes from position `offset`, with their reputations.
    function getNodesPage(
        uint256 offset,
        uint256 limit
    ) external view returns (Node[] memory nodes, uint256[] memory reputations);

    /// @notice The sum of all stakes the registry owes.
    function totalStaked() external view returns (uint256);

    /// @notice The smallest stake a node may register with.
    function minimumStake() external view returns (uint256);

    /// @notice How long a node waits between `requestUnstake` and `withdrawStake`.
    function unstakeCooldown() external view returns (uint256);

    /// @notice Where slashed stake goes.
    function treasury() external view returns (address);
}
