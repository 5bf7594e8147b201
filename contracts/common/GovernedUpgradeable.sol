// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {PausableUpgradeable} from "@openzeppelin/contracts-upgradeable/utils/PausableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";

/**
 * @title GovernedUpgradeable
 * @notice What every Fabstir contract behind a proxy shares: UUPS upgrades that only
 * `UPGRADER_ROLE` (the timelock in production) may authorize, a pause switch held by
 * `PAUSER_ROLE` (a guardian), and role-based access with `DEFAULT_ADMIN_ROLE` at the top.
 * @dev Every parent keeps its state in ERC-7201 namespaced storage, so inheriting contracts
 * are free to define their own namespaces without slot collisions across versions.
 */
abstract contract GovernedUpgradeable is AccessControlUpgradeable, PausableUpgradeable, UUPSUpgradeable {
    /// @notice May upgrade the implementation behind the proxy.
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");
    /// @notice May pause and unpause user-facing activity.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev The zero address was given where an account or contract is required.
    error ZeroAddress();
    /// @dev A configuration value lies outside its allowed range [`min`, `max`].
    error ValueOutOfRange(uint256 value, uint256 min, uint256 max);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        // The implementation itself must never be initialized: only proxies are.
        _disableInitializers();
    }

    // solhint-disable-next-line func-name-mixedcase
    function __GovernedUpgradeable_init(address admin) internal onlyInitializing {
        if (admin == address(0)) revert ZeroAddress();
        __AccessControl_init();
        __Pausable_init();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(UPGRADER_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    /// @notice Stops user-facing activity (new registrations, jobs, deposits, withdrawals).
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes user-facing activity.
    function unpause() external virtual onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @notice The semantic version of the implementation behind the proxy.
    function version() external pure virtual returns (string memory);

    /// @dev Upgrades are authorized by `UPGRADER_ROLE` alone.
    function _authorizeUpgrade(address) internal virtual override onlyRole(UPGRADER_ROLE) {}
}
