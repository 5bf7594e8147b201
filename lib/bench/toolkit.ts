import type { MigrationEvent, MigrationReporter } from "../migration/events.js";
import { ComponentTally } from "./figures.js";
import { COMPONENTS, type Component } from "./types.js";

/**
 * The toolkit arm's figures, from the events `runMigration` reports as it runs: each copy
 * step's confirmed batches (gasUsed, L1 fee), planned batches (fill of the planner's gas target
 * and calldata size),
 * errors (failed transactions) and its start and end (wall time).
 */
export class ToolkitTally {
  readonly tallies: Record<Component, ComponentTally> = {
    nodes: new ComponentTally(),
    jobs: new ComponentTally(),
    escrow: new ComponentTally(),
  };
  readonly #started = new Map<Component, number>();
  /** Forwards every event to `next` (a renderer), after counting it. */
  constructor(readonly next: MigrationReporter = () => {}) {}

  readonly reporter: MigrationReporter = (event: MigrationEvent) => {
    this.count(event);
    this.next(event);
  };

  count(event: MigrationEvent): void {
    if (!(COMPONENTS as readonly string[]).includes(event.step)) return;
    const step = event.step as Component;
    const tally = this.tallies[step];
    switch (event.type) {
      case "step-started":
        this.#started.set(step, event.at);
        break;
      case "step-finished": {
        const started = this.#started.get(step);
        if (started !== undefined) tally.wallMs += event.at - started;
        break;
      }
      case "batch-planned":
        tally.addFill(event.fill, event.calldataBytes);
        break;
      case "batch-confirmed":
        tally.addTx(BigInt(event.gasUsed), BigInt(event.l1FeeWei));
        break;
      case "error":
        tally.addFailed();
        break;
      default:
        break;
    }
  }
}
