// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {NodeRegistryV1} from "../../contracts/v1/NodeRegistryV1.sol";
import {PaymentEscrowV1} from "../../contracts/v1/PaymentEscrowV1.sol";
import {JobMarketplaceV1} from "../../contracts/v1/JobMarketplaceV1.sol";
import {INodeRegistryV1} from "../../contracts/interfaces/INodeRegistryV1.sol";
import {IPaymentEscrowV1} from "../../contracts/interfaces/IPaymentEscrowV1.sol";
import {TestUSDC} from "../../contracts/local/TestUSDC.sol";
import {Proxies} from "./Common.sol";
import {TestBase} from "./Vm.sol";

/// @notice The role getters and admin calls that wire a registry and an escrow of either
/// generation (V1 and V2 name them alike).
interface IStackWiring {
    function REPUTATION_ROLE() external view returns (bytes32);
    function SLASHER_ROLE() external view returns (bytes32);
    function MARKETPLACE_ROLE() external view returns (bytes32);
    function grantRole(bytes32 role, address account) external;
    function setTokenAllowed(address token, bool allowed) external;
}

/**
 * @title V1Fixture
 * @notice Deploys the V1 stack as deploy/v1.ts does: each contract behind an ERC1967Proxy
 * initialized in its constructor (the implementations disable their own initializers), the
 * marketplace granted REPUTATION_ROLE on the registry and MARKETPLACE_ROLE on the escrow, the
 * admin granted SLASHER_ROLE, and a TestUSDC allowed in the escrow.
 */
abstract contract V1Fixture is TestBase {
    /// @dev Production defaults (deploy/v1.ts DEFAULT_V1_PARAMETERS).
    uint256 internal constant MINIMUM_STAKE = 0.01 ether;
    uint256 internal constant UNSTAKE_COOLDOWN = 7 days;
    uint256 internal constant FEE_BPS = 250;

    address internal constant ETH = address(0);

    address internal admin = address(uint160(uint256(keccak256("fabstir.test.admin"))));
    address internal treasury = address(uint160(uint256(keccak256("fabstir.test.treasury"))));

    NodeRegistryV1 internal registry;
    PaymentEscrowV1 internal escrow;
    JobMarketplaceV1 internal marketplace;
    TestUSDC internal usdc;

    function _deployV1() internal {
        _deployV1(MINIMUM_STAKE, UNSTAKE_COOLDOWN, FEE_BPS);
    }

    function _deployV1(uint256 minimumStake, uint256 cooldown, uint256 feeBps) internal {
        vm.warp(1_700_000_000);
        usdc = new TestUSDC();
        registry = NodeRegistryV1(
            Proxies.deploy(
                address(new NodeRegistryV1()),
                abi.encodeCall(NodeRegistryV1.initialize, (admin, treasury, minimumStake, cooldown))
            )
        );
        escrow = PaymentEscrowV1(
            Proxies.deploy(
                address(new PaymentEscrowV1()),
                abi.encodeCall(PaymentEscrowV1.initialize, (admin, treasury, feeBps))
            )
        );
        marketplace = JobMarketplaceV1(
            Proxies.deploy(
                address(new JobMarketplaceV1()),
                abi.encodeCall(
                    JobMarketplaceV1.initialize,
                    (admin, INodeRegistryV1(address(registry)), IPaymentEscrowV1(address(escrow)))
                )
            )
        );
        _wire(address(registry), address(escrow), address(marketplace));
        _label(address(registry), address(escrow), address(marketplace), "V1");
        vm.label(address(usdc), "TestUSDC");
        vm.label(admin, "admin");
        vm.label(treasury, "treasury");
    }

    /// @dev The roles and token list both generations are deployed with (deploy/v1.ts,
    /// deploy/v2.ts): the marketplace adjusts reputation and locks funds, the admin slashes,
    /// and the escrow takes USDC.
    function _wire(address registry_, address escrow_, address marketplace_) internal {
        IStackWiring r = IStackWiring(registry_);
        IStackWiring e = IStackWiring(escrow_);
        vm.startPrank(admin);
        r.grantRole(r.REPUTATION_ROLE(), marketplace_);
        r.grantRole(r.SLASHER_ROLE(), admin);
        e.grantRole(e.MARKETPLACE_ROLE(), marketplace_);
        e.setTokenAllowed(address(usdc), true);
        vm.stopPrank();
    }

    /// @dev Labels a generation's three proxies, e.g. "NodeRegistryV1" for `version` "V1".
    function _label(address registry_, address escrow_, address marketplace_, string memory version) internal {
        vm.label(registry_, string.concat("NodeRegistry", version));
        vm.label(escrow_, string.concat("PaymentEscrow", version));
        vm.label(marketplace_, string.concat("JobMarketplace", version));
    }

    /// @dev A plain account (no code) derived from `name`, so it can receive ETH.
    function _account(string memory name) internal returns (address account) {
        account = address(uint160(uint256(keccak256(abi.encodePacked("fabstir.test.", name)))));
        vm.label(account, name);
    }

    /// @dev The invariant suites' four actors, in this order: alice, bob, carol, dave.
    function _actors() internal returns (address[] memory actors) {
        string[4] memory names = ["alice", "bob", "carol", "dave"];
        actors = new address[](names.length);
        for (uint256 i = 0; i < names.length; ++i) actors[i] = _account(names[i]);
    }

    function _oneModel(string memory model) internal pure returns (string[] memory models) {
        models = new string[](1);
        models[0] = model;
    }

    /// @dev Registers `host` with `stake` wei (dealt to it first) serving one model.
    function _register(address host, uint256 stake) internal {
        vm.deal(host, host.balance + stake);
        vm.prank(host);
        registry.registerNode{value: stake}("peer", _oneModel("llama-3-8b"), "eu-west");
    }

    /// @dev Gives `user` `amount` of ETH or USDC and deposits it into the escrow.
    function _deposit(address user, address token, uint256 amount) internal {
        if (token == ETH) {
            vm.deal(user, user.balance + amount);
            vm.prank(user);
            escrow.deposit{value: amount}(ETH, amount);
        } else {
            usdc.mint(user, amount);
            vm.startPrank(user);
            usdc.approve(address(escrow), amount);
            escrow.deposit(address(usdc), amount);
            vm.stopPrank();
        }
    }
}
