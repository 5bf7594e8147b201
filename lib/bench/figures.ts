import { MAX_TX_BYTES } from "../migration/planner.js";
import type { ComponentFigures } from "./types.js";

/** Collects one component's transactions as an arm sends them, then shapes its figures. */
export class ComponentTally {
  records = 0;
  txs = 0;
  failedTxs = 0;
  wallMs = 0;
  #gas = 0n;
  #maxTxGas = 0n;
  #l1FeeWei = 0n;
  readonly #fills: number[] = [];
  readonly #gasFills: number[] = [];

  /** A mined transaction. */
  addTx(gasUsed: bigint, l1FeeWei: bigint): void {
    this.txs++;
    this.#gas += gasUsed;
    if (gasUsed > this.#maxTxGas) this.#maxTxGas = gasUsed;
    this.#l1FeeWei += l1FeeWei;
  }

  /** A batch that could not run (its estimate or execution exceeds the cap): counted, not sent. */
  addFailed(): void {
    this.failedTxs++;
  }

  /**
   * A batch, in batch order: its gas as a share of the planner's gas target, and its calldata in
   * bytes. Its fill is that of the limit that binds it: the gas share, or the calldata's share of
   * the 128 KiB transaction size, whichever is larger.
   */
  addFill(gasFill: number, calldataBytes: number): void {
    this.#gasFills.push(gasFill);
    this.#fills.push(Math.max(gasFill, calldataBytes / MAX_TX_BYTES));
  }

  figures(floorGasPerRecord: number): ComponentFigures {
    return {
      records: this.records,
      txs: this.txs,
      failedTxs: this.failedTxs,
      gas: Number(this.#gas),
      gasPerRecord: this.records === 0 ? 0 : Number((this.#gas + BigInt(this.records) - 1n) / BigInt(this.records)),
      floorGasPerRecord,
      maxTxGas: Number(this.#maxTxGas),
      meanFill: meanFill(this.#fills),
      meanGasFill: meanFill(this.#gasFills),
      l1FeeWei: this.#l1FeeWei.toString(),
      wallMs: Math.round(this.wallMs),
    };
  }
}

/**
 * The mean of the batches' fills with the last batch left out (it holds what remains, so it is
 * small by construction); rounded to 4 decimals; null with fewer than two batches.
 */
export function meanFill(fills: readonly number[]): number | null {
  if (fills.length < 2) return null;
  const counted = fills.slice(0, -1);
  const mean = counted.reduce((a, b) => a + b, 0) / counted.length;
  return Math.round(mean * 10_000) / 10_000;
}
