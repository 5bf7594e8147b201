import { ALL_STEPS, runMigration, type RunOptions } from "../migration/engine.js";
import type { MigrationReporter } from "../migration/events.js";
import type { StepContext } from "../migration/steps/context.js";
import type { MigrationDriver } from "./session.js";

/**
 * The driver `migrate:dashboard` gives its session: `migrate:all`'s steps through the engine, with
 * the session's gate as `beforeBatch`, and the engine's rollback step with the same options (the
 * snapshot the run took, the journal it keeps). `context(reporter)` builds the steps' context
 * around the session's reporter. Its own module so that the tests drive the task's driver, not a copy.
 */
export function engineDriver(context: (reporter: MigrationReporter) => StepContext, run: RunOptions): MigrationDriver {
  return {
    run: (reporter, beforeBatch) => runMigration(context(reporter), { ...run, steps: ALL_STEPS, beforeBatch }),
    rollback: (reporter) => runMigration(context(reporter), { ...run, steps: ["rollback"] }),
  };
}
