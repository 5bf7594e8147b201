/**
 * Bundle job → store record (lib/store/records.ts, version 3). What the export does not say is
 * never invented:
 * - no prompt in the export (OpenAI batch output never has one): promptHash is
 *   NO_PROMPT_HASH (32 zero bytes), which documents "no prompt in the export", not a real hash;
 * - no timestamp or no model in the export: the job is left out of the store (it stays in the
 *   bundle) and counted in the report, since createdAt and model are required and any value would
 *   look real;
 * - `model` is the source model as the platform names it (what actually ran); the Fabstir model
 *   is the bundle's mapping, which `platform:history` shows from the model map;
 * - payment is `{ amount: costWei, token: "ETH", usdValue: costUsd }` (usdValue null, amount "0"
 *   when unpriced); metadata.updatedAt is the import time (when the record was written).
 */
import { ZeroHash } from "ethers";
import type { JobRecordV3 } from "../store/records.js";
import { ImportError } from "./importError.js";
import type { BundleJob, ImportBundle } from "./bundle.js";
import type { PlatformName } from "./types.js";

export const NO_PROMPT_HASH = ZeroHash;
/** The store's limit on a record id (lib/store/records.ts). */
export const MAX_RECORD_ID_LENGTH = 200;

/** `<platform>/<user lowercased>/<sourceId>`: unique across users and platforms. */
export function recordIdOf(platform: PlatformName, user: string, sourceId: string): string {
  const id = `${platform}/${user.toLowerCase()}/${sourceId}`;
  if (id.length > MAX_RECORD_ID_LENGTH) {
    throw new ImportError(
      `job ${JSON.stringify(sourceId)}: its store id ${platform}/<user>/<id> would be ${id.length} characters, above the store's ${MAX_RECORD_ID_LENGTH}; the platform's ids must be at most ${MAX_RECORD_ID_LENGTH - platform.length - 44} characters`,
    );
  }
  return id;
}

/** The platform and source id of a store record id written by an import; null for other records. */
export function parseRecordId(id: string): { platform: string; sourceId: string } | null {
  const match = /^([a-z]+)\/0x[0-9a-f]{40}\/(.+)$/s.exec(id);
  return match === null ? null : { platform: match[1]!, sourceId: match[2]! };
}

export interface LeftOut {
  id: string;
  reason: "no timestamp in the export" | "no model in the export";
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

export function storeRecordOf(job: BundleJob, user: string, importedAt: number): JobRecordV3 | LeftOut {
  if (job.createdAt === null) return { id: job.id, reason: "no timestamp in the export" };
  if (job.sourceModel === null) return { id: job.id, reason: "no model in the export" };
  return {
    id: job.id,
    user,
    model: job.sourceModel,
    promptHash: job.promptHash ?? NO_PROMPT_HASH,
    status: job.status,
    payment: { amount: job.costWei, token: "ETH", usdValue: job.costUsd },
    metadata: { createdAt: iso(job.createdAt), updatedAt: iso(Math.max(importedAt, job.createdAt)), schemaVersion: 3 },
  };
}

/** The store records of a bundle, and the jobs left out with why. */
export function storeRecordsOf(
  bundle: ImportBundle,
  importedAt: number,
): { records: JobRecordV3[]; leftOut: LeftOut[] } {
  const records: JobRecordV3[] = [];
  const leftOut: LeftOut[] = [];
  for (const job of bundle.jobs) {
    const record = storeRecordOf(job, bundle.user, importedAt);
    if ("reason" in record) leftOut.push(record);
    else records.push(record);
  }
  return { records, leftOut };
}
