/**
 * The TypeScript twin of the state commitment (`contracts/migration/StateCommitment.sol` and
 * `MigrationRecords.sol`): the same records, the same leaves (`keccak256(abi.encode(record))`)
 * and the same fold (`acc = keccak256(abi.encode(acc, leaf))`), so that V1 read off-chain, V2's
 * on-chain accumulator and a V2 read-back can be compared as one word each. Pure: no Hardhat,
 * no I/O. `test/Commitment.ts` pins it against the Solidity side.
 */
export { MarketplaceNotDrainedError, RecordError, V1_JOB_STATUS_NAMES } from "./commitment/errors.js";
export {
  DEPOSIT_RECORD_TUPLE,
  JOB_RECORD_TUPLE,
  NODE_RECORD_TUPLE,
  depositLeaf,
  encodeDepositRecord,
  encodeJobRecord,
  encodeNodeRecord,
  jobLeaf,
  modelId,
  nodeLeaf,
  type DepositRecord,
  type JobRecord,
  type NodeRecord,
} from "./commitment/records.js";
export { CommitmentAccumulator, EMPTY_COMMITMENT, commitmentOf, fold } from "./commitment/fold.js";
export {
  depositRecordsFromV1,
  jobRecordFromV1,
  nodeRecordFromV1,
  type V1Job,
  type V1Node,
} from "./commitment/fromV1.js";
export {
  depositRecordFromV2Event,
  jobRecordFromV2Event,
  nodeRecordFromV2,
  type V2JobEventRecord,
  type V2Node,
} from "./commitment/fromV2.js";
export { keccak256Into } from "./commitment/keccak.js";
