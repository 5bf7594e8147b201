/**
 * Parser for the output file of the OpenAI Batch API (the JSONL file a finished batch's
 * `output_file_id` / `error_file_id` points to). Format followed: the `BatchRequestOutput` schema of
 * OpenAI's OpenAPI specification (v2.3.0), "the per-line object of the batch output and error files":
 * `{ id, custom_id, response: { status_code, request_id, body } | null, error: { code, message } | null }`,
 * where `body` is the endpoint's response, here a `/v1/chat/completions` `chat.completion` object.
 *
 * The output file does not hold the prompt (only the batch input file does), so a record carries no
 * prompt or prompt hash. Message contents are hashed, never copied, unless `includeContent` is set.
 */
import { keccak256, toUtf8Bytes } from "ethers";
import { z } from "zod";
import { syntaxErrorOffset } from "../api/files.js";
import { formatPath } from "../api/jsonPath.js";
import { PlatformImportError } from "./errors.js";

export { PlatformImportError } from "./errors.js";

export interface OpenAIImportOptions {
  /** Copy the choices' message contents into the records (off by default: user data stays out). */
  includeContent?: boolean;
}

export interface OpenAIImportRecord {
  /** The line's `custom_id`: the caller's id for the request, unique in the file. */
  sourceId: string;
  /** The model that answered; null for a failed request (its model is only in the input file). */
  model: string | null;
  /** `body.created`, unix seconds; null for a failed request. */
  createdAt: number | null;
  promptTokens: number;
  completionTokens: number;
  status: "completed" | "failed";
  /**
   * keccak256 of the UTF-8 JSON array of the choices' `message.content` in `index` order (null for
   * a choice without text content); null for a failed request.
   */
  outputHash: string | null;
  /** Why it failed: the line's `error`, or the error body of a non-2xx response. */
  error?: { code: string | null; message: string };
  /** The choices' contents, only with `includeContent`. */
  content?: (string | null)[];
}

/** JSON numbers above 2^53 - 1 were rounded by JSON.parse: refuse them rather than import a wrong count. */
const count = z
  .number()
  .int()
  .nonnegative()
  .max(Number.MAX_SAFE_INTEGER, "is above 2^53 - 1, so JSON cannot carry it exactly");

const LineSchema = z
  .object({
    id: z.string(),
    custom_id: z.string().min(1),
    response: z
      .object({
        status_code: z.number().int().min(100).max(599),
        request_id: z.string(),
        body: z.unknown(),
      })
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

const ChatCompletionSchema = z
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

/** An API error body of a non-2xx response: `{ error: { message, code? } }`; anything else is kept as text. */
const ErrorBodySchema = z.object({
  error: z.object({ code: z.string().nullable().optional(), message: z.string() }).passthrough(),
});

function check<T extends z.ZodTypeAny>(
  file: string,
  line: number,
  schema: T,
  value: unknown,
  prefix: (string | number)[] = [],
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${formatPath([...prefix, ...issue.path])}: ${issue.message}`);
  throw new PlatformImportError(
    file,
    line,
    `not an OpenAI Batch API output line: ${problems.join("; ")}; is this the batch's output file?`,
  );
}

function parseLine(file: string, line: number, text: string, isLast: boolean, endsWithNewline: boolean): unknown {
  try {
    return JSON.parse(text);
  } catch {
    if (isLast && !endsWithNewline) {
      throw new PlatformImportError(
        file,
        line,
        "the last line is truncated (the file ends inside a JSON object); download the output file again",
      );
    }
    const offset = syntaxErrorOffset(text);
    const found = offset >= text.length ? "end of line" : JSON.stringify(text[offset]);
    throw new PlatformImportError(
      file,
      line,
      `invalid JSON at column ${offset + 1}: unexpected ${found}; each line must be one JSON object`,
    );
  }
}

function toRecord(file: string, lineNo: number, value: unknown, options: OpenAIImportOptions): OpenAIImportRecord {
  const line = check(file, lineNo, LineSchema, value);
  const failed = (error: { code?: string | null; message: string }): OpenAIImportRecord => ({
    sourceId: line.custom_id,
    model: null,
    createdAt: null,
    promptTokens: 0,
    completionTokens: 0,
    status: "failed",
    outputHash: null,
    error: { code: error.code ?? null, message: error.message },
  });
  if (line.error !== null) return failed(line.error);
  const response = line.response!;
  if (response.status_code < 200 || response.status_code > 299) {
    const body = ErrorBodySchema.safeParse(response.body);
    return failed(
      body.success ? body.data.error : { code: null, message: `HTTP ${response.status_code} without an error body` },
    );
  }
  const body = check(file, lineNo, ChatCompletionSchema, response.body, ["response", "body"]);
  const contents = [...body.choices].sort((a, b) => a.index - b.index).map((choice) => choice.message.content ?? null);
  const record: OpenAIImportRecord = {
    sourceId: line.custom_id,
    model: body.model,
    createdAt: body.created,
    promptTokens: body.usage.prompt_tokens,
    completionTokens: body.usage.completion_tokens,
    status: "completed",
    outputHash: keccak256(toUtf8Bytes(JSON.stringify(contents))),
  };
  if (options.includeContent === true) record.content = contents;
  return record;
}

/**
 * The records of an OpenAI Batch API output file, one per line, in file order. `file` names the input
 * in errors. All-or-nothing: the first bad line throws a PlatformImportError and no record is returned.
 * Whitespace-only lines are skipped (they carry nothing); a file without any line is refused.
 */
export function parseOpenAIBatchOutput(
  file: string,
  text: string,
  options: OpenAIImportOptions = {},
): OpenAIImportRecord[] {
  const lines = text.split("\n");
  const endsWithNewline = text.endsWith("\n");
  let last = lines.length - 1;
  while (last >= 0 && lines[last]!.trim() === "") last--;
  if (last < 0) {
    throw new PlatformImportError(file, undefined, "the file is empty; expected one JSON object per line");
  }
  const records: OpenAIImportRecord[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i <= last; i++) {
    const lineText = lines[i]!.replace(/\r$/, "");
    if (lineText.trim() === "") continue;
    const lineNo = i + 1;
    const record = toRecord(file, lineNo, parseLine(file, lineNo, lineText, i === last, endsWithNewline), options);
    const first = seen.get(record.sourceId);
    if (first !== undefined) {
      throw new PlatformImportError(
        file,
        lineNo,
        `custom_id ${JSON.stringify(record.sourceId)} repeats line ${first}; custom_id must be unique in a batch`,
      );
    }
    seen.set(record.sourceId, lineNo);
    records.push(record);
  }
  return records;
}
