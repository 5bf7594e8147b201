/**
 * What every platform parser shares, written once: reading JSON Lines and JSON documents with errors
 * that name the file, the line and the column, checking a value against a zod schema with errors as
 * "JSON path: message", exact counts, timestamps and duplicate ids naming both places.
 */
import { z } from "zod";
import { syntaxErrorOffset } from "../api/files.js";
import { formatPath, isPlainObject, lineAndColumn, type JsonPath } from "../api/jsonPath.js";
import { PlatformImportError } from "./errors.js";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "../jsonPreview.js";

/** One parsed line of a JSON Lines file, with its 1-based line number. */
export interface JsonLine {
  line: number;
  value: unknown;
}

/**
 * JSON numbers above 2^53 - 1 were rounded by JSON.parse: refuse them rather than import a wrong
 * count. Used for every token count and unix timestamp.
 */
export const count = z
  .number()
  .int()
  .nonnegative()
  .max(Number.MAX_SAFE_INTEGER, "is above 2^53 - 1, so JSON cannot carry it exactly");

/** A duration in seconds: finite (a literal like 1e400 parses to Infinity) and not negative. */
export const seconds = z.number().finite().nonnegative();

/** An ISO 8601 date-time with a zone ("2024-11-13T18:36:18.123456Z"); fractions beyond ms are kept out of the parse. */
const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 timestamp string, turned into unix seconds (rounded down). */
export const isoSeconds = z.string().transform((text, ctx) => {
  const match = ISO.exec(text);
  const ms = match === null ? NaN : Date.parse(`${match[1]}${(match[2] ?? "").slice(0, 4)}${match[3]}`);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: "custom", message: `${JSON.stringify(text)} is not an ISO 8601 date-time with a time zone` });
    return z.NEVER;
  }
  return Math.floor(ms / 1000);
});

/** "$.a.b: message; $.c: message" for a failed zod parse, paths under `prefix`. */
export function describeIssues(error: z.ZodError, prefix: JsonPath = []): string {
  return error.issues.map((issue) => `${formatPath([...prefix, ...issue.path])}: ${issue.message}`).join("; ");
}

/**
 * `value` checked against `schema`, or a PlatformImportError "file:line: <what>: $.path: message; <hint>".
 * `prefix` is where `value` sits in the line or document, so paths are absolute.
 */
export function checkShape<T extends z.ZodTypeAny>(
  where: { file: string; line?: number },
  schema: T,
  value: unknown,
  what: string,
  hint: string,
  prefix: JsonPath = [],
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new PlatformImportError(where.file, where.line, `${what}: ${describeIssues(parsed.error, prefix)}; ${hint}`);
}

function emptyFile(file: string, expected: string): PlatformImportError {
  return new PlatformImportError(file, undefined, `the file is empty; expected ${expected}`);
}

/**
 * The lines of a JSON Lines file, parsed, in order. Whitespace-only lines are skipped (they carry
 * nothing); CRLF is accepted. Refused: a file without any line, a last line cut off inside its JSON
 * (no newline after it and the JSON ends early: "truncated"), any other invalid JSON (with its column),
 * and a pretty-printed JSON document (`notJsonLines` says what to do).
 */
export function readJsonLines(file: string, text: string, download: string, notJsonLines: string): JsonLine[] {
  const lines = text.split("\n");
  const endsWithNewline = text.endsWith("\n");
  let last = lines.length - 1;
  while (last >= 0 && lines[last]!.trim() === "") last--;
  if (last < 0) throw emptyFile(file, "one JSON object per line");
  const out: JsonLine[] = [];
  for (let i = 0; i <= last; i++) {
    const lineText = lines[i]!.replace(/\r$/, "");
    if (lineText.trim() === "") continue;
    const line = i + 1;
    try {
      const value: unknown = JSON.parse(lineText);
      if (nestedDeeperThan(value)) throw tooDeep(file, line);
      out.push({ line, value });
    } catch (error) {
      if (error instanceof PlatformImportError) throw error;
      const offset = syntaxErrorOffset(lineText);
      if (i === last && !endsWithNewline && offset >= lineText.length) {
        throw new PlatformImportError(
          file,
          line,
          `the last line is truncated (the file ends inside a JSON object); ${download}`,
        );
      }
      if (last > 0 && parses(text)) {
        throw new PlatformImportError(
          file,
          undefined,
          `the file is one JSON document over several lines, not JSON Lines; ${notJsonLines}`,
        );
      }
      const found = offset >= lineText.length ? "end of line" : JSON.stringify(lineText[offset]);
      throw new PlatformImportError(
        file,
        line,
        `invalid JSON at column ${offset + 1}: unexpected ${found}; each line must be one JSON object`,
      );
    }
  }
  return out;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A whole-file JSON document. A syntax error names its line and column; a document that ends early
 * is called truncated (the download was cut off).
 */
export function readJsonDocument(file: string, text: string, expected: string, download: string): unknown {
  if (text.trim() === "") throw emptyFile(file, expected);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const offset = syntaxErrorOffset(text);
    const { line, column } = lineAndColumn(text, offset);
    const first = text.trimStart().split("\n", 1)[0]!;
    if (line > 1 && first.trim().startsWith("{") && parses(first)) {
      throw new PlatformImportError(
        file,
        line,
        `the file is JSON Lines (one object per line), not one JSON document; expected ${expected}`,
      );
    }
    if (offset >= text.length) {
      throw new PlatformImportError(file, line, `the file is truncated (it ends inside the JSON); ${download}`);
    }
    throw new PlatformImportError(
      file,
      line,
      `invalid JSON at column ${column}: unexpected ${JSON.stringify(text[offset])}; expected ${expected}`,
    );
  }
  if (nestedDeeperThan(value)) throw tooDeep(file, undefined);
  return value;
}

/** Content hashes and the bundle recurse per level: a depth no export has is refused at the parse. */
function tooDeep(file: string, line: number | undefined): PlatformImportError {
  return new PlatformImportError(
    file,
    line,
    `the JSON nests deeper than ${MAX_JSON_DEPTH} levels; no platform export does`,
  );
}

/**
 * Refuses the second use of an id, naming both places ("line 3" / "$.results[2]"). Call `add` once per
 * item in file order.
 */
export class UniqueIds {
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly file: string,
    private readonly label: string,
    private readonly rule: string,
  ) {}

  add(id: string, place: string, line?: number): void {
    const first = this.seen.get(id);
    if (first !== undefined) {
      throw new PlatformImportError(
        this.file,
        line,
        `${this.label} ${JSON.stringify(id)} ${line === undefined ? `at ${place} ` : ""}repeats ${first}; ${this.rule}`,
      );
    }
    this.seen.set(id, place);
  }
}

/** True when `value` is an object holding every one of `keys` (to tell formats apart by shape). */
export function hasKeys(value: unknown, ...keys: string[]): boolean {
  return isPlainObject(value) && keys.every((key) => Object.hasOwn(value, key));
}
