/**
 * One entry point for every platform's export: `--from <platform>` picks the parser here. Each parser
 * is all-or-nothing and throws PlatformImportError naming the file, the line or JSON path, and what to do.
 * Formats (see each module's header and docs/offchain.md, "Platform exports"):
 * - openai: Batch API output/error file, optionally preceded by its input file (JSON Lines), or the
 *   stored chat completions list (a JSON document `{ object: "list", data }` or an array of them);
 * - replicate: the GET /v1/predictions response, or a JSON array of pages or predictions;
 * - huggingface: a JSON Lines log of Inference Providers chat-completion calls.
 */
import { PlatformImportError } from "./errors.js";
import { parseHuggingFaceExport } from "./huggingface.js";
import { parseOpenAIExport } from "./openai.js";
import { looksLikeStoredList, parseOpenAIStoredCompletions } from "./openaiStored.js";
import { parseReplicateExport } from "./replicate.js";
import { PLATFORMS, type ParseOptions, type PlatformJob, type PlatformName, type PlatformParser } from "./types.js";

export { PlatformImportError } from "./errors.js";
export { hashContent } from "./hash.js";
export * from "./types.js";

/** `--from openai`: a JSON document of list pages is the stored completions list, anything else JSON Lines. */
const parseOpenAI: PlatformParser = (file, text, options) =>
  looksLikeStoredList(text)
    ? parseOpenAIStoredCompletions(file, text, options)
    : parseOpenAIExport(file, text, options);

const PARSERS: Record<PlatformName, PlatformParser> = {
  openai: parseOpenAI,
  replicate: parseReplicateExport,
  huggingface: parseHuggingFaceExport,
};

export function parsePlatformExport(
  platform: PlatformName,
  file: string,
  text: string,
  options: ParseOptions = {},
): PlatformJob[] {
  const parser = Object.hasOwn(PARSERS, platform) ? PARSERS[platform] : undefined;
  if (parser === undefined) {
    throw new PlatformImportError(
      file,
      undefined,
      `unknown platform ${JSON.stringify(platform)}; use one of ${PLATFORMS.join(", ")}`,
    );
  }
  return parser(file, text, options);
}
