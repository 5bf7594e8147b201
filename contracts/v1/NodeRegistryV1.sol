// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {GovernedUpgradeable} from "../common/GovernedUpgradeable.sol";
import {PageBounds} from "../common/PageBounds.sol";
import {INodeRegistryV1} from "../interfaces/INodeRegistryV1.sol";
import {NodeRegistryV1Storage} from "./storage/NodeRegistryV1Storage.sol";

/**
 * @title NodeRegistryV1
 * @notice Hosts stake ETH to register GPU nodes. A node serves a list of models in a region,
 * earns reputation from completed jobs and loses it for expired ones. Leaving takes two steps
 * (request, then withdraw after a cooldown) so that a misbehaving node can still be slashed.
 * @dev The registry's ETH balance always covers `totalStaked()`: stake only leaves through
 * `withdrawStake` (to its operator) or `slash` (to the treasury), each reducing the total first.
 */
contract NodeRegistryV1 is INodeRegistryV1, NodeRegistryV1Storage, GovernedUpgradeable, ReentrancyGuardTransient {
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

    /**
     * @notice Sets up the registry behind a proxy.
     * @param admin Receives the admin, upgrader and pauser roles (the timelock in production).
     * @param treasury_ Where slashed stake goes.
     * @param minimumStake_ The smallest stake a node may register with, in wei.
     * @param unstakeCooldown_ Seconds between `requestUnstake` and `withdrawStake`.
     */
    function initialize(
        address admin,
        address treasury_,
        uint256 minimumStake_,
        uint256 unstakeCooldown_
    ) external initializer {
        __GovernedUpgradeable_init(admin);
        _setTreasury(treasury_);
        _setMinimumStake(minimumStake_);
        _setUnstakeCooldown(unstakeCooldown_);
    }

    /// @inheritdoc GovernedUpgradeable
    function version() external pure virtual override returns (string memory) {
        return "1.0.0";
    }

    // ---------------------------------------------------------------- hosts

    /// @inheritdoc INodeRegistryV1
    function registerNode(
        string calldata peerId,
        string[] calldata models,
        string calldata region
    ) external payable whenNotPaused {
        NodeRegistryStorage storage $ = _s();
        if ($.indexPlusOne[msg.sender] != 0) revert NodeAlreadyRegistered(msg.sender);
        if (msg.value < $.minimumStake) revert StakeBelowMinimum(msg.value, $.minimumStake);
        _checkPeerId(peerId);
        _checkModels(models);
        _checkRegion(region);

        Node storage node = $.nodes[msg.sender];
        node.operator = msg.sender;
        node.peerId = peerId;
        node.stake = msg.value;
        node.active = true;
        _storeModels(node, models);
        node.region = region;
        node.registeredAt = uint64(block.timestamp);

        $.operators.push(msg.sender);
        $.indexPlusOne[msg.sender] = $.operators.length;
        $.reputation[msg.sender] = INITIAL_REPUTATION;
        $.totalStaked += msg.value;

        emit NodeRegistered(msg.sender, peerId, msg.value, models, region);
    }

    /// @inheritdoc INodeRegistryV1
    function addStake() external payable whenNotPaused {
        if (msg.value == 0) revert ZeroAmount();
        NodeRegistryStorage storage $ = _s();
        Node storage node = _registeredNode(msg.sender);
        node.stake += msg.value;
        $.totalStaked += msg.value;
        // A node slashed below the minimum serves again once topped up. A leaving node may top
        // up too, so that it can cancel its unstake after a slash.
        if (!node.active && node.unstakeRequestedAt == 0 && node.stake >= $.minimumStake) node.active = true;
        emit StakeAdded(msg.sender, msg.value, node.stake);
    }

    /// @inheritdoc INodeRegistryV1
    function updateModels(string[] calldata models) external whenNotPaused {
        Node storage node = _registeredNode(msg.sender);
        _checkModels(models);
        _storeModels(node, models);
        emit ModelsUpdated(msg.sender, models);
    }

    /// @inheritdoc INodeRegistryV1
    function updateRegion(string calldata region) external whenNotPaused {
        Node storage node = _registeredNode(msg.sender);
        _checkRegion(region);
        node.region = region;
        emit RegionUpdated(msg.sender, region);
    }

    /// @inheritdoc INodeRegistryV1
    function requestUnstake() external whenNotPaused {
        Node storage node = _registeredNode(msg.sender);
        if (node.unstakeRequestedAt != 0) revert UnstakePending(msg.sender);
        node.active = false;
        node.unstakeRequestedAt = uint64(block.timestamp);
        emit UnstakeRequested(msg.sender, block.timestamp + _s().unstakeCooldown);
    }

    /// @inheritdoc INodeRegistryV1
    function cancelUnstake() external whenNotPaused {
        NodeRegistryStorage storage $ = _s();
        Node storage node = _registeredNode(msg.sender);
        if (node.unstakeRequestedAt == 0) revert UnstakeNotRequested(msg.sender);
        // A node slashed below the minimum while leaving must top up before it serves again.
        if (node.stake < $.minimumStake) revert StakeBelowMinimum(node.stake, $.minimumStake);
        node.unstakeRequestedAt = 0;
        node.active = true;
        emit UnstakeCancelled(msg.sender);
    }

    /// @inheritdoc INodeRegistryV1
    function withdrawStake() external whenNotPaused nonReentrant {
        NodeRegistryStorage storage $ = _s();
        Node storage node = _registeredNode(msg.sender);
        if (node.unstakeRequestedAt == 0) revert UnstakeNotRequested(msg.sender);
        uint256 availableAt = uint256(node.unstakeRequestedAt) + $.unstakeCooldown;
        if (block.timestamp < availableAt) revert CooldownNotElapsed(availableAt);

        uint256 amount = node.stake;
        $.totalStaked -= amount;
        _removeNode(msg.sender);
        emit StakeWithdrawn(msg.sender, amount);
        if (amount != 0) Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------- roles

    /// @inheritdoc INodeRegistryV1
    function slash(
        address operator,
        uint256 amount,
        string calldata reason
    ) external onlyRole(SLASHER_ROLE) nonReentrant {
        NodeRegistryStorage storage $ = _s();
        Node storage node = _registeredNode(operator);
        if (amount == 0) revert ZeroAmount();
        if (amount > node.stake) revert SlashExceedsStake(amount, node.stake);
        node.stake -= amount;
        $.totalStaked -= amount;
        // Below the minimum a node may not take jobs until it tops up and reactivates.
        if (node.stake < $.minimumStake) node.active = false;
        emit NodeSlashed(operator, amount, reason);
        Address.sendValue(payable($.treasury), amount);
    }

    /// @inheritdoc INodeRegistryV1
    function increaseReputation(address operator, uint256 amount) external onlyRole(REPUTATION_ROLE) {
        _registeredNode(operator);
        uint256 old = _s().reputation[operator];
        // Compared without adding first, so that any amount caps instead of overflowing.
        uint256 updated = amount >= MAX_REPUTATION - old ? MAX_REPUTATION : old + amount;
        _s().reputation[operator] = updated;
        emit ReputationChanged(operator, old, updated);
    }

    /// @inheritdoc INodeRegistryV1
    function decreaseReputation(address operator, uint256 amount) external onlyRole(REPUTATION_ROLE) {
        _registeredNode(operator);
        uint256 old = _s().reputation[operator];
        uint256 updated = amount > old ? 0 : old - amount;
        _s().reputation[operator] = updated;
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

    // ---------------------------------------------------------------- views

    /// @inheritdoc INodeRegistryV1
    function getNode(address operator) external view returns (Node memory) {
        return _s().nodes[operator];
    }

    /// @inheritdoc INodeRegistryV1
    function isRegistered(address operator) external view returns (bool) {
        return _s().indexPlusOne[operator] != 0;
    }

    /// @inheritdoc INodeRegistryV1
    function isActiveNode(address operator) public view returns (bool) {
        return _s().nodes[operator].active;
    }

    /// @inheritdoc INodeRegistryV1
    function supportsModel(address operator, string calldata modelId) external view returns (bool) {
        string[] storage models = _s().nodes[operator].models;
        bytes32 wanted = keccak256(bytes(modelId));
        for (uint256 i = 0; i < models.length; ++i) {
            if (keccak256(bytes(models[i])) == wanted) return true;
        }
        return false;
    }

    /// @inheritdoc INodeRegistryV1
    function reputationOf(address operator) external view returns (uint256) {
        return _s().reputation[operator];
    }

    /// @inheritdoc INodeRegistryV1
    function nodeCount() external view returns (uint256) {
        return _s().operators.length;
    }

    /// @inheritdoc INodeRegistryV1
    function getNodesPage(
        uint256 offset,
        uint256 limit
    ) external view returns (Node[] memory nodes, uint256[] memory reputations) {
        NodeRegistryStorage storage $ = _s();
        uint256 size = PageBounds.size(offset, limit, $.operators.length);
        nodes = new Node[](size);
        reputations = new uint256[](size);
        for (uint256 i = 0; i < size; ++i) {
            address operator = $.operators[offset + i];
            nodes[i] = $.nodes[operator];
            reputations[i] = $.reputation[operator];
        }
    }

    /// @inheritdoc INodeRegistryV1
    function totalStaked() external view returns (uint256) {
        return _s().totalStaked;
    }

    /// @inheritdoc INodeRegistryV1
    function minimumStake() external view returns (uint256) {
        return _s().minimumStake;
    }

    /// @inheritdoc INodeRegistryV1
    function unstakeCooldown() external view returns (uint256) {
        return _s().unstakeCooldown;
    }

    /// @inheritdoc INodeRegistryV1
    function treasury() external view returns (address) {
        return _s().treasury;
    }

    // ---------------------------------------------------------------- internals

    function _registeredNode(address operator) private view returns (Node storage) {
        NodeRegistryStorage storage $ = _s();
        if ($.indexPlusOne[operator] == 0) revert NodeNotRegistered(operator);
        return $.nodes[operator];
    }

    /// @dev Swap-and-pop keeps enumeration dense; the moved operator's index is rewritten.
    function _removeNode(address operator) private {
        NodeRegistryStorage storage $ = _s();
        uint256 index = $.indexPlusOne[operator] - 1;
        uint256 last = $.operators.length - 1;
        if (index != last) {
            address moved = $.operators[last];
            $.operators[index] = moved;
            $.indexPlusOne[moved] = index + 1;
        }
        $.operators.pop();
        delete $.indexPlusOne[operator];
        delete $.nodes[operator];
        delete $.reputation[operator];
    }

    /// @dev The legacy code generator cannot copy `string[] calldata` to storage in one step.
    function _storeModels(Node storage node, string[] calldata models) private {
        delete node.models;
        for (uint256 i = 0; i < models.length; ++i) node.models.push(models[i]);
    }

    function _checkPeerId(string calldata peerId) private pure {
        uint256 length = bytes(peerId).length;
        if (length == 0 || length > MAX_PEER_ID_LENGTH) revert InvalidPeerId(length, MAX_PEER_ID_LENGTH);
    }

    function _checkRegion(string calldata region) private pure {
        uint256 length = bytes(region).length;
        if (length > MAX_REGION_LENGTH) revert InvalidRegion(length, MAX_REGION_LENGTH);
    }

    function _checkModels(string[] calldata models) private pure {
        if (models.length > MAX_MODELS) revert InvalidModels(models.length, MAX_MODELS);
        for (uint256 i = 0; i < models.length; ++i) {
            uint256 length = bytes(models[i]).length;
            if (length == 0 || length > MAX_MODEL_NAME_LENGTH)
                revert InvalidModelName(i, length, MAX_MODEL_NAME_LENGTH);
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
