// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/**
 * @title Proxies
 * @notice How every Solidity test deploys a contract under test: behind an ERC1967Proxy
 * initialized in its constructor (the implementations disable their own initializers).
 */
library Proxies {
    /// @notice A new proxy over `implementation`, initialized with `init`.
    function deploy(address implementation, bytes memory init) internal returns (address) {
        return address(new ERC1967Proxy(implementation, init));
    }
}

/**
 * @title Models
 * @notice The model names the Solidity fixtures and handlers serve: the V1 seed, the V1
 * handler's nodes and jobs, and the names V2 registers before the migration are these three.
 */
library Models {
    uint256 internal constant COUNT = 3;

    /// @notice Model `index` (0 llama, 1 mistral, 2 qwen).
    function name(uint256 index) internal pure returns (string memory) {
        string[COUNT] memory names = ["llama-3-8b", "mistral-7b", "qwen-2.5-14b"];
        return names[index];
    }

    /// @notice V2's id of model `index`, the hash of its name.
    function id(uint256 index) internal pure returns (bytes32) {
        return keccak256(bytes(name(index)));
    }
}
