import { readFile } from "node:fs/promises";
import { z } from "zod";
import { formatPath, lineAndColumn } from "./jsonPath.js";
import type { ApiRequest, ApiResponse } from "./migrate.js";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "../jsonPreview.js";

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

/**
 * The offset of the first syntax error in `text` (V8's messages do not always carry one): a small
 * recursive-descent scan of the JSON grammar, run only once JSON.parse has failed. It recurses
 * once per nesting level, so a bracket deeper than MAX_JSON_DEPTH is where it stops and reports
 * (text that broken is refused either way; the scan must not overflow the stack on it).
 */
export function syntaxErrorOffset(text: string): number {
  let i = 0;
  let depth = 0;
  const fail = (): never => {
    throw i;
  };
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    for (const char of word) if (text[i++] !== char) (i--, fail());
  };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail();
      const char = text[i]!;
      if (char === '"') return void i++;
      if (char < " ") fail();
      if (char === "\\") {
        i++;
        if (text[i] === "u") {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? "")) ((i += k), fail());
          i += 5;
        } else if (i < text.length && '"\\/bfnrt'.includes(text[i]!)) i++;
        else fail();
      } else i++;
    }
  };
  const digits = (): void => {
    if (!/[0-9]/.test(text[i] ?? "")) fail();
    while (/[0-9]/.test(text[i] ?? "")) i++;
  };
  const number = () => {
    if (text[i] === "-") i++;
    if (text[i] === "0") i++;
    else digits();
    if (text[i] === ".") (i++, digits());
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      digits();
    }
  };
  const value = (): void => {
    space();
    const char = text[i];
    if (char === "{" || char === "[") {
      if (depth === MAX_JSON_DEPTH) fail();
      depth++;
      nested(char);
      depth--;
      return;
    }
    if (char === '"') return string();
    if (char === "t") return literal("true");
    if (char === "f") return literal("false");
    if (char === "n") return literal("null");
    number();
  };
  const nested = (char: string): void => {
    if (char === "{") {
      i++;
      space();
      if (text[i] === "}") return void i++;
      for (;;) {
        space();
        if (text[i] !== '"') fail();
        string();
        space();
        if (text[i] !== ":") fail();
        i++;
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return void i++;
        else fail();
      }
    }
    if (char === "[") {
      i++;
      space();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        space();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else fail();
      }
    }
  };
  try {
    value();
    space();
    if (i < text.length) fail();
  } catch (offset) {
    if (typeof offset === "number") return Math.min(offset, text.length);
    throw offset;
  }
  return text.length;
}

/** Parses JSON text, naming the file and the line and column of a syntax error. */
export function parseJsonText(file: string, text: string): unknown {
  if (text.trim() === "") {
    throw new ApiFileError(`${file}: the file is empty; expected a JSON object (see docs/offchain.md, API v1 → v2)`);
  }
  try {
    return JSON.parse(text);
  } catch {
    const offset = syntaxErrorOffset(text);
    const { line, column } = lineAndColumn(text, offset);
    const found = offset >= text.length ? "end of file" : JSON.stringify(text[offset]);
    throw new ApiFileError(`${file}:${line}:${column}: invalid JSON: unexpected ${found}; fix the file and run again`);
  }
}

function validate<T extends z.ZodTypeAny>(file: string, schema: T, value: unknown): z.output<T> {
  // The mapper walks bodies recursively: a depth no real API body has is refused here, not overflowed there.
  if (nestedDeeperThan(value)) {
    throw new ApiFileError(`${file}: nested deeper than ${MAX_JSON_DEPTH} levels; an API body is never that deep`);
  }
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
