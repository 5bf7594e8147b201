import { readFile } from "node:fs/promises";
import { z } from "zod";
import { formatPath, lineAndColumn } from "./jsonPath.js";
import type { ApiRequest, ApiResponse } from "./migrate.js";

/** Input file that cannot be read as what it should be; the message names the file and where. */
export class ApiFileError extends Error {
  override name = "ApiFileError";
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * A request file: `{ "method": "POST", "url": "https://api.fabstir.com/v1/jobs",
 * "headers": { "X-API-Key": "…" }, "body": { … } }`. headers and body are optional.
 */
export const RequestFileSchema = z
  .object({
    method: z
      .string()
      .transform((method) => method.toUpperCase())
      .pipe(z.enum(METHODS)),
    url: z.string().url(),
    headers: z.record(z.string()).default({}),
    body: z.record(z.unknown()).optional(),
  })
  .strict();

/** A response file: `{ "status": 200, "headers": { … }, "body": { … } }`; status defaults to 200. */
export const ResponseFileSchema = z
  .object({
    status: z.number().int().min(100).max(599).default(200),
    headers: z.record(z.string()).default({}),
    body: z.unknown().refine((body) => body !== undefined, "Required"),
  })
  .strict();

/** A pair file: a request and the response it got, `{ "request": { … }, "response": { … } }`. */
export const PairFileSchema = z.object({ request: RequestFileSchema, response: ResponseFileSchema }).strict();

export interface ApiExchange {
  request: ApiRequest;
  response?: ApiResponse;
}

/** Parses JSON text, naming the file and the line and column of a syntax error. */
export function parseJsonText(file: string, text: string): unknown {
  if (text.trim() === "") {
    throw new ApiFileError(`${file}: the file is empty; expected a JSON object (see docs/offchain.md, API v1 → v2)`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    const offset = position === null ? text.length : Number(position[1]);
    const { line, column } = lineAndColumn(text, offset);
    // V8's message repeats the position; keep only its first sentence.
    const reason = message.replace(/\s*(in JSON )?at position \d+.*$/s, "").replace(/, ".*$/s, "");
    throw new ApiFileError(`${file}:${line}:${column}: invalid JSON: ${reason}; fix the file and run again`);
  }
}

function validate<T extends z.ZodTypeAny>(file: string, schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  throw new ApiFileError(`${file}: ${problems.join("; ")}`);
}

/** A request file, or a `{ request, response }` pair file, from its text. */
export function parseExchange(file: string, text: string): ApiExchange {
  const value = parseJsonText(file, text);
  if (typeof value === "object" && value !== null && Object.hasOwn(value, "request")) {
    return validate(file, PairFileSchema, value);
  }
  return { request: validate(file, RequestFileSchema, value) };
}

export function parseResponse(file: string, text: string): ApiResponse {
  return validate(file, ResponseFileSchema, parseJsonText(file, text)) as ApiResponse;
}

export async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new ApiFileError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
