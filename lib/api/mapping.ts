import { z } from "zod";

/**
 * The Fabstir HTTP API, v1 → v2, as data. Everything the migration does comes from this module:
 * lib/api/migrate.ts only interprets it, and docs/offchain.md ("API v1 → v2") lists it for people.
 *
 * Field paths are dotted: v1 bodies were flat, v2 nests (`max_tokens` ↔ `parameters.maxTokens`).
 * A field rule is reversible: it maps both ways with the same value and type. Deprecated v1 fields
 * map only upwards: to their replacement, or nowhere with the reason (and the report keeps the value).
 */

export type ShapeName =
  | "jobCreate"
  | "job"
  | "jobList"
  | "jobQuery"
  | "host"
  | "hostList"
  | "hostQuery"
  | "model"
  | "modelList"
  | "balance"
  | "error";

export interface FieldRule {
  v1: string;
  v2: string;
  /** What the value must be (checked on both sides; the value itself is never converted). */
  type: z.ZodTypeAny;
  /** An array whose elements are objects of this shape (mapped element by element). */
  each?: ShapeName;
}

export interface DeprecatedRule {
  v1: string;
  /** The v2 field that takes the value, if the field lives on under another name. */
  replacement?: string;
  reason: string;
  type: z.ZodTypeAny;
}

export interface Shape {
  fields: FieldRule[];
  deprecated: DeprecatedRule[];
}

const text = z.string().min(1);
const timestamp = z.string().datetime({ offset: true });
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "expected a 0x-prefixed 20-byte address");
// Token amounts are integers in the token's smallest unit: decimal strings, or JSON numbers that are
// still exact (above 2^53 a JSON number has already lost digits, so it is refused: quote it).
const amount = z.union([
  z.string().regex(/^(0|[1-9][0-9]*)$/, "expected a decimal integer string"),
  z.number().int().nonnegative().refine(Number.isSafeInteger, "above 2^53 a JSON number loses digits: quote it"),
]);
const count = z.number().int().nonnegative();
const page = z.string().regex(/^[1-9][0-9]*$/, "expected a positive integer");

const rule = (v1: string, v2: string, type: z.ZodTypeAny, each?: ShapeName): FieldRule =>
  each === undefined ? { v1, v2, type } : { v1, v2, type, each };

export const SHAPES: Record<ShapeName, Shape> = {
  // POST /v1/jobs body.
  jobCreate: {
    fields: [
      rule("model_id", "modelId", text),
      rule("prompt", "prompt", z.string()),
      rule("max_tokens", "parameters.maxTokens", z.number().int().positive()),
      rule("temperature", "parameters.temperature", z.number().min(0).max(2)),
      rule("top_p", "parameters.topP", z.number().min(0).max(1)),
      rule("stop", "parameters.stop", z.array(z.string())),
      rule("payment_amount", "payment.amount", amount),
      rule("payment_token", "payment.token", address),
      rule("node_id", "hostId", address),
      rule("deadline", "deadline", count),
      rule("callback_url", "callbackUrl", z.string().url()),
      rule("metadata", "metadata", z.record(z.unknown())),
    ],
    deprecated: [
      { v1: "model", replacement: "modelId", reason: "v1.0 alias of model_id", type: text },
      {
        v1: "priority",
        reason: "V2 orders jobs by payment amount, not by a requested priority",
        type: z.unknown(),
      },
      {
        v1: "stream",
        reason: "V2 streams through GET /v2/jobs/{id}/events instead of a flag on the job",
        type: z.boolean(),
      },
    ],
  },
  // A job, as GET /v1/jobs/{job_id}, POST /v1/jobs and the cancel endpoint return it.
  job: {
    fields: [
      rule("job_id", "id", text),
      rule("status", "status", z.enum(["pending", "assigned", "running", "completed", "failed", "cancelled"])),
      rule("model_id", "modelId", text),
      rule("prompt", "prompt", z.string()),
      rule("result", "output", z.string().nullable()),
      rule("user_address", "owner", address),
      rule("assigned_node", "assignedHost", address.nullable()),
      rule("payment_amount", "payment.amount", amount),
      rule("payment_token", "payment.token", address),
      rule("tokens_used", "usage.totalTokens", count),
      rule("created_at", "createdAt", timestamp),
      rule("updated_at", "updatedAt", timestamp),
      rule("completed_at", "completedAt", timestamp.nullable()),
    ],
    deprecated: [
      {
        v1: "node_url",
        reason: "V2 does not copy the host's URL into the job: GET /v2/hosts/{id} with assignedHost",
        type: z.string(),
      },
    ],
  },
  jobList: {
    fields: [
      rule("jobs", "items", z.array(z.unknown()), "job"),
      rule("total", "pagination.total", count),
      rule("page", "pagination.page", count),
      rule("page_size", "pagination.pageSize", count),
    ],
    deprecated: [],
  },
  // GET /v1/jobs query string (values are strings there).
  jobQuery: {
    fields: [
      rule("status", "status", z.string()),
      rule("user", "owner", address),
      rule("node_id", "hostId", address),
      rule("page", "page", page),
      rule("page_size", "pageSize", page),
    ],
    deprecated: [],
  },
  host: {
    fields: [
      rule("node_id", "id", address),
      rule("endpoint", "url", z.string().url()),
      rule("models", "modelIds", z.array(z.string())),
      rule("stake", "stake", amount),
      rule("is_active", "active", z.boolean()),
      rule("region", "region", z.string()),
      rule("last_seen", "lastSeenAt", timestamp),
    ],
    deprecated: [{ v1: "gpu", reason: "V2 reports hardware per model: GET /v2/models", type: z.unknown() }],
  },
  hostList: {
    fields: [
      rule("nodes", "items", z.array(z.unknown()), "host"),
      rule("total", "pagination.total", count),
      rule("page", "pagination.page", count),
      rule("page_size", "pagination.pageSize", count),
    ],
    deprecated: [],
  },
  hostQuery: {
    fields: [
      rule("model_id", "modelId", z.string()),
      rule("region", "region", z.string()),
      rule("active", "active", z.enum(["true", "false"])),
      rule("page", "page", page),
      rule("page_size", "pageSize", page),
    ],
    deprecated: [],
  },
  model: {
    fields: [
      rule("model_id", "id", text),
      rule("name", "name", z.string()),
      rule("context_length", "contextLength", count),
      rule("price_per_token", "pricing.perToken", amount),
    ],
    deprecated: [],
  },
  modelList: { fields: [rule("models", "items", z.array(z.unknown()), "model")], deprecated: [] },
  balance: {
    fields: [
      rule("address", "address", address),
      rule("token", "token", address),
      rule("balance", "available", amount),
      rule("locked", "locked", amount),
    ],
    deprecated: [],
  },
  // Any response with status >= 400.
  error: {
    fields: [rule("error", "error.message", z.string()), rule("code", "error.code", z.string())],
    deprecated: [],
  },
};

export interface Endpoint {
  method: "GET" | "POST";
  /** Path templates; `{name}` is one path segment, carried over by position. */
  v1: string;
  v2: string;
  query?: ShapeName;
  body?: ShapeName;
  response: ShapeName;
}

export const ENDPOINTS: readonly Endpoint[] = [
  { method: "POST", v1: "/v1/jobs", v2: "/v2/jobs", body: "jobCreate", response: "job" },
  { method: "GET", v1: "/v1/jobs", v2: "/v2/jobs", query: "jobQuery", response: "jobList" },
  { method: "GET", v1: "/v1/jobs/{job_id}", v2: "/v2/jobs/{id}", response: "job" },
  { method: "POST", v1: "/v1/jobs/{job_id}/cancel", v2: "/v2/jobs/{id}/cancel", response: "job" },
  { method: "GET", v1: "/v1/nodes", v2: "/v2/hosts", query: "hostQuery", response: "hostList" },
  { method: "GET", v1: "/v1/nodes/{node_id}", v2: "/v2/hosts/{id}", response: "host" },
  { method: "GET", v1: "/v1/models", v2: "/v2/models", response: "modelList" },
  { method: "GET", v1: "/v1/balance/{address}", v2: "/v2/accounts/{address}/balance", response: "balance" },
];

/** v1 endpoints with no v2 counterpart: migrating a request to one is refused with the reason. */
export const REMOVED_ENDPOINTS: readonly { method: string; v1: string; reason: string }[] = [
  {
    method: "POST",
    v1: "/v1/jobs/{job_id}/retry",
    reason: "V2 has no retry: post a new job with POST /v2/jobs (a failed job's payment is refunded to escrow)",
  },
];

/** v1 authenticates with `X-API-Key: <key>`, v2 with `Authorization: Bearer <key>` (the same key). */
export const AUTH = { v1Header: "X-API-Key", v2Header: "Authorization", v2Scheme: "Bearer" } as const;

/** Unknown fields are kept under this key of the object they were in, named after their version. */
export const unmappedKey = (version: "v1" | "v2"): string => `x-${version}-unmapped`;
