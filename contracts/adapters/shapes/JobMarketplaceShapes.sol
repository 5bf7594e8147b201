// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {PageBounds} from "../../common/PageBounds.sol";
import {IJobMarketplaceV2} from "../../interfaces/IJobMarketplaceV2.sol";
import {INodeRegistryV1} from "../../interfaces/INodeRegistryV1.sol";
import {INodeRegistryV2} from "../../interfaces/INodeRegistryV2.sol";
import {IPaymentEscrowV1} from "../../interfaces/IPaymentEscrowV1.sol";
import {JobMarketplaceV2} from "../../v2/JobMarketplaceV2.sol";
import {JobMarketplaceV1Storage} from "../../v1/storage/JobMarketplaceV1Storage.sol";
import {V1Adapter} from "../base/V1Adapter.sol";

/**
 * @title JobMarketplaceShapes
 * @notice The hand-written converters the JobMarketplace mapping (adapters/JobMarketplace.json)
 * names: model names to ids, V1's whole-price economics on V2's per-token pricing, V2's jobs in
 * V1's shape.
 * @dev Inherits V1's storage base: `registry()` and `escrow()` still answer V1's proxies from it.
 */
abstract contract JobMarketplaceShapes is V1Adapter, JobMarketplaceV1Storage {
    /// @dev V1's longest model id, in bytes.
    uint256 private constant V1_MAX_MODEL_ID_LENGTH = 128;

    /// @dev The V2 marketplace this adapter forwards to.
    function _marketplace() internal view returns (JobMarketplaceV2) {
        return JobMarketplaceV2(_target());
    }

    /**
     * @dev V1's model name as V2's id. Preserves V1's check and error (`InvalidModelId(length,
     * 128)`, V1's first check of `postJob`) and V1's acceptance of any model name: the name is
     * registered in V2's permissionless name registry, so V2's `UnknownModel` never reaches a V1
     * caller.
     */
    function _modelId(string calldata name) internal returns (bytes32) {
        uint256 length = bytes(name).length;
        if (length == 0 || length > V1_MAX_MODEL_ID_LENGTH) revert InvalidModelId(length, V1_MAX_MODEL_ID_LENGTH);
        return _marketplace().registry().registerModel(name);
    }

    /**
     * @dev V1's `claimJob`: any active node serving the model may claim, and V1 pays it the whole
     * `maxPrice`. V2 claims at the host's own price and refuses a host without one. A host with a
     * V2 price claims at it. A host without one gets a price equal to the job's amount for the
     * duration of the claim (set, claim, reset to zero, all as the host in this transaction): the
     * job then records that price, completing it for one token pays the whole lock, as V1 did,
     * and the host's V2 offer is unchanged afterwards. V1's `HostCannotServe(host, modelName)`
     * is checked first; every other refusal is V2's (`JobNotFound`, `InvalidJobStatus`,
     * `DeadlinePassed` share V1's shapes; history reverts `HistoricalJob`).
     */
    function _claimJob(uint256 jobId) internal {
        JobMarketplaceV2 marketplace = _marketplace();
        IJobMarketplaceV2.Job memory job = marketplace.getJob(jobId);
        bytes memory claim = abi.encodeCall(marketplace.claimJob, (jobId));
        if (job.status != IJobMarketplaceV2.JobStatus.Posted || block.timestamp > job.deadline) {
            _forward(0, claim);
            return;
        }
        INodeRegistryV2 registry = marketplace.registry();
        if (!registry.isActiveNode(msg.sender) || !registry.supportsModel(msg.sender, job.modelId)) {
            revert HostCannotServe(msg.sender, registry.modelName(job.modelId));
        }
        if (registry.priceOf(msg.sender, job.modelId) != 0) {
            _forward(0, claim);
            return;
        }
        _forwardTo(address(registry), 0, abi.encodeCall(registry.setModelPrice, (job.modelId, job.amount)));
        _forward(0, claim);
        _forwardTo(address(registry), 0, abi.encodeCall(registry.setModelPrice, (job.modelId, 0)));
    }

    /**
     * @dev The tokens to report so that V2's settlement pays the whole lock, V1's payout:
     * `ceil(amount / pricePerToken)`, since V2 caps the cost at the lock. V2 already lets a host
     * report any count, so this grants nothing V2 does not. A job that is not claimed has no
     * price: 1, and V2 refuses it with V1's `InvalidJobStatus`.
     */
    function _tokensForWholeLock(uint256 jobId) internal view returns (uint256) {
        IJobMarketplaceV2.Job memory job = _marketplace().getJob(jobId);
        if (job.pricePerToken == 0) return 1;
        return Math.ceilDiv(job.amount, job.pricePerToken);
    }

    /// @dev The host of `jobId` (zero when unclaimed), read before an expiry for V1's event.
    function _hostOf(uint256 jobId) internal view returns (address) {
        return _marketplace().getJob(jobId).host;
    }

    /**
     * @dev V1's `getJob`: an all-zero job for id 0 or an id not yet posted (V1 did not revert).
     * A job V1 finished before the migration is V2 history (a commitment and an event, no
     * storage), but its record is still where V1 wrote it, in this proxy's V1 namespace, which
     * nothing can write any more: it is answered from there, exactly as V1 answered.
     */
    function _getJob(uint256 jobId) internal view returns (Job memory) {
        JobMarketplaceV2 marketplace = _marketplace();
        Job memory none;
        if (jobId == 0 || jobId > marketplace.jobCount()) return none;
        if (jobId <= marketplace.historicalJobCount()) return _s().jobs[jobId];
        return _toV1Job(marketplace.getJob(jobId));
    }

    /// @dev V1's `getJobsPage` over V1's history and V2's jobs, in id order.
    function _getJobsPage(uint256 offset, uint256 limit) internal view returns (Job[] memory page) {
        JobMarketplaceV2 marketplace = _marketplace();
        uint256 history = marketplace.historicalJobCount();
        page = new Job[](PageBounds.size(offset, limit, marketplace.jobCount()));
        for (uint256 i = 0; i < page.length; ++i) {
            uint256 jobId = offset + i + 1;
            page[i] = jobId <= history ? _s().jobs[jobId] : _toV1Job(marketplace.getJob(jobId));
        }
    }

    /**
     * @dev V2's job in V1's shape: `maxPrice` is the locked amount, the model by name, `postedAt`
     * from the metadata's `createdAt`, and `completedAt` its `updatedAt` once completed (V1 set
     * it only on completion).
     */
    function _toV1Job(IJobMarketplaceV2.Job memory job) internal view returns (Job memory v1) {
        v1.renter = job.renter;
        v1.status = JobStatus(uint8(job.status));
        v1.assignedHost = job.host;
        v1.maxPrice = job.amount;
        v1.deadline = job.deadline;
        v1.postedAt = job.metadata.createdAt;
        v1.completedAt = job.status == IJobMarketplaceV2.JobStatus.Completed ? job.metadata.updatedAt : 0;
        v1.modelId = _marketplace().registry().modelName(job.modelId);
        v1.inputHash = job.inputHash;
        v1.resultHash = job.resultHash;
        v1.paymentToken = job.token;
    }

    /// @dev V1's `registry()`: the V1 registry proxy V1 was set up with (now its adapter).
    function _v1Registry() internal view returns (INodeRegistryV1) {
        return _s().registry;
    }

    /// @dev V1's `escrow()`: the V1 escrow proxy V1 was set up with (now its adapter).
    function _v1Escrow() internal view returns (IPaymentEscrowV1) {
        return _s().escrow;
    }

    /// @dev V1's `MAX_MODEL_ID_LENGTH`, which V2 no longer has (its model names are registered).
    function _maxModelIdLength() internal pure returns (uint256) {
        return V1_MAX_MODEL_ID_LENGTH;
    }
}
