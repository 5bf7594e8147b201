import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A record of the version before (up's input, down's output) or after the migration. */
export type AnyRecord = Record<string, unknown>;

/**
 * One schema step, `version - 1` → `version`. `up` and `down` are pure (record → record; they never
 * see `_retained`, which the runner handles) and must satisfy down(up(r)) = r for every valid
 * retained-free record of the version before; `ddl` is run in the step's transaction (up before
 * the records are rewritten, down after).
 */
export interface MigrationModule {
  version: number;
  name: string;
  /** The module's own `import.meta.url`: its checksum is that file's text. */
  source: string;
  up(record: AnyRecord): AnyRecord;
  down(record: AnyRecord): AnyRecord;
  ddl?: { up: readonly string[]; down: readonly string[] };
}

export interface Migration extends MigrationModule {
  /** SHA-256 (hex) of the module's source text with line endings normalized to LF. */
  checksum: string;
}

/**
 * The checksum of a migration: SHA-256 of its source file's text (CRLF → LF, so a checkout on
 * Windows agrees). The source, not a description, because the source is what a reviewer approved
 * and it covers the helpers a migration uses besides `up` and `down`; and not `Function#toString`,
 * whose text depends on the TypeScript loader. A comment-only edit therefore counts as an edit.
 */
export function checksumOfSource(text: string): string {
  return createHash("sha256").update(text.replace(/\r\n/g, "\n"), "utf8").digest("hex");
}

export function withChecksum(module: MigrationModule): Migration {
  return { ...module, checksum: checksumOfSource(readFileSync(fileURLToPath(module.source), "utf8")) };
}
