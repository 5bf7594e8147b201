// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPaymentEscrowV2} from "../contracts/interfaces/IPaymentEscrowV2.sol";
import {TestUSDC} from "../contracts/local/TestUSDC.sol";
import {DepositRecord, MigrationRecords} from "../contracts/migration/MigrationRecords.sol";
import {StateCommitment} from "../contracts/migration/StateCommitment.sol";
import {PaymentEscrowV1_1} from "../contracts/v1_1/PaymentEscrowV1_1.sol";
import {PaymentEscrowV2} from "../contracts/v2/PaymentEscrowV2.sol";
import {Proxies} from "./utils/Common.sol";
import {TestBase} from "./utils/Vm.sol";
import {V1Fixture} from "./utils/V1Fixture.sol";

/**
 * @title PaymentEscrowV2CommitmentFuzzTest
 * @notice The deposit commitment names the records, not how they were batched: the same
 * records imported in one batch, split at any point, or one by one through `migrateDeposit`
 * give the same commitment, count, balances and totals. This test contract is the migrator and
 * funds every batch itself.
 */
contract PaymentEscrowV2CommitmentFuzzTest is TestBase {
    uint256 internal constant MAX_RECORDS = 40;
    uint256 internal constant MAX_AMOUNT = 1e30;

    address internal admin = address(uint160(uint256(keccak256("fabstir.test.admin"))));
    address internal treasury = address(uint160(uint256(keccak256("fabstir.test.treasury"))));
    TestUSDC internal usdc;

    function setUp() public {
        usdc = new TestUSDC();
    }

    function _deploy() internal returns (PaymentEscrowV2 escrow) {
        escrow = PaymentEscrowV2(
            Proxies.deploy(
                address(new PaymentEscrowV2()),
                abi.encodeCall(PaymentEscrowV2.initialize, (admin, address(this), treasury, 250))
            )
        );
        vm.prank(admin);
        escrow.setTokenAllowed(address(usdc), true);
        usdc.approve(address(escrow), type(uint256).max);
    }

    /// @dev `n` records with distinct users, ETH or USDC, amounts in [1, MAX_AMOUNT], from `seed`.
    function _records(uint256 seed, uint256 n) internal view returns (DepositRecord[] memory records) {
        records = new DepositRecord[](n);
        for (uint256 i = 0; i < n; ++i) {
            bytes32 h = keccak256(abi.encode(seed, i));
            records[i] = DepositRecord({
                // The index in the low bits keeps users distinct within a run.
                user: address(uint160(uint256(h) << 16) | uint160(i + 1)),
                token: uint256(h) & 1 == 0 ? address(0) : address(usdc),
                amount: bound(uint256(keccak256(abi.encode(h))), 1, MAX_AMOUNT)
            });
        }
    }

    function _slice(
        DepositRecord[] memory records,
        uint256 from,
        uint256 to
    ) internal pure returns (DepositRecord[] memory part) {
        part = new DepositRecord[](to - from);
        for (uint256 i = from; i < to; ++i) part[i - from] = records[i];
    }

    /// @dev The ETH records' sum; mints the USDC sum to this contract.
    function _fund(DepositRecord[] memory records) internal returns (uint256 eth) {
        uint256 tokens = 0;
        for (uint256 i = 0; i < records.length; ++i) {
            if (records[i].token == address(0)) eth += records[i].amount;
            else tokens += records[i].amount;
        }
        usdc.mint(address(this), tokens);
        vm.deal(address(this), address(this).balance + eth);
    }

    function _import(PaymentEscrowV2 escrow, DepositRecord[] memory records) internal {
        uint256 eth = _fund(records);
        escrow.batchMigrateDeposits{value: eth}(escrow.migratedCount(), records);
    }

    function _commitmentOf(DepositRecord[] memory records) internal pure returns (bytes32 acc) {
        for (uint256 i = 0; i < records.length; ++i) acc = StateCommitment.fold(acc, MigrationRecords.leaf(records[i]));
    }

    function _assertSameState(PaymentEscrowV2 a, PaymentEscrowV2 b, DepositRecord[] memory records) internal view {
        assertEq(uint256(a.migrationCommitment()), uint256(_commitmentOf(records)), "commitment != fold of leaves");
        assertEq(uint256(b.migrationCommitment()), uint256(a.migrationCommitment()), "commitments differ");
        assertEq(a.migratedCount(), records.length, "count");
        assertEq(b.migratedCount(), records.length, "count");
        for (uint256 i = 0; i < records.length; ++i) {
            assertEq(a.balanceOf(records[i].user, records[i].token), records[i].amount, "balance");
            assertEq(b.balanceOf(records[i].user, records[i].token), records[i].amount, "balance");
        }
        address[2] memory tokens = [address(0), address(usdc)];
        for (uint256 t = 0; t < tokens.length; ++t) {
            assertEq(a.totalFree(tokens[t]), b.totalFree(tokens[t]), "totalFree");
            uint256 held = t == 0 ? address(a).balance : usdc.balanceOf(address(a));
            assertEq(held, a.totalFree(tokens[t]), "escrow holds its totalFree");
        }
    }

    /// @notice One batch or two batches split at any point: same commitment and state.
    function testFuzz_SplitAnywhereGivesTheSameCommitment(uint256 seed, uint256 n, uint256 split) public {
        n = bound(n, 2, MAX_RECORDS);
        split = bound(split, 1, n - 1);
        DepositRecord[] memory records = _records(seed, n);
        PaymentEscrowV2 whole = _deploy();
        PaymentEscrowV2 parts = _deploy();
        _import(whole, records);
        _import(parts, _slice(records, 0, split));
        _import(parts, _slice(records, split, n));
        assertEq(parts.migrationBatchCount(), 2, "two batches");
        _assertSameState(whole, parts, records);
    }

    /// @notice The single form is a batch of one at the cursor: record by record, same result.
    function testFuzz_SingleFormMatchesOneBatch(uint256 seed, uint256 n) public {
        n = bound(n, 1, MAX_RECORDS / 4);
        DepositRecord[] memory records = _records(seed, n);
        PaymentEscrowV2 whole = _deploy();
        PaymentEscrowV2 single = _deploy();
        _import(whole, records);
        for (uint256 i = 0; i < n; ++i) {
            DepositRecord memory r = records[i];
            uint256 eth = _fund(_slice(records, i, i + 1));
            single.migrateDeposit{value: eth}(r.user, r.token, r.amount);
        }
        _assertSameState(whole, single, records);
    }

    /// @notice Rolling back the second part and importing it again restores the same commitment.
    function testFuzz_RollbackThenReimportGivesTheSameCommitment(uint256 seed, uint256 n, uint256 split) public {
        n = bound(n, 2, MAX_RECORDS);
        split = bound(split, 1, n - 1);
        DepositRecord[] memory records = _records(seed, n);
        PaymentEscrowV2 whole = _deploy();
        PaymentEscrowV2 parts = _deploy();
        _import(whole, records);
        _import(parts, _slice(records, 0, split));
        _import(parts, _slice(records, split, n));
        parts.returnLastBatch(_slice(records, split, n));
        assertEq(
            uint256(parts.migrationCommitment()),
            uint256(_commitmentOf(_slice(records, 0, split))),
            "rolled back"
        );
        _import(parts, _slice(records, split, n));
        _assertSameState(whole, parts, records);
    }

    /// @dev Funds returned by `returnLastBatch`.
    receive() external payable {}
}

/**
 * @title ShortReturningTarget
 * @notice A migration target that keeps one wei of every rollback: it stands in for a faulty
 * or malicious V2 to show that V1.1 only re-credits what actually came back.
 */
contract ShortReturningTarget {
    uint256 public migratedCount;

    function migrationFinalized() external pure returns (bool) {
        return false;
    }

    function batchMigrateDeposits(uint256, DepositRecord[] calldata records) external payable {
        migratedCount += records.length;
    }

    function returnLastBatch(DepositRecord[] calldata records) external {
        uint256 eth = 0;
        for (uint256 i = 0; i < records.length; ++i) eth += records[i].amount;
        migratedCount -= records.length;
        (bool sent, ) = msg.sender.call{value: eth - 1}("");
        require(sent);
    }
}

/**
 * @title PaymentEscrowV1_1ReturnCheckTest
 * @notice V1.1 re-credits a rolled-back batch only if the target returned exactly its funds.
 */
contract PaymentEscrowV1_1ReturnCheckTest is V1Fixture {
    function testRollbackRevertsWhenTheTargetReturnsLessThanTheRecords() public {
        _deployV1();
        address user = _account("user");
        _deposit(user, ETH, 10);
        ShortReturningTarget target = new ShortReturningTarget();
        vm.startPrank(admin);
        escrow.pause();
        escrow.upgradeToAndCall(
            address(new PaymentEscrowV1_1()),
            abi.encodeCall(PaymentEscrowV1_1.initializeMigration, (IPaymentEscrowV2(address(target))))
        );
        PaymentEscrowV1_1 v1 = PaymentEscrowV1_1(payable(address(escrow)));
        v1.grantRole(v1.MIGRATOR_ROLE(), admin);
        v1.migrateDeposits(0, 1);
        DepositRecord[] memory records = new DepositRecord[](1);
        records[0] = DepositRecord({user: user, token: ETH, amount: 10});
        vm.expectRevert(abi.encodeWithSelector(PaymentEscrowV1_1.ReturnedFundsMismatch.selector, ETH, 10, 9));
        v1.rollbackDeposits(records);
        vm.stopPrank();
        assertEq(v1.balanceOf(user, ETH), 0, "nothing re-credited");
        assertEq(v1.migrationUserCursor(), 1, "the batch stays migrated");
        assertEq(address(target).balance, 10, "the target keeps the funds");
    }
}
