// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {GovernedUpgradeable} from "../common/GovernedUpgradeable.sol";
import {PageBounds} from "../common/PageBounds.sol";
import {INodeRegistryV2} from "../interfaces/INodeRegistryV2.sol";
import {MigrationLifecycle} from "../migration/MigrationLifecycle.sol";
import {MigrationRecords, NodeRecord} from "../migration/MigrationRecords.sol";

/**
 * @title NodeRegistryV2
 * @notice V1's node registry in a packed layout: operator and stake share a slot, times,
 * reputation, status and position share another, and models are `bytes32` ids whose names live
 * in a permissionless registry. Hosts also set a price per token for each model they serve.
 * V1's nodes arrive through `batchMigrateNodes` with their stakes; until `finalizeMigration`
 * every host and role function reverts, so nothing moves migrated funds or records early.
 * @dev The registry's ETH balance always covers `totalStaked()`: stake arrives with its node
 * (registration, top-up or migration) and leaves only through `withdrawStake` (to its operator),
 * `slash` (to the treasury) or `returnLastBatch` (to the batch's sender), each lowering the
 * total first.
 */
contract NodeRegistryV2 is INodeRegistryV2, MigrationLifecycle, ReentrancyGuardTransient {
    /// @notice May slash stake (a dispute resolver or the timelock).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @notice May change reputation (the job marketplace).
    bytes32 public constant REPUTATION_ROLE = keccak256("REPUTATION_ROLE");

    /// @notice Reputation a new node starts with.
    uint256 public constant INITIAL_REPUTATION = 100;
    /// @notice Reputation never rises above this.
    uint256 public constant MAX_REPUTATION = 1000;
    /// @notice A node lists at most this many models.
    uint256 public constant MAX_MODELS = 32;
    /// @notice Longest peer id, model name and region, in bytes.
    uint256 public constant MAX_PEER_ID_LENGTH = 256;
    uint256 public constant MAX_MODEL_NAME_LENGTH = 128;
    uint256 public constant MAX_REGION_LENGTH = 64;
    /// @notice Bounds on what the admin may set.
    uint256 public constant MAX_MINIMUM_STAKE = 1000 ether;
    uint256 public constant MAX_UNSTAKE_COOLDOWN = 90 days;

    /// @custom:storage-location erc7201:fabstir.storage.NodeRegistryV2
    struct NodeRegistryV2Storage {
        /// @dev A node's position and reputation live in its packed record: no side mappings.
        mapping(address operator => Node) nodes;
        address[] operators;
        mapping(bytes32 modelId => string) modelNames;
        mapping(address operator => mapping(bytes32 modelId => uint256)) prices;
        uint256 totalStaked;
        uint256 minimumStake;
        uint256 unstakeCooldown;
        address treasury;
    }

    // keccak256(abi.encode(uint256(keccak256("fabstir.storage.NodeRegistryV2")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_LOCATION = 0x9aaab5caf3e23a37d03c28a462d3fe8b483e0d25bf59ff7fa45fbe76b2cabf00;

    function _s() private pure returns (NodeRegistryV2Storage storage $) {
        assembly {
            $.slot := STORAGE_LOCATION
        }
    }

    /**
     * @notice Sets up the registry behind a proxy; the migration window opens now.
     * @param admin Receives the admin, upgrader and pauser roles (the timelock in production).
     * @param migrator Receives `MIGRATOR_ROLE` (none when zero; the admin may grant it later).
     * @param treasury_ Where slashed stake goes.
     * @param minimumStake_ The smallest stake a node may register with, in wei.
     * @param unstakeCooldown_ Seconds between `requestUnstake` and `withdrawStake`.
     */
    function initialize(
        address admin,
        address migrator,
        address treasury_,
        uint256 minimumStake_,
        uint256 unstakeCooldown_
    ) external initializer {
        __GovernedUpgradeable_init(admin);
        __MigrationLifecycle_init(migrator);
        _setTreasury(treasury_);
        _setMinimumStake(minimumStake_);
        _setUnstakeCooldown(unstakeCooldown_);
    }

    /// @inheritdoc GovernedUpgradeable
    function version() external pure override returns (string memory) {
        return "2.0.0";
    }

    // ---------------------------------------------------------------- model names

    /// @inheritdoc INodeRegistryV2
    function registerModel(string calldata name) public returns (bytes32 modelId) {
        uint256 length = bytes(name).length;
        if (length == 0 || length > MAX_MODEL_NAME_LENGTH) revert InvalidModelName(length, MAX_MODEL_NAME_LENGTH);
        modelId = keccak256(bytes(name));
        string storage stored = _s().modelNames[modelId];
        // A name's id is its hash, so a known id already holds this very name.
        if (bytes(stored).length == 0) {
            _s().modelNames[modelId] = name;
            emit ModelRegistered(modelId, name);
        }
    }

    /// @inheritdoc INodeRegistryV2
    function registerModels(string[] calldata names) external {
        for (uint256 i = 0; i < names.length; ++i) registerModel(names[i]);
    }

    // ---------------------------------------------------------------- hosts

    /// @inheritdoc INodeRegistryV2
    function registerNode(
        string calldata peerId,
        bytes32[] calldata models,
        string calldata region
    ) external payable whenMigrated whenNotPaused {
        address sender = _msgSender();
        NodeRegistryV2Storage storage $ = _s();
        Node storage node = $.nodes[sender];
        if (node.status != NodeStatus.Unregistered) revert NodeAlreadyRegistered(sender);
        if (msg.value < $.minimumStake) revert StakeBelowMinimum(msg.value, $.minimumStake);
        _checkPeerId(peerId);
        _checkModels(models);
        _checkRegion(region);

        node.operator = sender;
        node.stake = SafeCast.toUint96(msg.value);
        node.registeredAt = uint64(block.timestamp);
        node.reputation = uint16(INITIAL_REPUTATION);
        node.status = NodeStatus.Active;
        node.index = SafeCast.toUint32($.operators.length);
        node.peerId = peerId;
        node.region = region;
        node.models = models;

        $.operators.push(sender);
        $.totalStaked += msg.value;

        emit NodeRegistered(sender, peerId, msg.value, models, region);
    }

    /// @inheritdoc INodeRegistryV2
    function addStake() external payable whenMigrated whenNotPaused {
        address sender = _msgSender();
        if (msg.value == 0) revert ZeroAmount();
        NodeRegistryV2Storage storage $ = _s();
        Node storage node = _registeredNode(sender);
        uint256 stake = node.stake + msg.value;
        node.stake = SafeCast.toUint96(stake);
        $.totalStaked += msg.value;
        // A node slashed below the minimum serves again once topped up. A leaving node may top
        // up too, so that it can cancel its unstake after a slash.
        if (node.status == NodeStatus.Inactive && node.unstakeRequestedAt == 0 && stake >= $.minimumStake) {
            node.status = NodeStatus.Active;
        }
        emit StakeAdded(sender, msg.value, stake);
    }

    /// @inheritdoc INodeRegistryV2
    function updateModels(bytes32[] calldata models) external whenMigrated whenNotPaused {
        address sender = _msgSender();
        Node storage node = _registeredNode(sender);
        _checkModels(models);
        // A price is an offer for a model the node serves: dropping the model withdraws it.
        mapping(bytes32 => uint256) storage prices = _s().prices[sender];
        bytes32[] storage old = node.models;
        for (uint256 i = 0; i < old.length; ++i) {
            bytes32 modelId = old[i];
            if (!_contains(models, modelId)) delete prices[modelId];
        }
        node.models = models;
        emit ModelsUpdated(sender, models);
    }

    /// @inheritdoc INodeRegistryV2
    function updateRegion(string calldata region) external whenMigrated whenNotPaused {
        address sender = _msgSender();
        Node storage node = _registeredNode(sender);
        _checkRegion(region);
        node.region = region;
        emit RegionUpdated(sender, region);
    }

    /// @inheritdoc INodeRegistryV2
    function setModelPrice(bytes32 modelId, uint256 pricePerToken) external whenMigrated whenNotPaused {
        address sender = _msgSender();
        Node storage node = _registeredNode(sender);
        if (!_servesModel(node, modelId)) revert ModelNotServed(sender, modelId);
        _s().prices[sender][modelId] = pricePerToken;
        emit ModelPriceSet(sender, modelId, pricePerToken);
    }

    /// @inheritdoc INodeRegistryV2
    function requestUnstake() external whenMigrated whenNotPaused {
        address sender = _msgSender();
        Node storage node = _registeredNode(sender);
        if (node.unstakeRequestedAt != 0) revert UnstakePending(sender);
        node.status = NodeStatus.Inactive;
        node.unstakeRequestedAt = uint64(block.timestamp);
        emit UnstakeRequested(sender, block.timestamp + _s().unstakeCooldown);
    }

    /// @inheritdoc INodeRegistryV2
    function cancelUnstake() external whenMigrated whenNotPaused {
        address sender = _msgSender();
        NodeRegistryV2Storage storage $ = _s();
        Node storage node = _registeredNode(sender);
        if (node.unstakeRequestedAt == 0) revert UnstakeNotRequested(sender);
        // A node slashed below the minimum while leaving must top up before it serves again.
        if (node.stake < $.minimumStake) revert StakeBelowMinimum(node.stake, $.minimumStake);
        node.unstakeRequestedAt = 0;
        node.status = NodeStatus.Active;
        emit UnstakeCancelled(sender);
    }

    /// @inheritdoc INodeRegistryV2
    function withdrawStake() external whenMigrated whenNotPaused nonReentrant {
        address sender = _msgSender();
        NodeRegistryV2Storage storage $ = _s();
        Node storage node = _registeredNode(sender);
        if (node.unstakeRequestedAt == 0) revert UnstakeNotRequested(sender);
        uint256 availableAt = uint256(node.unstakeRequestedAt) + $.unstakeCooldown;
        if (block.timestamp < availableAt) revert CooldownNotElapsed(availableAt);

        uint256 amount = node.stake;
        $.totalStaked -= amount;
        _removeNode(sender, node);
        emit StakeWithdrawn(sender, amount);
        if (amount != 0) Address.sendValue(payable(sender), amount);
    }

    // ---------------------------------------------------------------- roles

    /// @inheritdoc INodeRegistryV2
    function slash(
        address operator,
        uint256 amount,
        string calldata reason
    ) external onlyRole(SLASHER_ROLE) whenMigrated nonReentrant {
        NodeRegistryV2Storage storage $ = _s();
        Node storage node = _registeredNode(operator);
        if (amount == 0) revert ZeroAmount();
        uint256 stake = node.stake;
        if (amount > stake) revert SlashExceedsStake(amount, stake);
        stake -= amount;
        node.stake = uint96(stake);
        $.totalStaked -= amount;
        // Below the minimum a node may not take jobs until it tops up and reactivates.
        if (stake < $.minimumStake && node.status == NodeStatus.Active) node.status = NodeStatus.Inactive;
        emit NodeSlashed(operator, amount, reason);
        Address.sendValue(payable($.treasury), amount);
    }

    /// @inheritdoc INodeRegistryV2
    function increaseReputation(address operator, uint256 amount) external onlyRole(REPUTATION_ROLE) whenMigrated {
        Node storage node = _registeredNode(operator);
        uint256 old = node.reputation;
        // Compared without adding first, so that any amount caps instead of overflowing.
        uint256 updated = amount >= MAX_REPUTATION - old ? MAX_REPUTATION : old + amount;
        node.reputation = uint16(updated);
        emit ReputationChanged(operator, old, updated);
    }

    /// @inheritdoc INodeRegistryV2
    function decreaseReputation(address operator, uint256 amount) external onlyRole(REPUTATION_ROLE) whenMigrated {
        Node storage node = _registeredNode(operator);
        uint256 old = node.reputation;
        uint256 updated = amount > old ? 0 : old - amount;
        node.reputation = uint16(updated);
        emit ReputationChanged(operator, old, updated);
    }

    /// @notice Sets the smallest stake a node may register with (1 wei to `MAX_MINIMUM_STAKE`).
    function setMinimumStake(uint256 minimumStake_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMinimumStake(minimumStake_);
    }

    /// @notice Sets the unstake cooldown in seconds (at most `MAX_UNSTAKE_COOLDOWN`).
    function setUnstakeCooldown(uint256 cooldown) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setUnstakeCooldown(cooldown);
    }

    /// @notice Sets where slashed stake goes.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(treasury_);
    }

    // ---------------------------------------------------------------- migration

    /// @inheritdoc INodeRegistryV2
    function batchMigrateNodes(uint256 expectedCursor, NodeRecord[] calldata records) external payable onlyMigrator {
        NodeRegistryV2Storage storage $ = _s();
        (bytes32 commitment, uint256 start) = _beginBatch(expectedCursor, records.length);
        address[] storage operators = $.operators;
        // Users cannot act while migrating, so the operator list holds exactly the migrated
        // nodes and position `start + i` is where record `i` lands.
        uint256 sum = 0;
        for (uint256 i = 0; i < records.length; ++i) {
            // One copy of the record (its strings included) serves the checks, the leaf and the
            // stores. The memory is reused for the next record: nothing here outlives the turn.
            uint256 freeMemory;
            assembly ("memory-safe") {
                freeMemory := mload(0x40)
            }
            NodeRecord memory record = records[i];
            address operator = record.operator;
            if (operator == address(0)) revert ZeroAddress();
            Node storage node = $.nodes[operator];
            // Registered nodes have a status: the per-record mark that stops a second import.
            if (node.status != NodeStatus.Unregistered) revert NodeAlreadyRegistered(operator);
            if (record.reputation > MAX_REPUTATION) revert InvalidReputation(record.reputation, MAX_REPUTATION);
            bytes32[] memory models = record.models;
            if (models.length > MAX_MODELS) revert InvalidModels(models.length, MAX_MODELS);
            for (uint256 j = 0; j < models.length; ++j) {
                if (bytes($.modelNames[models[j]]).length == 0) revert UnknownModel(models[j]);
            }

            uint256 index = start + i;
            node.operator = operator;
            node.stake = record.stake;
            node.registeredAt = record.registeredAt;
            node.unstakeRequestedAt = record.unstakeRequestedAt;
            node.reputation = record.reputation;
            node.status = record.active ? NodeStatus.Active : NodeStatus.Inactive;
            node.index = uint32(index);
            if (bytes(record.peerId).length != 0) node.peerId = record.peerId;
            if (bytes(record.region).length != 0) node.region = record.region;
            if (models.length != 0) node.models = models;
            operators.push(operator);

            sum += record.stake;
            commitment = _fold(commitment, MigrationRecords.leaf(record));
            emit NodeMigrated(index, operator, record.stake);
            assembly ("memory-safe") {
                mstore(0x40, freeMemory)
            }
        }
        if (sum != msg.value) revert StakeMismatch(sum, msg.value);
        $.totalStaked += sum;
        _endBatch(commitment, start + records.length);
    }

    /// @inheritdoc INodeRegistryV2
    function returnLastBatch()
        external
        onlyMigrator
        nonReentrant
        returns (address[] memory operators, uint256[] memory stakes)
    {
        NodeRegistryV2Storage storage $ = _s();
        (uint256 start, uint256 end, ) = _rollBackLastBatch();
        uint256 size = end - start;
        operators = new address[](size);
        stakes = new uint256[](size);
        address[] storage list = $.operators;
        uint256 sum = 0;
        // The batch's nodes are the list's tail (users cannot act while migrating): pop them.
        for (uint256 i = size; i > 0; --i) {
            address operator = list[list.length - 1];
            uint256 stake = $.nodes[operator].stake;
            operators[i - 1] = operator;
            stakes[i - 1] = stake;
            sum += stake;
            list.pop();
            delete $.nodes[operator];
        }
        $.totalStaked -= sum;
        emit NodesReturned(start, end, sum);
        Address.sendValue(payable(msg.sender), sum);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc INodeRegistryV2
    function modelName(bytes32 modelId) external view returns (string memory) {
        return _s().modelNames[modelId];
    }

    /// @inheritdoc INodeRegistryV2
    function getNode(address operator) external view returns (Node memory) {
        return _s().nodes[operator];
    }

    /// @inheritdoc INodeRegistryV2
    function isRegistered(address operator) external view returns (bool) {
        return _s().nodes[operator].status != NodeStatus.Unregistered;
    }

    /// @inheritdoc INodeRegistryV2
    function isActiveNode(address operator) external view returns (bool) {
        return _s().nodes[operator].status == NodeStatus.Active;
    }

    /// @inheritdoc INodeRegistryV2
    function supportsModel(address operator, bytes32 modelId) external view returns (bool) {
        return _servesModel(_s().nodes[operator], modelId);
    }

    /// @inheritdoc INodeRegistryV2
    function priceOf(address operator, bytes32 modelId) external view returns (uint256) {
        return _s().prices[operator][modelId];
    }

    /// @inheritdoc INodeRegistryV2
    function reputationOf(address operator) external view returns (uint256) {
        return _s().nodes[operator].reputation;
    }

    /// @inheritdoc INodeRegistryV2
    function nodeCount() external view returns (uint256) {
        return _s().operators.length;
    }

    /// @inheritdoc INodeRegistryV2
    function getNodesPage(uint256 offset, uint256 limit) external view returns (Node[] memory nodes) {
        NodeRegistryV2Storage storage $ = _s();
        uint256 size = PageBounds.size(offset, limit, $.operators.length);
        nodes = new Node[](size);
        for (uint256 i = 0; i < size; ++i) nodes[i] = $.nodes[$.operators[offset + i]];
    }

    /// @inheritdoc INodeRegistryV2
    function totalStaked() external view returns (uint256) {
        return _s().totalStaked;
    }

    /// @inheritdoc INodeRegistryV2
    function minimumStake() external view returns (uint256) {
        return _s().minimumStake;
    }

    /// @inheritdoc INodeRegistryV2
    function unstakeCooldown() external view returns (uint256) {
        return _s().unstakeCooldown;
    }

    /// @inheritdoc INodeRegistryV2
    function treasury() external view returns (address) {
        return _s().treasury;
    }

    // ---------------------------------------------------------------- internals

    /// @dev ETH is the only migrated token.
    function _migrationTokens() internal pure override returns (address[] memory tokens) {
        tokens = new address[](1);
    }

    /// @dev What the registry owes in ETH is every node's stake.
    function _migratedFunds(address token) internal view override returns (uint256) {
        return token == address(0) ? _s().totalStaked : 0;
    }

    function _registeredNode(address operator) private view returns (Node storage node) {
        node = _s().nodes[operator];
        if (node.status == NodeStatus.Unregistered) revert NodeNotRegistered(operator);
    }

    /// @dev Swap-and-pop keeps enumeration dense; the moved node's packed index is rewritten.
    /// The node's prices go with it, so a later registration starts without stale offers.
    function _removeNode(address operator, Node storage node) private {
        NodeRegistryV2Storage storage $ = _s();
        uint256 index = node.index;
        uint256 last = $.operators.length - 1;
        if (index != last) {
            address moved = $.operators[last];
            $.operators[index] = moved;
            $.nodes[moved].index = uint32(index);
        }
        $.operators.pop();
        mapping(bytes32 => uint256) storage prices = $.prices[operator];
        bytes32[] storage models = node.models;
        for (uint256 i = 0; i < models.length; ++i) delete prices[models[i]];
        delete $.nodes[operator];
    }

    function _servesModel(Node storage node, bytes32 modelId) private view returns (bool) {
        bytes32[] storage models = node.models;
        for (uint256 i = 0; i < models.length; ++i) {
            if (models[i] == modelId) return true;
        }
        return false;
    }

    function _contains(bytes32[] calldata list, bytes32 value) private pure returns (bool) {
        for (uint256 i = 0; i < list.length; ++i) {
            if (list[i] == value) return true;
        }
        return false;
    }

    function _checkPeerId(string calldata peerId) private pure {
        uint256 length = bytes(peerId).length;
        if (length == 0 || length > MAX_PEER_ID_LENGTH) revert InvalidPeerId(length, MAX_PEER_ID_LENGTH);
    }

    function _checkRegion(string calldata region) private pure {
        uint256 length = bytes(region).length;
        if (length > MAX_REGION_LENGTH) revert InvalidRegion(length, MAX_REGION_LENGTH);
    }

    /// @dev At most `MAX_MODELS` ids, each with a registered name.
    function _checkModels(bytes32[] calldata models) private view {
        if (models.length > MAX_MODELS) revert InvalidModels(models.length, MAX_MODELS);
        mapping(bytes32 => string) storage names = _s().modelNames;
        for (uint256 i = 0; i < models.length; ++i) {
            if (bytes(names[models[i]]).length == 0) revert UnknownModel(models[i]);
        }
    }

    function _setMinimumStake(uint256 value) private {
        if (value == 0 || value > MAX_MINIMUM_STAKE) revert ValueOutOfRange(value, 1, MAX_MINIMUM_STAKE);
        emit MinimumStakeChanged(_s().minimumStake, value);
        _s().minimumStake = value;
    }

    function _setUnstakeCooldown(uint256 value) private {
        if (value > MAX_UNSTAKE_COOLDOWN) revert ValueOutOfRange(value, 0, MAX_UNSTAKE_COOLDOWN);
        emit UnstakeCooldownChanged(_s().unstakeCooldown, value);
        _s().unstakeCooldown = value;
    }

    function _setTreasury(address value) private {
        if (value == address(0)) revert ZeroAddress();
        emit TreasuryChanged(_s().treasury, value);
        _s().treasury = value;
    }
}
