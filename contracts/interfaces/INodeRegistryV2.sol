// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {NodeRecord} from "../migration/MigrationRecords.sol";

/**
 * @title INodeRegistryV2
 * @notice The V2 node registry: V1's hosts, stakes, reputation and unstake cooldown, in a packed
 * layout (operator and stake share a slot; times, reputation, status and position share
 * another), models named by `bytes32` ids from a permissionless name registry, and a capability
 * V1 lacks: each host sets its price per token for each model it serves.
 */
interface INodeRegistryV2 {
    /// @notice `Unregistered` (zero) marks an operator without a node.
    enum NodeStatus {
        Unregistered,
        Active,
        Inactive
    }

    /// @notice A node as stored: two fixed slots plus its strings and model list.
    // solhint-disable-next-line gas-struct-packing
    struct Node {
        address operator;
        uint96 stake;
        uint64 registeredAt;
        /// @dev Zero unless the operator asked to leave; then the time of that request.
        uint64 unstakeRequestedAt;
        uint16 reputation;
        NodeStatus status;
        /// @dev Position in the operator list.
        uint32 index;
        string peerId;
        string region;
        bytes32[] models;
    }

    event ModelRegistered(bytes32 indexed modelId, string name);
    event NodeRegistered(address indexed operator, string peerId, uint256 stake, bytes32[] models, string region);
    event NodeMigrated(uint256 indexed index, address indexed operator, uint256 stake);
    event NodesReturned(uint256 start, uint256 end, uint256 stake);
    event StakeAdded(address indexed operator, uint256 amount, uint256 newStake);
    event ModelsUpdated(address indexed operator, bytes32[] models);
    event RegionUpdated(address indexed operator, string region);
    event ModelPriceSet(address indexed operator, bytes32 indexed modelId, uint256 pricePerToken);
    event UnstakeRequested(address indexed operator, uint256 availableAt);
    event UnstakeCancelled(address indexed operator);
    event StakeWithdrawn(address indexed operator, uint256 amount);
    event NodeSlashed(address indexed operator, uint256 amount, string reason);
    event ReputationChanged(address indexed operator, uint256 oldReputation, uint256 newReputation);
    event MinimumStakeChanged(uint256 oldMinimum, uint256 newMinimum);
    event UnstakeCooldownChanged(uint256 oldCooldown, uint256 newCooldown);
    event TreasuryChanged(address oldTreasury, address newTreasury);

    error NodeAlreadyRegistered(address operator);
    error NodeNotRegistered(address operator);
    error StakeBelowMinimum(uint256 sent, uint256 minimum);
    error ZeroAmount();
    error InvalidPeerId(uint256 length, uint256 maxLength);
    error InvalidRegion(uint256 length, uint256 maxLength);
    error InvalidModels(uint256 count, uint256 maxModels);
    /// @dev A model name is empty or longer than `maxLength` bytes.
    error InvalidModelName(uint256 length, uint256 maxLength);
    /// @dev No name was registered for `modelId`: call `registerModel(name)` first.
    error UnknownModel(bytes32 modelId);
    /// @dev `operator`'s node does not serve `modelId`.
    error ModelNotServed(address operator, bytes32 modelId);
    error UnstakePending(address operator);
    error UnstakeNotRequested(address operator);
    error CooldownNotElapsed(uint256 availableAt);
    error SlashExceedsStake(uint256 amount, uint256 stake);
    /// @dev A migrated record's reputation `reputation` is above `maximum`.
    error InvalidReputation(uint256 reputation, uint256 maximum);
    /// @dev The ETH sent (`received`) differs from the stakes of the batch (`expected`).
    error StakeMismatch(uint256 expected, uint256 received);

    // ------------------------------------------------------------ model names (permissionless)

    /// @notice Registers `name` (1 to 128 bytes) and returns its id `keccak256(bytes(name))`.
    /// Registering a known name is a no-op.
    function registerModel(string calldata name) external returns (bytes32 modelId);

    /// @notice Registers each of `names`; see `registerModel`.
    function registerModels(string[] calldata names) external;

    /// @notice The name of `modelId` (empty when unknown).
    function modelName(bytes32 modelId) external view returns (string memory);

    // ------------------------------------------------------------ hosts (after the migration)

    /// @notice Registers the caller's node with the ETH sent as stake; every model must be known.
    function registerNode(string calldata peerId, bytes32[] calldata models, string calldata region) external payable;

    /// @notice Adds the ETH sent to the caller's stake; reactivates a node slashed below the
    /// minimum once its stake reaches it again (unless the node is leaving).
    function addStake() external payable;

    /// @notice Replaces the caller's models; prices of models no longer served are cleared.
    function updateModels(bytes32[] calldata models) external;

    /// @notice Changes the caller's region.
    function updateRegion(string calldata region) external;

    /// @notice Sets the caller's price per token, in wei of the job's payment token, for a
    /// model its node serves. Zero withdraws the offer.
    function setModelPrice(bytes32 modelId, uint256 pricePerToken) external;

    /// @notice Deactivates the caller's node and starts the unstake cooldown.
    function requestUnstake() external;

    /// @notice Reactivates the caller's node and stops the cooldown.
    function cancelUnstake() external;

    /// @notice After the cooldown, pays the whole stake back and removes the node.
    function withdrawStake() external;

    // ------------------------------------------------------------ roles

    /// @notice Takes `amount` of `operator`'s stake to the treasury (`SLASHER_ROLE`).
    function slash(address operator, uint256 amount, string calldata reason) external;

    /// @notice Raises reputation, capped at the maximum (`REPUTATION_ROLE`).
    function increaseReputation(address operator, uint256 amount) external;

    /// @notice Lowers reputation, floored at zero (`REPUTATION_ROLE`).
    function decreaseReputation(address operator, uint256 amount) external;

    // ------------------------------------------------------------ migration

    /**
     * @notice Imports V1 nodes `[expectedCursor, expectedCursor + records.length)` with their
     * reputation; the sum of their stakes must arrive as `msg.value` in the same call.
     * Every model id must already be registered. `MIGRATOR_ROLE`, while migrating.
     */
    function batchMigrateNodes(uint256 expectedCursor, NodeRecord[] calldata records) external payable;

    /**
     * @notice Removes the last imported batch and sends its stakes back to the caller, which
     * must be the batch's sender. Returns the operators and stakes it removed, in order.
     */
    function returnLastBatch() external returns (address[] memory operators, uint256[] memory stakes);

    // ------------------------------------------------------------ views

    function getNode(address operator) external view returns (Node memory);

    function isRegistered(address operator) external view returns (bool);

    function isActiveNode(address operator) external view returns (bool);

    function supportsModel(address operator, bytes32 modelId) external view returns (bool);

    /// @notice `operator`'s price per token for `modelId` (zero when it offers none).
    function priceOf(address operator, bytes32 modelId) external view returns (uint256);

    function reputationOf(address operator) external view returns (uint256);

    function nodeCount() external view returns (uint256);

    /// @notice Up to `limit` nodes from position `offset`.
    function getNodesPage(uint256 offset, uint256 limit) external view returns (Node[] memory);

    function totalStaked() external view returns (uint256);

    function minimumStake() external view returns (uint256);

    function unstakeCooldown() external view returns (uint256);

    function treasury() external view returns (address);
}
