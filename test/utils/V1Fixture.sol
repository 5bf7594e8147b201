// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
import {NodeRegistryV1} from "../../contracts/v1/NodeRegistryV1.sol";
import {PaymentEscrowV1} from "../../contracts/v1/PaymentEscrowV1.sol";
import {JobMarketplaceV1} from "../../contracts/v1/JobMarketplaceV1.sol";
import {INodeRegistryV1} from "../../contracts/interfaces/INodeRegistryV1.sol";
import {IPaymentEscrowV1} from "../../contracts/interfaces/IPaymentEscrowV1.sol";
import {TestUSDC} from "../../contracts/local/TestUSDC.sol";
import {TestBase} from "./Vm.sol";

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
            address(
                new ERC1967Proxy(
                    address(new NodeRegistryV1()),
                    abi.encodeCall(NodeRegistryV1.initialize, (admin, treasury, minimumStake, cooldown))
                )
            )
        );
        escrow = PaymentEscrowV1(
            address(
                new ERC1967Proxy(
                    address(new PaymentEscrowV1()),
                    abi.encodeCall(PaymentEscrowV1.initialize, (admin, treasury, feeBps))
                )
            )
        );
        marketplace = JobMarketplaceV1(
            address(
                new ERC1967Proxy(
                    address(new JobMarketplaceV1()),
                    abi.encodeCall(
                        JobMarketplaceV1.initialize,
                        (admin, INodeRegistryV1(address(registry)), IPaymentEscrowV1(address(escrow)))
                    )
                )
            )
        );

        vm.startPrank(admin);
        registry.grantRole(registry.REPUTATION_ROLE(), address(marketplace));
        registry.grantRole(registry.SLASHER_ROLE(), admin);
        escrow.grantRole(escrow.MARKETPLACE_ROLE(), address(marketplace));
        escrow.setTokenAllowed(address(usdc), true);
        vm.stopPrank();

        vm.label(address(registry), "NodeRegistryV1");
        vm.label(address(escrow), "PaymentEscrowV1");
        vm.label(address(marketplace), "JobMarketplaceV1");
        vm.label(address(usdc), "TestUSDC");
        vm.label(admin, "admin");
        vm.label(treasury, "treasury");
    }

    /// @dev A plain account (no code) derived from `name`, so it can receive ETH.
    function _account(string memory name) internal returns (address account) {
        account = address(uint160(uint256(keccak256(abi.encodePacked("fabstir.test.", name)))));
        vm.label(account, name);
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
