/**
 * Replicate exports. Format followed: the response of Replicate's "list predictions" endpoint
 * (`GET https://api.replicate.com/v1/predictions`, HTTP API reference and the "Predictions" topic of
 * Replicate's docs): a page `{ next, previous, results: [prediction] }`, most recent first, 100 per page,
 * where a prediction is `{ id, model, version, input, output, error, logs, status, created_at,
 * started_at, completed_at, urls, metrics: { predict_time, total_time, input_token_count?,
 * output_token_count? }, source, data_removed }`.
 *
 * Accepted: one page as the API returns it (`curl … > predictions.json`), or a JSON array of pages (what a
 * script following `next` saves), or a JSON array of predictions (what the client libraries' paginate
 * helpers return). Pages are read in order, so jobs come out in the file's order.
 *
 * Status: succeeded → completed, failed → failed, canceled → cancelled. A prediction that is still
 * `starting` or `processing` is refused (the import is all-or-nothing): its output, time and usage are
 * not known yet, and importing it now would record a job that later changes. Export again when it
 * completes. A prediction whose `data_removed` is true (Replicate deletes API inputs and outputs after
 * an hour) has no prompt or output hash.
 */
import { z } from "zod";
import { formatPath, isPlainObject, type JsonPath } from "../api/jsonPath.js";
import { PlatformImportError } from "./errors.js";
import { hashContent } from "./hash.js";
import { checkShape, count, hasKeys, isoSeconds, readJsonDocument, seconds, UniqueIds } from "./jsonl.js";
import type { ParseOptions, PlatformJob, PlatformJobStatus } from "./types.js";

const WHAT = "not a Replicate prediction";
const HINT = "expected the GET /v1/predictions response (see docs/offchain.md, Platform exports)";
const EXPECTED = "a Replicate predictions list (the GET /v1/predictions response, or a JSON array of them)";
const DOWNLOAD = "download the predictions list again";

const STATUSES: Record<string, PlatformJobStatus | undefined> = {
  succeeded: "completed",
  failed: "failed",
  canceled: "cancelled",
};

const PredictionSchema = z
  .object({
    id: z.string().min(1),
    model: z.string().min(1).nullable().optional(),
    version: z.string().nullable().optional(),
    input: z.unknown(),
    output: z.unknown(),
    error: z
      .union([z.string(), z.record(z.unknown())])
      .nullable()
      .optional(),
    status: z.enum(["starting", "processing", "succeeded", "failed", "canceled"]),
    created_at: isoSeconds,
    data_removed: z.boolean().optional(),
    metrics: z
      .object({
        predict_time: seconds.optional(),
        total_time: seconds.optional(),
        input_token_count: count.optional(),
        output_token_count: count.optional(),
      })
      .passthrough()
      .nullable()
      .optional(),
  })
  .passthrough();

const PageSchema = z
  .object({
    next: z.string().nullable().optional(),
    previous: z.string().nullable().optional(),
    results: z.array(z.unknown()),
  })
  .passthrough();

/** Every prediction in the document with its JSON path, in file order. */
function predictionsOf(file: string, document: unknown): { path: JsonPath; value: unknown }[] {
  const pageItems = (page: unknown, at: JsonPath) =>
    checkShape({ file }, PageSchema, page, "not a Replicate predictions page", HINT, at).results.map((value, i) => ({
      path: [...at, "results", i],
      value,
    }));
  if (hasKeys(document, "results")) return pageItems(document, []);
  if (Array.isArray(document)) {
    // An array of pages or an array of predictions: its first element decides, the rest must agree.
    if (document.length > 0 && hasKeys(document[0], "results"))
      return document.flatMap((page, i) => pageItems(page, [i]));
    return document.map((value, i) => ({ path: [i], value }));
  }
  const found = isPlainObject(document)
    ? "an object without results"
    : Array.isArray(document)
      ? "an array"
      : typeof document;
  const hint = hasKeys(document, "object") || hasKeys(document, "data") ? " (an OpenAI list is --from openai)" : "";
  throw new PlatformImportError(file, undefined, `${WHAT}s list: ${HINT}, found ${found}${hint}`);
}

function errorMessage(error: string | Record<string, unknown> | null | undefined): string | null {
  if (error === null || error === undefined) return null;
  return typeof error === "string" ? error : JSON.stringify(error);
}

/** The jobs of a Replicate predictions export, one per prediction. All-or-nothing. */
export function parseReplicateExport(file: string, text: string, options: ParseOptions = {}): PlatformJob[] {
  const document = readJsonDocument(file, text, EXPECTED, DOWNLOAD);
  const ids = new UniqueIds(file, "prediction id", "each prediction must appear once (are two pages the same?)");
  return predictionsOf(file, document).map(({ path, value }) => {
    const prediction = checkShape({ file }, PredictionSchema, value, WHAT, HINT, path);
    const place = formatPath(path);
    const status = STATUSES[prediction.status];
    if (status === undefined) {
      throw new PlatformImportError(
        file,
        undefined,
        `prediction ${JSON.stringify(prediction.id)} at ${place} is still ${prediction.status}, not finished: ` +
          `export again when it completes (or cancel it)`,
      );
    }
    ids.add(prediction.id, place);
    const removed = prediction.data_removed === true;
    const hasInput = !removed && prediction.input !== undefined && prediction.input !== null;
    const hasOutput =
      !removed && status === "completed" && prediction.output !== undefined && prediction.output !== null;
    const message = errorMessage(prediction.error);
    const job: PlatformJob = {
      platform: "replicate",
      sourceId: prediction.id,
      model: prediction.model ?? null,
      createdAt: prediction.created_at,
      status,
      promptHash: hasInput ? hashContent(prediction.input) : null,
      outputHash: hasOutput ? hashContent(prediction.output) : null,
      usage: {
        inputTokens: prediction.metrics?.input_token_count ?? null,
        outputTokens: prediction.metrics?.output_token_count ?? null,
        computeSeconds: prediction.metrics?.predict_time ?? null,
      },
      costUsd: null,
    };
    if (status === "failed")
      job.error = { code: null, message: message ?? "the prediction failed without an error message" };
    else if (message !== null) job.error = { code: null, message };
    if (options.includeContent === true) {
      job.content = {
        ...(hasInput ? { prompt: prediction.input } : {}),
        ...(hasOutput ? { output: prediction.output } : {}),
      };
    }
    return job;
  });
}
