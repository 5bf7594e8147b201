import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  CommitmentAccumulator,
  modelId,
  type DepositRecord,
  type JobRecord,
  type NodeRecord,
} from "../../commitment.js";
import { readSnapshot, SnapshotError, snapshotSourceFromState, writeSnapshot } from "../../snapshot.js";
import type { V1State } from "../../v1State.js";
import { type HostileKind } from "./core.js";
import { hostileJsonLines } from "./mutate.js";

/** V1 snapshots (lib/snapshot.ts): read back and verified as every migrate:* step after `snapshot` does. */

const A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const MARKETPLACE = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const ESCROW = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
const ETH = "0x0000000000000000000000000000000000000000";
const H = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

function sampleState(): V1State {
  const llama = modelId("llama-3-8b");
  const nodes: NodeRecord[] = [
    {
      operator: A,
      stake: 10n ** 18n,
      registeredAt: 100n,
      unstakeRequestedAt: 0n,
      reputation: 50n,
      active: true,
      peerId: "peer-a",
      region: "eu",
      models: [llama],
    },
    {
      operator: B,
      stake: 2n * 10n ** 18n,
      registeredAt: 101n,
      unstakeRequestedAt: 0n,
      reputation: 70n,
      active: false,
      peerId: "peer-b",
      region: "us",
      models: [],
    },
  ];
  const jobs: JobRecord[] = [1n, 2n].map((jobId) => ({
    jobId,
    renter: B,
    host: A,
    token: ETH,
    amount: 1000n * jobId,
    modelId: llama,
    inputHash: H(1),
    resultHash: H(2),
    postedAt: 200n,
    deadline: 300n,
    completedAt: 250n,
    status: 3n,
  }));
  const deposits: DepositRecord[] = [
    { user: A, token: ETH, amount: 5n },
    { user: B, token: ETH, amount: 7n },
  ];
  const fold = <T>(records: T[], add: (acc: CommitmentAccumulator, r: T) => void) => {
    const acc = new CommitmentAccumulator();
    for (const r of records) add(acc, r);
    return acc.commitment;
  };
  return {
    blockNumber: 42,
    blockHash: H(42),
    nodes: { records: nodes, count: 2, commitment: fold(nodes, (a, r) => a.addNode(r)), totalStake: 3n * 10n ** 18n },
    jobs: { records: jobs, count: 2, commitment: fold(jobs, (a, r) => a.addJob(r)) },
    deposits: {
      records: deposits,
      count: 2,
      commitment: fold(deposits, (a, r) => a.addDeposit(r)),
      tokens: [ETH],
      totals: [12n],
    },
    modelNames: ["llama-3-8b"],
    calls: 0,
  };
}

/** The valid snapshot's lines, parsed (written once by `writeSnapshot` into `dir`). */
export async function validSnapshotLines(dir: string): Promise<unknown[]> {
  const file = path.join(dir, "valid.ndjson");
  await writeSnapshot(
    file,
    snapshotSourceFromState(sampleState(), {
      chainId: 31337,
      addresses: { registry: REGISTRY, marketplace: MARKETPLACE, escrow: ESCROW },
    }),
  );
  return (await readFile(file, "utf8"))
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as unknown);
}

export function snapshotKind(validLines: readonly unknown[]): HostileKind<Buffer> {
  return {
    name: "snapshot",
    arbitrary: hostileJsonLines(validLines),
    refusals: [SnapshotError],
    async read(bytes, dir) {
      const file = path.join(dir, "v1.ndjson");
      await writeFile(file, bytes);
      await readSnapshot(file, { expect: { chainId: 31337 } });
    },
  };
}
