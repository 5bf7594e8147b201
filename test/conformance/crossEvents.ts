import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import type { ConformanceStack } from "./targets.js";

type Tx = Promise<ContractTransactionResponse> | ContractTransactionResponse;

/**
 * Events a V1 call makes *another* contract emit (the marketplace's completeJob makes the escrow
 * emit Released and the registry ReputationChanged). Behind the adapters those effects happen in
 * V2, so V2 emits its counterpart from its own address; the adapter called re-emits only its own
 * V1 events. This table is the list in docs/adapters.md, "What differs through the adapter".
 */
export type CrossEvent =
  | { name: "Locked"; args: [jobId: bigint, payer: string, token: string, amount: bigint] }
  | { name: "Released"; args: [jobId: bigint, host: string, token: string, hostAmount: bigint, fee: bigint] }
  | { name: "Refunded"; args: [jobId: bigint, payer: string, token: string, amount: bigint] }
  | { name: "ReputationChanged"; args: [operator: string, oldReputation: bigint, newReputation: bigint] };

/** Asserts `tx` made the escrow or registry emit `event`: V1's, or V2's counterpart behind the adapters. */
export async function expectCrossEvent(s: ConformanceStack, tx: Tx, event: CrossEvent): Promise<void> {
  const { name, args } = event;
  if (s.v2 === undefined) {
    const emitter = name === "ReputationChanged" ? s.registry : s.escrow;
    await expect(tx)
      .to.emit(emitter, name)
      .withArgs(...args);
    return;
  }
  switch (name) {
    case "ReputationChanged":
      await expect(tx)
        .to.emit(s.v2.registry, "ReputationChanged")
        .withArgs(...args);
      return;
    case "Released":
      // V2 settles a job: the host's pay, the fee, and what went back to the renter (none: V1 pays the whole lock).
      await expect(tx)
        .to.emit(s.v2.escrow, "Settled")
        .withArgs(...args, 0n);
      return;
    default:
      await expect(tx)
        .to.emit(s.v2.escrow, name)
        .withArgs(...args);
  }
}

/** Asserts `tx` did not change any reputation (in V1's registry, or V2's behind the adapters). */
export async function expectNoReputationChange(s: ConformanceStack, tx: Tx): Promise<void> {
  await expect(tx).not.to.emit(s.v2?.registry ?? s.registry, "ReputationChanged");
}
