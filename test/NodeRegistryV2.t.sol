// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {INodeRegistryV2} from "../contracts/interfaces/INodeRegistryV2.sol";
import {MigrationRecords, NodeRecord} from "../contracts/migration/MigrationRecords.sol";
import {StateCommitment} from "../contracts/migration/StateCommitment.sol";
import {NodeRegistryV1_1} from "../contracts/v1_1/NodeRegistryV1_1.sol";
import {NodeRegistryV2} from "../contracts/v2/NodeRegistryV2.sol";
import {Proxies} from "./utils/Common.sol";
import {V1Fixture} from "./utils/V1Fixture.sol";
import {TestBase} from "./utils/Vm.sol";

/**
 * @title NodeRegistryV2CommitmentFuzzTest
 * @notice The commitment names the migrated records, not the way they were batched: random node
 * records imported in one batch, or split in two at a random point, give the same commitment,
 * and it equals a fold of `MigrationRecords.leaf` computed here.
 */
contract NodeRegistryV2CommitmentFuzzTest is TestBase {
    uint256 internal constant MAX_RECORDS = 8;

    NodeRegistryV2 internal whole;
    NodeRegistryV2 internal split;
    bytes32[] internal models;

    function setUp() public {
        whole = _deploy();
        split = _deploy();
        string[] memory names = new string[](4);
        names[0] = "llama-3.1-8b-instruct";
        names[1] = "mistral-7b-instruct";
        names[2] = "qwen2.5-72b";
        names[3] = unicode"模型-δ";
        whole.registerModels(names);
        split.registerModels(names);
        for (uint256 i = 0; i < names.length; ++i) models.push(keccak256(bytes(names[i])));
    }

    function _deploy() internal returns (NodeRegistryV2) {
        // This test is the migrator: it imports with its own ETH.
        bytes memory init = abi.encodeCall(
            NodeRegistryV2.initialize,
            (address(0xA11CE), address(this), address(0x7EA5), 0.01 ether, 7 days)
        );
        return NodeRegistryV2(Proxies.deploy(address(new NodeRegistryV2()), init));
    }

    function _bytes(uint256 seed, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i = 0; i < length; ++i) out[i] = bytes1(uint8(uint256(keccak256(abi.encode(seed, i)))));
    }

    function _record(uint256 seed, uint256 i) internal view returns (NodeRecord memory r) {
        uint256 h = uint256(keccak256(abi.encode(seed, i)));
        // Distinct, non-zero operators: the index sits in the low bits.
        r.operator = address(uint160((h << 8) | (i + 1)));
        r.stake = uint96(h % 1e24);
        r.registeredAt = uint64(h >> 96);
        r.unstakeRequestedAt = (h >> 160) % 3 == 0 ? uint64(h >> 170) : 0;
        r.reputation = uint16((h >> 200) % 1001);
        r.active = (h >> 220) % 2 == 0;
        r.peerId = string(_bytes(h, (h >> 4) % 100));
        r.region = string(_bytes(h + 1, (h >> 12) % 65));
        r.models = new bytes32[]((h >> 24) % (models.length + 1));
        for (uint256 j = 0; j < r.models.length; ++j) r.models[j] = models[(h >> (32 + j)) % models.length];
    }

    function _import(NodeRegistryV2 registry, NodeRecord[] memory records, uint256 from, uint256 to) internal {
        NodeRecord[] memory batch = new NodeRecord[](to - from);
        uint256 sum = 0;
        for (uint256 i = from; i < to; ++i) {
            batch[i - from] = records[i];
            sum += records[i].stake;
        }
        registry.batchMigrateNodes{value: sum}(from, batch);
    }

    /// @notice Splitting a batch anywhere changes neither the commitment nor what is stored.
    function testFuzz_OneBatchOrTwoGiveTheSameCommitment(uint256 seed, uint256 count, uint256 at) public {
        count = bound(count, 2, MAX_RECORDS);
        at = bound(at, 1, count - 1);
        NodeRecord[] memory records = new NodeRecord[](count);
        bytes32 expected = StateCommitment.EMPTY;
        uint256 sum = 0;
        for (uint256 i = 0; i < count; ++i) {
            records[i] = _record(seed, i);
            expected = StateCommitment.fold(expected, MigrationRecords.leaf(records[i]));
            sum += records[i].stake;
        }
        vm.deal(address(this), 2 * sum);

        _import(whole, records, 0, count);
        _import(split, records, 0, at);
        _import(split, records, at, count);

        assertTrue(whole.migrationCommitment() == expected, "one batch: commitment != fold of leaves");
        assertTrue(split.migrationCommitment() == expected, "two batches: commitment != fold of leaves");
        assertEq(split.migratedCount(), count, "count");
        assertEq(split.migrationBatchCount(), 2, "batches");
        assertEq(split.totalStaked(), sum, "totalStaked");
        assertEq(address(split).balance, sum, "balance");

        // What is stored matches the record it came from.
        uint256 pick = seed % count;
        INodeRegistryV2.Node memory node = split.getNode(records[pick].operator);
        assertEq(node.operator, records[pick].operator, "operator");
        assertEq(node.stake, records[pick].stake, "stake");
        assertEq(node.index, pick, "index");
        assertEq(node.reputation, records[pick].reputation, "reputation");
        assertEq(node.unstakeRequestedAt, records[pick].unstakeRequestedAt, "unstakeRequestedAt");
        assertTrue(keccak256(bytes(node.peerId)) == keccak256(bytes(records[pick].peerId)), "peerId");
        assertTrue(keccak256(bytes(node.region)) == keccak256(bytes(records[pick].region)), "region");
        assertTrue(keccak256(abi.encode(node.models)) == keccak256(abi.encode(records[pick].models)), "models");
        assertEq(
            uint256(node.status),
            uint256(records[pick].active ? INodeRegistryV2.NodeStatus.Active : INodeRegistryV2.NodeStatus.Inactive),
            "status"
        );
    }
}

/**
 * @title MisreportingTarget
 * @notice A migration target that accepts batches like V2 but returns what the test tells it
 * to: the only way to reach V1.1's checks on what comes back, since the real V2 never
 * misreports. Not a stand-in for V2 in any other test.
 */
contract MisreportingTarget {
    uint256 public migratedCount;
    address[] internal returnedOperators;
    uint256[] internal returnedStakes;
    uint256 internal returnedValue;

    function batchMigrateNodes(uint256, NodeRecord[] calldata records) external payable {
        migratedCount += records.length;
    }

    function misreport(address[] memory operators, uint256[] memory stakes, uint256 value) external {
        returnedOperators = operators;
        returnedStakes = stakes;
        returnedValue = value;
    }

    function returnLastBatch() external returns (address[] memory, uint256[] memory) {
        migratedCount = 0;
        (bool ok, ) = msg.sender.call{value: returnedValue}("");
        require(ok, "send failed");
        return (returnedOperators, returnedStakes);
    }

    function migrationFinalized() external pure returns (bool) {
        return false;
    }
}

/**
 * @title NodeRegistryV1_1ReturnChecksTest
 * @notice V1.1 restores only what it moved out: a target that returns other operators, or less
 * ETH than the stakes it names, is refused and nothing is restored.
 */
contract NodeRegistryV1_1ReturnChecksTest is V1Fixture {
    NodeRegistryV1_1 internal v1;
    MisreportingTarget internal target;
    address internal hostA;
    address internal hostB;
    address internal outsider;

    function setUp() public {
        _deployV1();
        hostA = _account("hostA");
        hostB = _account("hostB");
        outsider = _account("outsider");
        _register(hostA, 1 ether);
        _register(hostB, 2 ether);
        target = new MisreportingTarget();
        v1 = NodeRegistryV1_1(payable(address(registry)));
        vm.startPrank(admin);
        registry.pause();
        registry.upgradeToAndCall(
            address(new NodeRegistryV1_1()),
            abi.encodeCall(NodeRegistryV1_1.initializeMigration, (INodeRegistryV2(address(target))))
        );
        v1.grantRole(v1.MIGRATOR_ROLE(), address(this));
        vm.stopPrank();
        // Only hostA moves out; hostB keeps its stake in V1. V1.1 checks the operator and the
        // stake; this target folds nothing, so the other fields may stay empty.
        NodeRecord[] memory records = new NodeRecord[](1);
        records[0].operator = hostA;
        records[0].stake = 1 ether;
        v1.migrateNodes(0, records);
        vm.deal(address(target), 10 ether);
    }

    function _one(address operator) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = operator;
    }

    function _amount(uint256 value) internal pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = value;
    }

    function test_MigratedOutNodeComesBack() public {
        assertEq(registry.getNode(hostA).stake, 0, "moved out");
        target.misreport(_one(hostA), _amount(1 ether), 1 ether);
        v1.rollbackNodes();
        assertEq(registry.getNode(hostA).stake, 1 ether, "restored");
        assertEq(registry.totalStaked(), 3 ether, "total");
        assertEq(address(registry).balance, 3 ether, "balance");
    }

    function test_RefusesAnOperatorWithoutANode() public {
        target.misreport(_one(outsider), _amount(1 ether), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistryV1_1.NotMigratedOut.selector, outsider));
        v1.rollbackNodes();
    }

    function test_RefusesANodeThatStillHoldsItsStake() public {
        target.misreport(_one(hostB), _amount(2 ether), 2 ether);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistryV1_1.NotMigratedOut.selector, hostB));
        v1.rollbackNodes();
    }

    function test_RefusesLessEtherThanTheStakesItNames() public {
        target.misreport(_one(hostA), _amount(1 ether), 1 ether - 1);
        vm.expectRevert(abi.encodeWithSelector(NodeRegistryV1_1.ReturnedStakeMismatch.selector, 1 ether, 1 ether - 1));
        v1.rollbackNodes();
        assertEq(registry.getNode(hostA).stake, 0, "restored despite the mismatch");
    }
}
