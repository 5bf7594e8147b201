import { z, type ZodIssue } from "zod";
import { StoreError } from "./errors.js";

/**
 * The off-chain job record, in each schema version. Every object is `.strict()`: a member the
 * schema does not name would be carried by no migration, so it is refused rather than lost.
 *
 * `_retained` is written only by a down migration: the whole next-version record, kept when the
 * older shape cannot express all of it (a v3 `usdValue`, a v2 `updatedAt`), so that going back up
 * restores it exactly. The runner checks that it still agrees with the record (lib/store/migrate.ts).
 */

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
/** A uint256 in decimal without leading zeros: wei amounts never pass through a float. */
const UINT = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, "must be a decimal integer string without leading zeros")
  .max(78, "must fit in a uint256");
/** Unix seconds up to the end of year 9999, where ISO-8601 strings keep their fixed width. */
const UNIX_SECONDS = z.number().int().min(0).max(253_402_300_799);
/** `Date.prototype.toISOString` output, which is what the guide's metadata stores. */
const ISO_TIME = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, "must be an ISO-8601 UTC time like 2025-01-31T12:00:00.000Z")
  .refine((text) => {
    const time = Date.parse(text);
    return Number.isFinite(time) && new Date(time).toISOString() === text;
  }, "is not a real calendar time");

export const JOB_STATUSES = ["pending", "running", "completed", "failed", "cancelled"] as const;

const common = {
  id: z.string().min(1).max(200),
  user: z.string().regex(HEX_ADDRESS, "must be a 0x-prefixed 20-byte address"),
  model: z.string().min(1).max(200),
  status: z.enum(JOB_STATUSES),
};

export interface JobRecordV3 {
  id: string;
  user: string;
  model: string;
  promptHash: string;
  status: (typeof JOB_STATUSES)[number];
  payment: { amount: string; token: string; usdValue: string | null };
  metadata: { createdAt: string; updatedAt: string; schemaVersion: 3 };
}
export interface JobRecordV2 {
  id: string;
  user: string;
  model: string;
  promptHash: string;
  status: (typeof JOB_STATUSES)[number];
  costWei: string;
  metadata: { createdAt: string; updatedAt: string; schemaVersion: 2 };
  _retained?: JobRecordV3;
}
export interface JobRecordV1 {
  id: string;
  user: string;
  model: string;
  prompt_hash: string;
  created: number;
  cost_wei: string;
  status: (typeof JOB_STATUSES)[number];
  _retained?: JobRecordV2;
}
export type JobRecord = JobRecordV1 | JobRecordV2 | JobRecordV3;

/** v3: payment becomes `{ amount, token, usdValue }` (usdValue null when no price was known). */
export const jobRecordV3: z.ZodType<JobRecordV3> = z
  .object({
    ...common,
    promptHash: z.string().regex(/^0x[0-9a-f]{64}$/, "must be 0x and 64 lowercase hex digits"),
    payment: z
      .object({
        amount: UINT,
        token: z.union([z.literal("ETH"), z.string().regex(HEX_ADDRESS, 'must be "ETH" or an ERC-20 address')]),
        usdValue: z
          .string()
          .regex(/^(0|[1-9][0-9]*)(\.[0-9]{1,18})?$/, "must be a decimal string like 12.34")
          .nullable(),
      })
      .strict(),
    metadata: z.object({ createdAt: ISO_TIME, updatedAt: ISO_TIME, schemaVersion: z.literal(3) }).strict(),
  })
  .strict();

/** v2: the guide's V1→V2 metadata `{ createdAt, updatedAt, schemaVersion }` and camelCase names. */
export const jobRecordV2: z.ZodType<JobRecordV2> = z
  .object({
    ...common,
    promptHash: z.string().regex(/^0x[0-9a-f]{64}$/, "must be 0x and 64 lowercase hex digits"),
    costWei: UINT,
    metadata: z.object({ createdAt: ISO_TIME, updatedAt: ISO_TIME, schemaVersion: z.literal(2) }).strict(),
    _retained: jobRecordV3.optional(),
  })
  .strict();

/** v1: the guide's original shape. */
export const jobRecordV1: z.ZodType<JobRecordV1> = z
  .object({
    ...common,
    prompt_hash: z.string().regex(/^0x[0-9a-f]{64}$/, "must be 0x and 64 lowercase hex digits"),
    created: UNIX_SECONDS,
    cost_wei: UINT,
    _retained: jobRecordV2.optional(),
  })
  .strict();

/** The record schema of each store version; version 0 is a store without a jobs table. */
export const RECORD_SCHEMAS: readonly (z.ZodType<JobRecord> | undefined)[] = [
  undefined,
  jobRecordV1,
  jobRecordV2,
  jobRecordV3,
];

/** `a.b[2].c`, or `(record)` for the record itself. */
export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return "(record)";
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`)).join("");
}

function describeIssue(issue: ZodIssue): string {
  return `${formatPath(issue.path)}: ${issue.message}`;
}

/**
 * Parses `value` as a version-`version` record or throws a StoreError naming `label` (the job id
 * or the input position), the JSON path and what is wrong.
 */
export function parseRecord(version: number, value: unknown, label: string): JobRecord {
  const schema = RECORD_SCHEMAS[version];
  if (schema === undefined) throw new StoreError(`schema version ${version} has no job records`);
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 3).map(describeIssue).join("; ");
    throw new StoreError(`${label}: not a valid version-${version} job record: ${issues}`);
  }
  return result.data;
}

/** The indexed columns of a record, whatever its version. */
export function indexColumns(record: JobRecord): { id: string; user: string; created: number; status: string } {
  const created = "created" in record ? record.created : Math.floor(Date.parse(record.metadata.createdAt) / 1000);
  return { id: record.id, user: record.user.toLowerCase(), created, status: record.status };
}
