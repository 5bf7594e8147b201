/**
 * What every platform parser produces: one `PlatformJob` per request in the export, in file
 * order, whatever the platform's own shape. The import pipeline (model mapping, pricing, bundle,
 * store, credits) reads only this, so a new platform is a new parser and nothing else.
 */

export const PLATFORMS = ["openai", "huggingface", "replicate"] as const;
export type PlatformName = (typeof PLATFORMS)[number];

export type PlatformJobStatus = "completed" | "failed" | "cancelled";

/** What the export says the request consumed; null where the format does not say. */
export interface PlatformUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  /** Billed compute time, in seconds (Replicate's `metrics.predict_time`, endpoint uptime, …). */
  computeSeconds: number | null;
}

export interface PlatformJob {
  platform: PlatformName;
  /** The platform's id for the request (OpenAI `custom_id`, Replicate `id`, …), unique in the file. */
  sourceId: string;
  /** The model as the platform names it ("gpt-4o-mini-2024-07-18", "meta/meta-llama-3-8b-instruct"); null if unstated. */
  model: string | null;
  /** Unix seconds; null when the export does not say. */
  createdAt: number | null;
  status: PlatformJobStatus;
  /** keccak256 of the request's input as the export holds it (canonical JSON); null when the export has no input. */
  promptHash: string | null;
  /** keccak256 of the output as the export holds it (canonical JSON); null for a failed request or no output. */
  outputHash: string | null;
  usage: PlatformUsage;
  /** The cost in USD as a decimal string, only when the export itself states it (never estimated here). */
  costUsd: string | null;
  /** Why it failed, when it did. */
  error?: { code: string | null; message: string };
  /** The input and output themselves, only with `includeContent`. */
  content?: { prompt?: unknown; output?: unknown };
}

export interface ParseOptions {
  /** Copy prompts and outputs into the jobs (off by default: user data stays out of bundles). */
  includeContent?: boolean;
}

/** A parser: `file` names the input in errors; all-or-nothing (throws PlatformImportError). */
export type PlatformParser = (file: string, text: string, options?: ParseOptions) => PlatformJob[];
