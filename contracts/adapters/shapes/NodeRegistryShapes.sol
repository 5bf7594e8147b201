// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {INodeRegistryV2} from "../../interfaces/INodeRegistryV2.sol";
import {NodeRegistryV2} from "../../v2/NodeRegistryV2.sol";
import {NodeRegistryV1Storage} from "../../v1/storage/NodeRegistryV1Storage.sol";
import {V1Adapter} from "../base/V1Adapter.sol";

/**
 * @title NodeRegistryShapes
 * @notice The hand-written converters the NodeRegistry mapping (adapters/NodeRegistry.json)
 * names: V1's model names become V2's ids, V2's packed nodes become V1's `Node`.
 * @dev Inherits V1's storage base so the adapter keeps V1's namespace declared; nothing here
 * reads or writes it.
 */
abstract contract NodeRegistryShapes is V1Adapter, NodeRegistryV1Storage {
    /**
     * @dev V1.1's migration namespace, declared (never used) so the upgrade from V1.1 validates:
     * the same layout as `NodeRegistryV1_1`'s, which the cut-over's validation compares.
     * @custom:storage-location erc7201:fabstir.storage.NodeRegistryV1_1
     */
    // solhint-disable-next-line contract-name-capwords
    struct NodeRegistryV1_1Storage {
        INodeRegistryV2 target;
    }

    /// @dev V1's limits, which V1 callers were checked against.
    uint256 private constant V1_MAX_MODELS = 32;
    uint256 private constant V1_MAX_MODEL_NAME_LENGTH = 128;

    /// @dev The V2 registry this adapter forwards to.
    function _registry() internal view returns (NodeRegistryV2) {
        return NodeRegistryV2(_target());
    }

    /**
     * @dev V1's model list as V2 ids. Preserves V1's validation and its errors
     * (`InvalidModels(count, 32)`, then `InvalidModelName(index, length, 128)` for the first bad
     * name) and V1's acceptance of any name: each is registered in V2's permissionless name
     * registry, so a V1 caller never meets V2's `UnknownModel`.
     */
    function _modelIds(string[] calldata models) internal returns (bytes32[] memory ids) {
        if (models.length > V1_MAX_MODELS) revert InvalidModels(models.length, V1_MAX_MODELS);
        ids = new bytes32[](models.length);
        for (uint256 i = 0; i < models.length; ++i) {
            uint256 length = bytes(models[i]).length;
            if (length == 0 || length > V1_MAX_MODEL_NAME_LENGTH) {
                revert InvalidModelName(i, length, V1_MAX_MODEL_NAME_LENGTH);
            }
            ids[i] = keccak256(bytes(models[i]));
        }
        if (models.length != 0) _registry().registerModels(models);
    }

    /// @dev The stake of `operator`'s node in V2 (zero when none), for V1's stake events.
    function _stakeOf(address operator) internal view returns (uint256) {
        return _registry().getNode(operator).stake;
    }

    /**
     * @dev V2's node in V1's shape: models by name, `active` from the status, reputation left
     * out (V1 reports it through `reputationOf`). An unknown operator gives V1's all-zero node.
     */
    function _toV1Node(INodeRegistryV2.Node memory node) internal view returns (Node memory v1) {
        NodeRegistryV2 registry = _registry();
        string[] memory names = new string[](node.models.length);
        for (uint256 i = 0; i < names.length; ++i) names[i] = registry.modelName(node.models[i]);
        v1 = Node({
            operator: node.operator,
            peerId: node.peerId,
            stake: node.stake,
            active: node.status == INodeRegistryV2.NodeStatus.Active,
            models: names,
            region: node.region,
            registeredAt: node.registeredAt,
            unstakeRequestedAt: node.unstakeRequestedAt
        });
    }

    /// @dev V1's page shape `(nodes, reputations)` from V2's page, whose nodes carry reputation.
    function _toV1NodesPage(
        INodeRegistryV2.Node[] memory page
    ) internal view returns (Node[] memory nodes, uint256[] memory reputations) {
        nodes = new Node[](page.length);
        reputations = new uint256[](page.length);
        for (uint256 i = 0; i < page.length; ++i) {
            nodes[i] = _toV1Node(page[i]);
            reputations[i] = page[i].reputation;
        }
    }
}
