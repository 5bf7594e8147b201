/**
 * The import pipeline without the chain: export bytes → PlatformJobs (the platform's parser) →
 * bundle (model mapping, cost, wei, credit plan) → store records. Every check runs before anything
 * is written; `applyToStore` writes all records in one transaction or nothing.
 */
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { getAddress, isAddress } from "ethers";
import { openStore, storeVersion } from "../store/database.js";
import { StoreError } from "../store/errors.js";
import { insertJobs } from "../store/jobs.js";
import { migrateTo } from "../store/migrate.js";
import { LATEST_VERSION } from "../store/migrations/index.js";
import { parseRecord, type JobRecordV3 } from "../store/records.js";
import { sealBundle, type BundleJob, type Conversion, type ImportBundle, type MappingKind } from "./bundle.js";
import { PlatformImportError } from "./errors.js";
import { ImportError } from "./importError.js";
import { parsePlatformExport } from "./index.js";
import { resolveModel, type ModelMap } from "./models.js";
import { costOf, formatUsd18, usdToWei, type Rational } from "./pricing.js";
import { recordIdOf } from "./records.js";
import { PLATFORMS, type PlatformJob, type PlatformName } from "./types.js";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "../jsonPreview.js";

export function parsePlatform(text: string): PlatformName {
  if (!(PLATFORMS as readonly string[]).includes(text)) {
    throw new ImportError(`--from must be one of ${PLATFORMS.join(", ")} (got "${text}")`);
  }
  return text as PlatformName;
}

/** `--user`: a valid address (any case; a mixed-case one must carry a correct checksum), checksummed. */
export function parseUser(text: string): string {
  if (!isAddress(text)) {
    throw new ImportError(`--user must be a 0x-prefixed 20-byte address with a valid checksum (got "${text}")`);
  }
  return getAddress(text);
}

/** The export's jobs; bytes that are not UTF-8 are refused like any other malformed export. */
export function parseExportBytes(
  platform: PlatformName,
  file: string,
  bytes: Uint8Array,
  includeContent: boolean,
): PlatformJob[] {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new PlatformImportError(file, undefined, "the file is not UTF-8 text; export it again as JSON");
  }
  return parsePlatformExport(platform, file, text, { includeContent });
}

export interface BundleInput {
  platform: PlatformName;
  /** The export file (its base name goes into the bundle). */
  file: string;
  bytes: Uint8Array;
  jobs: readonly PlatformJob[];
  map: ModelMap;
  /** Checksummed address. */
  user: string;
  conversion: Conversion;
  ethPerUsd: Rational;
  /** Unix seconds of the import. */
  now: number;
}

export function buildBundle(input: BundleInput): ImportBundle {
  const seen = new Set<string>();
  const jobs = input.jobs.map((job): BundleJob => {
    const id = recordIdOf(input.platform, input.user, job.sourceId);
    if (seen.has(id)) throw new ImportError(`${input.file}: job id ${JSON.stringify(job.sourceId)} appears twice`);
    seen.add(id);
    // The bundle's digest and text recurse through content: refuse a depth no prompt or output has.
    if (job.content !== undefined && nestedDeeperThan(job.content)) {
      throw new ImportError(
        `${input.file}: job ${JSON.stringify(job.sourceId)}: its content nests deeper than ${MAX_JSON_DEPTH} levels; import it without --include-content`,
      );
    }
    const resolution = resolveModel(input.map, input.platform, job.model);
    const price = "price" in resolution ? resolution.price : undefined;
    const cost = costOf(job, price, `${input.file}: job ${job.sourceId}`);
    const mapping: MappingKind = resolution.kind;
    return {
      id,
      sourceId: job.sourceId,
      sourceModel: job.model,
      model: resolution.kind === "mapped" ? resolution.target : null,
      mapping,
      promptHash: job.promptHash,
      outputHash: job.outputHash,
      createdAt: job.createdAt,
      status: job.status,
      usage: job.usage,
      costUsd: cost.usd18 === null ? null : formatUsd18(cost.usd18),
      costWei: cost.usd18 === null ? "0" : usdToWei(cost.usd18, input.ethPerUsd).toString(),
      pricing: cost.pricing,
      ...(job.error === undefined ? {} : { error: job.error }),
      ...(job.content === undefined ? {} : { content: job.content }),
    };
  });
  return sealBundle({
    format: "fabstir.import-bundle",
    version: 1,
    createdAt: input.now,
    user: input.user,
    source: {
      platform: input.platform,
      file: path.basename(input.file),
      sha256: createHash("sha256").update(input.bytes).digest("hex"),
    },
    conversion: input.conversion,
    jobs,
  });
}

export interface StoreApplyResult {
  /** The store did not exist and was created at the latest schema version. */
  created: boolean;
  inserted: number;
}

/** What `checkStore` found, for `writeStore`. */
export interface StoreCheck {
  file: string;
  /** The store file exists (else it is created at the latest version when written). */
  exists: boolean;
}

/**
 * Read-only checks before a store write: the records are valid latest-version records; an existing
 * store is at the latest schema version (an older one is refused with the `schema:migrate` command
 * to run: never migrated here); none of the ids is stored already (a re-import, refused naming the
 * first). Nothing is created or written, not even the store's directory.
 */
export function checkStore(file: string, records: readonly JobRecordV3[], source: string): StoreCheck {
  records.forEach((record, i) => parseRecord(LATEST_VERSION, record, `${source}: record [${i}] (${record.id})`));
  const exists = existsSync(file) && statSync(file).size > 0;
  if (exists) {
    const reader = openStore(file, { readOnly: true });
    try {
      const version = storeVersion(reader);
      if (version !== LATEST_VERSION) {
        throw new ImportError(
          version < LATEST_VERSION
            ? `the store ${file} is at schema version ${version}, the import writes version ${LATEST_VERSION}; run \`npx hardhat schema:migrate --to ${LATEST_VERSION} --store ${file}\` first`
            : `the store ${file} is at schema version ${version}, newer than this toolkit's ${LATEST_VERSION}; use the toolkit that wrote it`,
        );
      }
      const stored = reader.prepare("SELECT 1 FROM jobs WHERE id = ?");
      const first = records.find((record) => stored.get(record.id) !== undefined);
      if (first !== undefined) {
        throw new ImportError(
          `${source} is already imported for this user: job ${first.id} is in the store ${file}; nothing was written`,
        );
      }
    } finally {
      reader.close();
    }
  }
  return { file, exists };
}

/**
 * Writes `records` after `checkStore`, in one transaction (all or nothing); a store that did not
 * exist is created and migrated to the latest version first. `insertJobs` refuses a duplicate id
 * again, so a store changed since the check is never half-written.
 */
export function writeStore(check: StoreCheck, records: readonly JobRecordV3[], source: string): StoreApplyResult {
  const db = openStore(check.file);
  try {
    if (!check.exists) migrateTo(db, LATEST_VERSION);
    const inserted = insertJobs(db, records, { source, version: LATEST_VERSION });
    return { created: !check.exists, inserted };
  } catch (error) {
    if (error instanceof StoreError) throw new ImportError(error.message);
    throw error;
  } finally {
    db.close();
  }
}

/** `checkStore` then `writeStore`. */
export function applyToStore(file: string, records: readonly JobRecordV3[], source: string): StoreApplyResult {
  return writeStore(checkStore(file, records, source), records, source);
}
