/**
 * Hugging Face exports. Hugging Face documents no per-request usage export: its billing page and the
 * Inference Providers "usage breakdown" (docs/inference-providers/pricing.md) show monthly totals by
 * model and provider, and no download format is documented, so there is no USD cost to read per
 * request (costUsd stays null; nothing is estimated here).
 *
 * What Hugging Face does document per request is the Inference Providers chat-completion call
 * (`POST https://router.huggingface.co/v1/chat/completions`, OpenAI-compatible; the task's
 * `ChatCompletionInput` / `ChatCompletionOutput` in the Inference Providers reference). The format read
 * here is the call log a client keeps of those calls, JSON Lines, one call per line:
 *
 *   { "id": "<the caller's id for the call>", "request": <ChatCompletionInput>, "response": <ChatCompletionOutput> }
 *   { "id": "…", "request": <ChatCompletionInput>, "error": { "message": "…", "status"?: 429 } | "<message>" }
 *
 * `id` is optional when the response has a non-empty `id` (some providers return ""). The model is the
 * request's (the Hub repo id, with a `:provider` suffix if the caller pinned one): the response's
 * `model` is the provider's own name for it. The prompt hash is the hash of `request.messages`.
 */
import { z } from "zod";
import { PlatformImportError } from "./errors.js";
import { hashContent } from "./hash.js";
import { checkShape, count, hasKeys, readJsonLines, UniqueIds } from "./jsonl.js";
import { ChatRequestSchema } from "./openai.js";
import type { ParseOptions, PlatformJob } from "./types.js";

const WHAT = "not a Hugging Face chat-completion log line";
const HINT = "expected { id, request, response } or { id, request, error } (see docs/offchain.md, Platform exports)";
const NOT_JSONL = "a Hugging Face call log has one JSON object per line";

const ResponseSchema = z
  .object({
    id: z.string(),
    object: z.literal("chat.completion").optional(),
    created: count,
    model: z.string(),
    choices: z.array(
      z
        .object({
          index: count,
          message: z.object({ role: z.string(), content: z.string().nullable().optional() }).passthrough(),
        })
        .passthrough(),
    ),
    usage: z.object({ prompt_tokens: count, completion_tokens: count }).passthrough().nullable().optional(),
  })
  .passthrough();

const LineSchema = z
  .object({
    id: z.string().min(1).optional(),
    request: ChatRequestSchema,
    response: ResponseSchema.optional(),
    error: z
      .union([
        z.string().min(1),
        z
          .object({ message: z.string(), status: z.number().int().optional(), code: z.string().optional() })
          .passthrough(),
      ])
      .optional(),
  })
  .passthrough()
  .superRefine((line, ctx) => {
    if ((line.response === undefined) === (line.error === undefined)) {
      ctx.addIssue({ code: "custom", path: [], message: "a line has either response or error, not both or neither" });
    } else if (line.id === undefined && (line.response === undefined || line.response.id === "")) {
      ctx.addIssue({ code: "custom", path: ["id"], message: "Required (the response gives no id to use)" });
    }
  });

/** The jobs of a Hugging Face chat-completion call log, one per line, in file order. All-or-nothing. */
export function parseHuggingFaceExport(file: string, text: string, options: ParseOptions = {}): PlatformJob[] {
  const ids = new UniqueIds(file, "call id", "each call must be logged once");
  return readJsonLines(
    file,
    text,
    "the log's last call was cut off: remove that line or copy the log again",
    NOT_JSONL,
  ).map(({ line, value }) => {
    if (hasKeys(value, "custom_id")) {
      throw new PlatformImportError(file, line, `${WHAT}: this is an OpenAI Batch API file; use --from openai`);
    }
    const call = checkShape({ file, line }, LineSchema, value, WHAT, HINT);
    const sourceId = call.id ?? call.response!.id;
    ids.add(sourceId, `line ${line}`, line);
    const prompt = call.request.messages;
    const base = {
      platform: "huggingface" as const,
      sourceId,
      model: call.request.model,
      promptHash: hashContent(prompt),
    };
    if (call.error !== undefined) {
      const error = typeof call.error === "string" ? { message: call.error } : call.error;
      const code =
        typeof call.error === "string"
          ? null
          : (call.error.code ?? (call.error.status === undefined ? null : String(call.error.status)));
      return {
        ...base,
        createdAt: null,
        status: "failed",
        outputHash: null,
        usage: { inputTokens: null, outputTokens: null, computeSeconds: null },
        costUsd: null,
        error: { code, message: error.message },
        ...(options.includeContent === true ? { content: { prompt } } : {}),
      };
    }
    const response = call.response!;
    const contents = [...response.choices].sort((a, b) => a.index - b.index).map((c) => c.message.content ?? null);
    return {
      ...base,
      createdAt: response.created,
      status: "completed",
      outputHash: hashContent(contents),
      usage: {
        inputTokens: response.usage?.prompt_tokens ?? null,
        outputTokens: response.usage?.completion_tokens ?? null,
        computeSeconds: null,
      },
      costUsd: null,
      ...(options.includeContent === true ? { content: { prompt, output: contents } } : {}),
    };
  });
}
