// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts/proxy/utils/UUPSUpgradeable.sol";
import {IJobMarketplaceV1} from "../../contracts/interfaces/IJobMarketplaceV1.sol";
import {INodeRegistryV1} from "../../contracts/interfaces/INodeRegistryV1.sol";
import {INodeRegistryV2} from "../../contracts/interfaces/INodeRegistryV2.sol";
import {IPaymentEscrowV2} from "../../contracts/interfaces/IPaymentEscrowV2.sol";
import {DepositRecord, JobRecord, MigrationRecords, NodeRecord} from "../../contracts/migration/MigrationRecords.sol";
import {StateCommitment} from "../../contracts/migration/StateCommitment.sol";
import {IMigrationLifecycle} from "../../contracts/interfaces/IMigrationLifecycle.sol";
import {TestUSDC} from "../../contracts/local/TestUSDC.sol";
import {JobMarketplaceV1} from "../../contracts/v1/JobMarketplaceV1.sol";
import {NodeRegistryV1} from "../../contracts/v1/NodeRegistryV1.sol";
import {PaymentEscrowV1} from "../../contracts/v1/PaymentEscrowV1.sol";
import {NodeRegistryV1_1} from "../../contracts/v1_1/NodeRegistryV1_1.sol";
import {PaymentEscrowV1_1} from "../../contracts/v1_1/PaymentEscrowV1_1.sol";
import {JobMarketplaceV2} from "../../contracts/v2/JobMarketplaceV2.sol";
import {NodeRegistryV2} from "../../contracts/v2/NodeRegistryV2.sol";
import {PaymentEscrowV2} from "../../contracts/v2/PaymentEscrowV2.sol";
import {Models, Proxies} from "./Common.sol";
import {V1Fixture} from "./V1Fixture.sol";

/**
 * @title V1Records
 * @notice The migration records of V1 state as the off-chain engine reads them
 * (lib/commitment/fromV1.ts), written again here from V1's public getters so that a test's
 * expectations do not come from the V1.1 code under test.
 */
library V1Records {
    /// @notice Nodes `[start, end)` in V1's registration order.
    function nodes(NodeRegistryV1 registry, uint256 start, uint256 end) internal view returns (NodeRecord[] memory) {
        (INodeRegistryV1.Node[] memory page, uint256[] memory reputations) = registry.getNodesPage(start, end - start);
        NodeRecord[] memory records = new NodeRecord[](page.length);
        for (uint256 i = 0; i < page.length; ++i) {
            INodeRegistryV1.Node memory node = page[i];
            bytes32[] memory models = new bytes32[](node.models.length);
            for (uint256 j = 0; j < models.length; ++j) models[j] = keccak256(bytes(node.models[j]));
            records[i] = NodeRecord({
                operator: node.operator,
                stake: uint96(node.stake),
                registeredAt: node.registeredAt,
                unstakeRequestedAt: node.unstakeRequestedAt,
                reputation: uint16(reputations[i]),
                active: node.active,
                peerId: node.peerId,
                region: node.region,
                models: models
            });
        }
        return records;
    }

    /// @notice The nonzero free balances of users `[userStart, userEnd)`, user then token order.
    function deposits(
        PaymentEscrowV1 escrow,
        uint256 userStart,
        uint256 userEnd
    ) internal view returns (DepositRecord[] memory records) {
        address[] memory users = escrow.getUsersPage(userStart, userEnd - userStart);
        address[] memory tokens = escrow.tokens();
        records = new DepositRecord[](users.length * tokens.length);
        uint256 n = 0;
        for (uint256 u = 0; u < users.length; ++u) {
            for (uint256 t = 0; t < tokens.length; ++t) {
                uint256 amount = escrow.balanceOf(users[u], tokens[t]);
                if (amount != 0) records[n++] = DepositRecord({user: users[u], token: tokens[t], amount: amount});
            }
        }
        assembly ("memory-safe") {
            mstore(records, n)
        }
    }

    /// @notice V1 jobs `1…jobCount()`, every one finished (the fixture drains the marketplace).
    function jobs(JobMarketplaceV1 marketplace) internal view returns (JobRecord[] memory records) {
        uint256 count = marketplace.jobCount();
        records = new JobRecord[](count);
        for (uint256 id = 1; id <= count; ++id) {
            IJobMarketplaceV1.Job memory job = marketplace.getJob(id);
            records[id - 1] = JobRecord({
                jobId: id,
                renter: job.renter,
                host: job.assignedHost,
                token: job.paymentToken,
                amount: job.maxPrice,
                modelId: keccak256(bytes(job.modelId)),
                inputHash: job.inputHash,
                resultHash: job.resultHash,
                postedAt: uint64(job.postedAt),
                deadline: uint64(job.deadline),
                completedAt: uint64(job.completedAt),
                status: uint8(job.status)
            });
        }
    }

    /// @notice The commitment of `records`, folded from zero.
    function fold(NodeRecord[] memory records) internal pure returns (bytes32 acc) {
        for (uint256 i = 0; i < records.length; ++i) acc = StateCommitment.fold(acc, MigrationRecords.leaf(records[i]));
    }

    /// @notice The commitment of `records`, folded from zero.
    function fold(DepositRecord[] memory records) internal pure returns (bytes32 acc) {
        for (uint256 i = 0; i < records.length; ++i) acc = StateCommitment.fold(acc, MigrationRecords.leaf(records[i]));
    }
}

/// @notice The contracts a migration involves, and the operator who drives it.
struct MigrationStack {
    NodeRegistryV1_1 registryV1;
    PaymentEscrowV1_1 escrowV1;
    NodeRegistryV2 registryV2;
    PaymentEscrowV2 escrowV2;
    JobMarketplaceV2 marketplaceV2;
    TestUSDC usdc;
    address operator;
}

/**
 * @title MigrationState
 * @notice One hash of everything a migration call can move, so that a test can say "this
 * refused call changed nothing" in one comparison.
 */
library MigrationState {
    /// @notice Balances and totals of both generations in ETH and USDC, V1.1's user cursor, the
    /// operator's wallet, and each V2 contract's commitment, count, batches and finalization.
    function digest(MigrationStack memory s) internal view returns (bytes32) {
        bytes memory acc = abi.encode(
            address(s.registryV1).balance,
            s.registryV1.totalStaked(),
            address(s.registryV2).balance,
            s.registryV2.totalStaked(),
            s.registryV2.nodeCount(),
            s.escrowV1.migrationUserCursor(),
            s.operator.balance,
            s.usdc.balanceOf(s.operator)
        );
        address[2] memory tokens = [address(0), address(s.usdc)];
        for (uint256 t = 0; t < tokens.length; ++t) {
            acc = abi.encode(
                acc,
                holding(s, address(s.escrowV1), tokens[t]),
                s.escrowV1.totalFree(tokens[t]),
                s.escrowV1.totalLocked(tokens[t]),
                holding(s, address(s.escrowV2), tokens[t]),
                s.escrowV2.totalFree(tokens[t]),
                s.escrowV2.totalLocked(tokens[t])
            );
        }
        IMigrationLifecycle[3] memory v2 = lifecycles(s);
        for (uint256 i = 0; i < v2.length; ++i) {
            acc = abi.encode(
                acc,
                v2[i].migrationCommitment(),
                v2[i].migratedCount(),
                v2[i].migrationBatchCount(),
                v2[i].migrationFinalized()
            );
        }
        return keccak256(acc);
    }

    /// @notice The three V2 contracts, registry, escrow and marketplace, as migration targets.
    function lifecycles(MigrationStack memory s) internal pure returns (IMigrationLifecycle[3] memory) {
        return
            [
                IMigrationLifecycle(address(s.registryV2)),
                IMigrationLifecycle(address(s.escrowV2)),
                IMigrationLifecycle(address(s.marketplaceV2))
            ];
    }

    /// @notice What `holder` holds of `token` (ETH as `address(0)`).
    function holding(MigrationStack memory s, address holder, address token) internal view returns (uint256) {
        return token == address(0) ? holder.balance : s.usdc.balanceOf(holder);
    }
}

/**
 * @title V1_1Upgrade
 * @notice Governance's calls, each as the admin with V1 paused, that hand V1 to the migration
 * (docs/migration-flow.md): upgrade the V1 registry and escrow in place to V1.1 pointed at V2,
 * let V2 take batches from the V1.1 proxies, and let the operator drive V1.1. The fixture and
 * the lifecycle handler both run this one list, in this order.
 */
library V1_1Upgrade {
    uint256 internal constant STEPS = 6;

    /// @notice Call `i` of `STEPS`: its target, its data and a name for failure messages. It
    /// reads the roles it grants when built, so build each call after the one before ran (V1.1's
    /// MIGRATOR_ROLE exists only once the proxy is upgraded).
    function step(
        MigrationStack memory s,
        address registryImpl,
        address escrowImpl,
        uint256 i
    ) internal view returns (address target, bytes memory data, string memory name) {
        if (i == 0) {
            bytes memory init = abi.encodeCall(
                NodeRegistryV1_1.initializeMigration,
                (INodeRegistryV2(address(s.registryV2)))
            );
            return (address(s.registryV1), _upgrade(registryImpl, init), "upgrade registry");
        }
        if (i == 1) {
            bytes memory init = abi.encodeCall(
                PaymentEscrowV1_1.initializeMigration,
                (IPaymentEscrowV2(address(s.escrowV2)))
            );
            return (address(s.escrowV1), _upgrade(escrowImpl, init), "upgrade escrow");
        }
        if (i == 2) return _grant(address(s.registryV2), s.registryV2.MIGRATOR_ROLE(), address(s.registryV1));
        if (i == 3) return _grant(address(s.escrowV2), s.escrowV2.MIGRATOR_ROLE(), address(s.escrowV1));
        if (i == 4) return _grant(address(s.registryV1), s.registryV1.MIGRATOR_ROLE(), s.operator);
        return _grant(address(s.escrowV1), s.escrowV1.MIGRATOR_ROLE(), s.operator);
    }

    function _upgrade(address impl, bytes memory init) private pure returns (bytes memory) {
        return abi.encodeCall(UUPSUpgradeable.upgradeToAndCall, (impl, init));
    }

    function _grant(
        address target,
        bytes32 role,
        address account
    ) private pure returns (address, bytes memory, string memory) {
        return (target, abi.encodeCall(IAccessControl.grantRole, (role, account)), "grant role");
    }
}

/**
 * @title MigrationFixture
 * @notice The migration as docs/migration-flow.md runs it, up to the first batch: V1 deployed
 * behind ERC1967 proxies (V1Fixture) and seeded with nodes, balances and finished jobs, paused;
 * the three V2 proxies deployed with `operator` as migrator, the models named and USDC listed;
 * the V1 registry and escrow upgraded in place to V1.1 through `upgradeToAndCall(impl,
 * initializeMigration(v2))`; V2 granting `MIGRATOR_ROLE` to the V1.1 proxies and V1.1 to
 * `operator`.
 *
 * The seed: five hosts (one leaving, one slashed, one with no region and one serving every
 * model), five renters in V1's user order alice, bob, carol (who withdrew everything, so her
 * range migrates no record), dave, erin, then the hosts and the treasury credited by completed
 * jobs; twelve jobs, completed, cancelled and expired (claimed or not), in ETH and USDC.
 */
abstract contract MigrationFixture is V1Fixture {
    /// @notice What `finalizeMigration` is called with.
    struct Expectations {
        bytes32 commitment;
        uint256 count;
        address[] tokens;
        uint256[] funds;
    }

    uint256 internal constant HOSTS = 5;
    uint256 internal constant JOBS = 12;
    uint256 internal constant JOB_LIFETIME = 1 days;

    /// @dev The migration operator, an account without code: it must never hold migrated funds.
    address internal operator = address(uint160(uint256(keccak256("fabstir.test.operator"))));

    /// @dev The V1 proxies once upgraded (same addresses as `registry` and `escrow`).
    NodeRegistryV1_1 internal registryV1_1;
    PaymentEscrowV1_1 internal escrowV1_1;
    NodeRegistryV2 internal registryV2;
    PaymentEscrowV2 internal escrowV2;
    JobMarketplaceV2 internal marketplaceV2;

    address[] internal _hosts;
    address[] internal _renters;
    /// @dev The deposit records `_migratePrefix` migrated, read from V1 before the batch.
    DepositRecord[] internal _migratedDeposits;

    /// @dev The whole setup: seeded and paused V1, V2 open for migration, V1.1 pointed at it.
    function _deployMigration() internal {
        _deployV1();
        _seedV1();
        vm.startPrank(admin);
        registry.pause();
        escrow.pause();
        marketplace.pause();
        vm.stopPrank();
        _deployV2();
        _upgradeToV1_1();
    }

    /// @dev Both generations unseeded, V1 live and not yet upgraded: the lifecycle suite walks
    /// from here. `registryV1_1` and `escrowV1_1` already name the V1 proxies.
    function _deployBothGenerations() internal {
        _deployV1();
        _deployV2();
        _nameV1_1();
    }

    // ---------------------------------------------------------------- setup steps

    function _seedV1() internal {
        string[HOSTS] memory hostNames = ["host0", "host1", "host2", "host3", "host4"];
        for (uint256 i = 0; i < HOSTS; ++i) _hosts.push(_account(hostNames[i]));
        string[5] memory renterNames = ["alice", "bob", "carol", "dave", "erin"];
        for (uint256 i = 0; i < renterNames.length; ++i) _renters.push(_account(renterNames[i]));

        // Hosts: models by index (0 llama, 1 mistral, 2 qwen); odd stakes so that sums are exact.
        _registerHost(0, 1 ether + 1, _models(1, 0, 0), "eu-west");
        _registerHost(1, 2.5 ether + 7, _models(2, 0, 1), "us-east");
        _registerHost(2, 0.75 ether, _models(2, 1, 2), "ap-south");
        _registerHost(3, 3 ether + 11, _models(1, 2, 0), "");
        _registerHost(4, 0.01 ether, _models(3, 0, 1), "eu-north");

        // Renters, in this order in V1's user list; carol empties her balance.
        _deposit(_renters[0], ETH, 10 ether + 3);
        _deposit(_renters[0], address(usdc), 50_000e6 + 5);
        _deposit(_renters[1], ETH, 4 ether);
        _deposit(_renters[2], ETH, 1 ether);
        vm.prank(_renters[2]);
        escrow.withdraw(ETH, 1 ether);
        _deposit(_renters[3], address(usdc), 20_000e6);
        _deposit(_renters[4], ETH, 2 ether + 9);
        _deposit(_renters[4], address(usdc), 777e6);

        // Jobs: i % 4 is completed, cancelled, expired after a claim, expired unclaimed.
        uint256[] memory open = new uint256[](JOBS);
        uint256 openCount = 0;
        for (uint256 i = 0; i < JOBS; ++i) {
            // Alice pays in ETH, or USDC for every fourth job; dave and erin pay in USDC.
            address renter = _renters[i % 2 == 0 ? 0 : (i % 3 == 0 ? 3 : 4)];
            address token = (i % 2 == 1 || i % 8 == 4) ? address(usdc) : ETH;
            uint256 price = token == ETH ? 0.1 ether + i : 100e6 + i;
            uint256 model = i % 3;
            vm.prank(renter);
            uint256 jobId = marketplace.postJob(
                Models.name(model),
                keccak256(abi.encode("input", i)),
                price,
                block.timestamp + JOB_LIFETIME,
                token
            );
            address host = _hosts[i % 2 == 0 ? model : 4];
            if (i % 4 == 0 || i % 4 == 2) {
                vm.prank(host);
                marketplace.claimJob(jobId);
            }
            if (i % 4 == 0) {
                vm.warp(block.timestamp + 1 hours);
                vm.prank(host);
                marketplace.completeJob(jobId, keccak256(abi.encode("result", i)));
            } else if (i % 4 == 1) {
                vm.prank(renter);
                marketplace.cancelJob(jobId);
            } else {
                open[openCount++] = jobId;
            }
        }
        vm.warp(block.timestamp + JOB_LIFETIME + 1);
        for (uint256 i = 0; i < openCount; ++i) marketplace.expireJob(open[i]);

        vm.prank(_hosts[3]);
        registry.requestUnstake();
        vm.prank(admin);
        registry.slash(_hosts[2], 0.05 ether + 13, "fixture");

        // The migration needs a drained marketplace and a user list that ends with balances.
        assertTrue(escrow.totalLocked(ETH) == 0 && escrow.totalLocked(address(usdc)) == 0, "fixture: open locks");
        uint256 users = escrow.userCount();
        assertTrue(V1Records.deposits(escrow, users - 1, users).length != 0, "fixture: last user holds nothing");
    }

    function _deployV2() internal {
        registryV2 = NodeRegistryV2(
            Proxies.deploy(
                address(new NodeRegistryV2()),
                abi.encodeCall(NodeRegistryV2.initialize, (admin, operator, treasury, MINIMUM_STAKE, UNSTAKE_COOLDOWN))
            )
        );
        escrowV2 = PaymentEscrowV2(
            Proxies.deploy(
                address(new PaymentEscrowV2()),
                abi.encodeCall(PaymentEscrowV2.initialize, (admin, operator, treasury, FEE_BPS))
            )
        );
        marketplaceV2 = JobMarketplaceV2(
            Proxies.deploy(
                address(new JobMarketplaceV2()),
                abi.encodeCall(
                    JobMarketplaceV2.initialize,
                    (admin, operator, INodeRegistryV2(address(registryV2)), IPaymentEscrowV2(address(escrowV2)))
                )
            )
        );
        _wire(address(registryV2), address(escrowV2), address(marketplaceV2));

        // Model names are permissionless: the operator registers every name V1 uses.
        string[] memory names = new string[](Models.COUNT);
        for (uint256 i = 0; i < names.length; ++i) names[i] = Models.name(i);
        vm.prank(operator);
        registryV2.registerModels(names);

        _label(address(registryV2), address(escrowV2), address(marketplaceV2), "V2");
        vm.label(operator, "operator");
    }

    /// @dev Governance's upgrade of the paused V1 (V1_1Upgrade), the implementations deployed
    /// by the admin.
    function _upgradeToV1_1() internal {
        _nameV1_1();
        MigrationStack memory stack = _stack();
        vm.startPrank(admin);
        address registryImpl = address(new NodeRegistryV1_1());
        address escrowImpl = address(new PaymentEscrowV1_1());
        for (uint256 i = 0; i < V1_1Upgrade.STEPS; ++i) {
            (address target, bytes memory data, ) = V1_1Upgrade.step(stack, registryImpl, escrowImpl, i);
            (bool ok, bytes memory ret) = target.call(data);
            if (!ok) {
                // The step's own error, as a direct call would give it.
                assembly ("memory-safe") {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
        vm.stopPrank();
    }

    /// @dev The V1 proxies keep their addresses through the upgrade: typed views of the same proxies.
    function _nameV1_1() internal {
        registryV1_1 = NodeRegistryV1_1(payable(address(registry)));
        escrowV1_1 = PaymentEscrowV1_1(payable(address(escrow)));
    }

    // ---------------------------------------------------------------- migration helpers

    /**
     * @dev Migrates, each in one batch, the first `nodes` nodes, the deposits of the first
     * `users` users and the first `jobs` jobs, and returns what finalize must be told for each
     * contract (registry, escrow, marketplace), computed from V1 before the batches.
     */
    function _migratePrefix(
        uint256 nodes,
        uint256 users,
        uint256 jobs
    ) internal returns (Expectations[3] memory expected) {
        NodeRecord[] memory nodeRecords = V1Records.nodes(registry, 0, nodes);
        DepositRecord[] memory depositRecords = V1Records.deposits(escrow, 0, users);
        for (uint256 i = 0; i < depositRecords.length; ++i) _migratedDeposits.push(depositRecords[i]);
        JobRecord[] memory jobRecords = _slice(V1Records.jobs(marketplace), 0, jobs);

        uint256 staked = 0;
        for (uint256 i = 0; i < nodeRecords.length; ++i) staked += nodeRecords[i].stake;
        expected[0] = _expectation(V1Records.fold(nodeRecords), nodes, 1);
        expected[0].funds[0] = staked;

        expected[1] = _expectation(V1Records.fold(depositRecords), depositRecords.length, 2);
        expected[1].tokens[1] = address(usdc);
        for (uint256 i = 0; i < depositRecords.length; ++i) {
            expected[1].funds[depositRecords[i].token == ETH ? 0 : 1] += depositRecords[i].amount;
        }

        bytes32 jobCommitment = 0;
        for (uint256 i = 0; i < jobRecords.length; ++i) {
            jobCommitment = StateCommitment.fold(jobCommitment, this.jobLeaf(jobRecords[i]));
        }
        expected[2] = _expectation(jobCommitment, jobs, 0);

        vm.startPrank(operator);
        if (nodes != 0) registryV1_1.migrateNodes(0, nodeRecords);
        if (users != 0) escrowV1_1.migrateDeposits(0, users);
        if (jobs != 0) marketplaceV2.importHistoricalJobs(0, jobRecords);
        vm.stopPrank();
    }

    function _expectation(
        bytes32 commitment,
        uint256 count,
        uint256 tokenCount
    ) private pure returns (Expectations memory e) {
        e.commitment = commitment;
        e.count = count;
        e.tokens = new address[](tokenCount);
        e.funds = new uint256[](tokenCount);
    }

    /// @dev Records `[from, to)` of `records`.
    function _slice(JobRecord[] memory records, uint256 from, uint256 to) internal pure returns (JobRecord[] memory) {
        JobRecord[] memory part = new JobRecord[](to - from);
        for (uint256 i = from; i < to; ++i) part[i - from] = records[i];
        return part;
    }

    function _stack() internal view returns (MigrationStack memory) {
        return MigrationStack(registryV1_1, escrowV1_1, registryV2, escrowV2, marketplaceV2, usdc, operator);
    }

    /// @notice `MigrationRecords.leaf` of a job record, which takes calldata: tests reach it
    /// through this external call.
    function jobLeaf(JobRecord calldata record) external pure returns (bytes32) {
        return MigrationRecords.leaf(record);
    }

    // ---------------------------------------------------------------- seed helpers

    function _registerHost(uint256 index, uint256 stake, string[] memory models, string memory region) private {
        address host = _hosts[index];
        vm.deal(host, stake);
        vm.prank(host);
        registry.registerNode{value: stake}(string.concat("12D3KooW-", _hostPeer(index)), models, region);
    }

    function _hostPeer(uint256 index) private pure returns (string memory) {
        return ["a", "b", "c", "d", "e"][index];
    }

    /// @dev `count` model names starting at index `first`, then `second` (count 1 to 3).
    function _models(uint256 count, uint256 first, uint256 second) private pure returns (string[] memory models) {
        models = new string[](count);
        models[0] = Models.name(first);
        if (count > 1) models[1] = Models.name(second);
        if (count > 2) models[2] = Models.name(3 - first - second);
    }
}
