import type { AnyRecord, MigrationModule } from "./types.js";

/**
 * Version 2, the guide's V1→V2 step: `metadata: { createdAt, updatedAt, schemaVersion }` and
 * camelCase names (prompt_hash → promptHash, cost_wei → costWei, created → metadata.createdAt).
 * A v1 record was never updated as far as we know, so updatedAt starts equal to createdAt (a pure
 * step cannot read the clock). Down keeps whole seconds; the runner retains a v2 record whose
 * milliseconds or updatedAt v1 cannot hold.
 */
export const migration: MigrationModule = {
  version: 2,
  name: "metadata",
  source: import.meta.url,
  up(r: AnyRecord): AnyRecord {
    const createdAt = new Date((r.created as number) * 1000).toISOString();
    return {
      id: r.id,
      user: r.user,
      model: r.model,
      promptHash: r.prompt_hash,
      costWei: r.cost_wei,
      status: r.status,
      metadata: { createdAt, updatedAt: createdAt, schemaVersion: 2 },
    };
  },
  down(r: AnyRecord): AnyRecord {
    const metadata = r.metadata as { createdAt: string };
    return {
      id: r.id,
      user: r.user,
      model: r.model,
      prompt_hash: r.promptHash,
      created: Math.floor(Date.parse(metadata.createdAt) / 1000),
      cost_wei: r.costWei,
      status: r.status,
    };
  },
};
