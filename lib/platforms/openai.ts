/**
 * OpenAI Batch API exports (one of the two OpenAI exports; the other is openaiStored.ts).
 * Formats followed (OpenAI's OpenAPI specification and Batch API guide):
 *
 * - output / error file (`output_file_id`, `error_file_id` of a finished batch): one `BatchRequestOutput`
 *   per line, `{ id, custom_id, response: { status_code, request_id, body } | null, error: { code,
 *   message } | null }`, where a 2xx `body` is a `chat.completion` object;
 * - input file (what was uploaded with `purpose: "batch"`): one `BatchRequestInput` per line,
 *   `{ custom_id, method: "POST", url: "/v1/chat/completions", body: <create-chat-completion request> }`.
 *
 * The output file has no prompt. To get prompt hashes, give the input file followed by the output
 * (and error) file in one file (`cat input.jsonl output.jsonl errors.jsonl`): lines are told apart by
 * their shape and joined by `custom_id`. The other OpenAI export, the stored chat completions list
 * (`GET /v1/chat/completions`), is read by `openaiStored.ts`; `parsePlatformExport` picks by shape.
 */
import { z } from "zod";
import { isPlainObject } from "../api/jsonPath.js";
import { PlatformImportError } from "./errors.js";
import { hashContent } from "./hash.js";
import { checkShape, count, readJsonLines, UniqueIds, type JsonLine } from "./jsonl.js";
import type { ParseOptions, PlatformJob } from "./types.js";

export { PlatformImportError } from "./errors.js";

const DOWNLOAD = "download the file again";
const NOT_JSONL =
  'an OpenAI batch file has one JSON object per line, and a stored-completions export is a list page (`object: "list"`) or an array of them (a Replicate predictions list is --from replicate)';
const WHAT_OUTPUT = "not an OpenAI Batch API output line";
const WHAT_INPUT = "not an OpenAI Batch API input line";
const HINT = "is this a batch's input, output or error file?";

const OutputLineSchema = z
  .object({
    id: z.string(),
    custom_id: z.string().min(1),
    response: z
      .object({ status_code: z.number().int().min(100).max(599), request_id: z.string(), body: z.unknown() })
      .passthrough()
      .nullable(),
    error: z.object({ code: z.string().nullable().optional(), message: z.string() }).passthrough().nullable(),
  })
  .passthrough()
  .superRefine((line, ctx) => {
    if (line.response === null && line.error === null) {
      ctx.addIssue({ code: "custom", path: ["response"], message: "response and error are both null" });
    }
  });

/** A `chat.completion` object (also what Hugging Face's OpenAI-compatible router returns). */
export const ChatCompletionSchema = z
  .object({
    id: z.string(),
    object: z.literal("chat.completion"),
    created: count,
    model: z.string().min(1),
    choices: z.array(
      z
        .object({
          index: count,
          message: z.object({ role: z.string(), content: z.string().nullable().optional() }).passthrough(),
        })
        .passthrough(),
    ),
    usage: z.object({ prompt_tokens: count, completion_tokens: count, total_tokens: count }).passthrough(),
  })
  .passthrough();
export type ChatCompletion = z.output<typeof ChatCompletionSchema>;

/** The request body of a chat completion: only what the import reads is checked. */
export const ChatRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(z.object({ role: z.string() }).passthrough()).min(1),
  })
  .passthrough();

const InputLineSchema = z
  .object({
    custom_id: z.string().min(1),
    method: z.literal("POST"),
    url: z.literal("/v1/chat/completions", {
      errorMap: () => ({ message: 'only "/v1/chat/completions" batches can be imported' }),
    }),
    body: ChatRequestSchema,
  })
  .passthrough();

/** An API error body of a non-2xx response: `{ error: { message, code? } }`. */
const ErrorBodySchema = z.object({
  error: z.object({ code: z.string().nullable().optional(), message: z.string() }).passthrough(),
});

/** The choices' `message.content` in `index` order (null for a choice without text). */
export function choiceContents(completion: Pick<ChatCompletion, "choices">): (string | null)[] {
  return [...completion.choices].sort((a, b) => a.index - b.index).map((choice) => choice.message.content ?? null);
}

/** The job of a completed chat completion: model, time, usage and the hash of the choices' contents. */
export function completedChatJob(
  platform: PlatformJob["platform"],
  sourceId: string,
  completion: ChatCompletion,
  options: ParseOptions,
): PlatformJob {
  const contents = choiceContents(completion);
  return {
    platform,
    sourceId,
    model: completion.model,
    createdAt: completion.created,
    status: "completed",
    promptHash: null,
    outputHash: hashContent(contents),
    usage: {
      inputTokens: completion.usage.prompt_tokens,
      outputTokens: completion.usage.completion_tokens,
      computeSeconds: null,
    },
    costUsd: null,
    ...(options.includeContent === true ? { content: { output: contents } } : {}),
  };
}

/** The job of a request that failed: no model, time, usage or output (the output file says none). */
export function failedJob(
  platform: PlatformJob["platform"],
  sourceId: string,
  error: { code?: string | null; message: string },
): PlatformJob {
  return {
    platform,
    sourceId,
    model: null,
    createdAt: null,
    status: "failed",
    promptHash: null,
    outputHash: null,
    usage: { inputTokens: null, outputTokens: null, computeSeconds: null },
    costUsd: null,
    error: { code: error.code ?? null, message: error.message },
  };
}

function outputJob(file: string, { line, value }: JsonLine, options: ParseOptions): PlatformJob {
  const output = checkShape({ file, line }, OutputLineSchema, value, WHAT_OUTPUT, HINT);
  if (output.error !== null) return failedJob("openai", output.custom_id, output.error);
  const response = output.response!;
  if (response.status_code < 200 || response.status_code > 299) {
    const body = ErrorBodySchema.safeParse(response.body);
    return failedJob(
      "openai",
      output.custom_id,
      body.success ? body.data.error : { message: `HTTP ${response.status_code} without an error body` },
    );
  }
  const completion = checkShape({ file, line }, ChatCompletionSchema, response.body, WHAT_OUTPUT, HINT, [
    "response",
    "body",
  ]);
  return completedChatJob("openai", output.custom_id, completion, options);
}

type LineKind = "input" | "output";

/** An output line has `response`/`error`; an input line has `method`/`url`/`body`; anything else is neither. */
function kindOf(file: string, { line, value }: JsonLine): LineKind {
  if (isPlainObject(value)) {
    if (Object.hasOwn(value, "request") && !Object.hasOwn(value, "custom_id")) {
      throw new PlatformImportError(
        file,
        line,
        "not an OpenAI Batch API line: this looks like a Hugging Face call log ({ id, request, response }); use --from huggingface",
      );
    }
    if (Object.hasOwn(value, "response") || Object.hasOwn(value, "error")) return "output";
    if (Object.hasOwn(value, "method") || Object.hasOwn(value, "url") || Object.hasOwn(value, "body")) return "input";
  }
  const found = Array.isArray(value) ? "an array" : isPlainObject(value) ? "an object without them" : typeof value;
  throw new PlatformImportError(
    file,
    line,
    `not an OpenAI Batch API line: expected an output line { id, custom_id, response, error } or an input line ` +
      `{ custom_id, method, url, body }, found ${found}; --from openai reads a batch's output file, optionally ` +
      `preceded by its input file`,
  );
}

/**
 * The jobs of an OpenAI Batch API export, one per request: an output (and error) file alone, in file
 * order, or an input file joined with its output, in input order and with prompt hashes. `file` names
 * the input in errors. All-or-nothing: the first bad line throws a PlatformImportError.
 */
export function parseOpenAIExport(file: string, text: string, options: ParseOptions = {}): PlatformJob[] {
  const lines = readJsonLines(file, text, DOWNLOAD, NOT_JSONL);
  const kinds = lines.map((line) => kindOf(file, line));
  if (!kinds.includes("input")) return outputJobs(file, lines, options);

  const inputs = new UniqueIds(file, "custom_id", "custom_id must be unique in a batch's input file");
  const requests: { line: number; id: string; body: z.output<typeof ChatRequestSchema> }[] = [];
  const outputs = new UniqueIds(file, "custom_id", "custom_id must be unique in a batch's output and error files");
  const answers = new Map<string, { job: PlatformJob; line: number }>();
  lines.forEach((line, i) => {
    if (kinds[i] === "input") {
      const input = checkShape({ file, line: line.line }, InputLineSchema, line.value, WHAT_INPUT, HINT);
      inputs.add(input.custom_id, `line ${line.line}`, line.line);
      requests.push({ line: line.line, id: input.custom_id, body: input.body });
    } else {
      const job = outputJob(file, line, options);
      outputs.add(job.sourceId, `line ${line.line}`, line.line);
      answers.set(job.sourceId, { job, line: line.line });
    }
  });
  const asked = new Set(requests.map((request) => request.id));
  for (const [id, { line }] of answers) {
    if (!asked.has(id)) {
      throw new PlatformImportError(
        file,
        line,
        `custom_id ${JSON.stringify(id)} has no input line; the input and output files come from different batches`,
      );
    }
  }
  return requests.map((request) => {
    const answer = answers.get(request.id);
    if (answer === undefined) {
      throw new PlatformImportError(
        file,
        request.line,
        `custom_id ${JSON.stringify(request.id)} has no output line; append the batch's output and error files ` +
          `(or wait until the batch has finished)`,
      );
    }
    const job = answer.job;
    const content = options.includeContent === true ? { ...job.content, prompt: request.body.messages } : undefined;
    return {
      ...job,
      // A failed request's model is only in the input file.
      model: job.model ?? request.body.model,
      promptHash: hashContent(request.body.messages),
      ...(content === undefined ? {} : { content }),
    };
  });
}

function outputJobs(file: string, lines: JsonLine[], options: ParseOptions): PlatformJob[] {
  const ids = new UniqueIds(file, "custom_id", "custom_id must be unique in a batch");
  return lines.map((line) => {
    const job = outputJob(file, line, options);
    ids.add(job.sourceId, `line ${line.line}`, line.line);
    return job;
  });
}

/** The jobs of a Batch API output (or error) file alone: no prompt, so no prompt hash. */
export function parseOpenAIBatchOutput(file: string, text: string, options: ParseOptions = {}): PlatformJob[] {
  return outputJobs(file, readJsonLines(file, text, DOWNLOAD, NOT_JSONL), options);
}
