/**
 * One entry point for every platform's export: `--from <platform>` picks the parser here.
 * (Only OpenAI's batch output so far; Replicate and Hugging Face are being added.)
 */
import { parseOpenAIBatchOutput } from "./openai.js";
import { PlatformImportError } from "./errors.js";
import type { ParseOptions, PlatformJob, PlatformName } from "./types.js";

export { PlatformImportError } from "./errors.js";
export * from "./types.js";

export function parsePlatformExport(
  platform: PlatformName,
  file: string,
  text: string,
  options: ParseOptions = {},
): PlatformJob[] {
  if (platform !== "openai") {
    throw new PlatformImportError(file, undefined, `no parser for ${platform} exports yet`);
  }
  return parseOpenAIBatchOutput(file, text, options).map((record) => ({
    platform,
    sourceId: record.sourceId,
    model: record.model,
    createdAt: record.createdAt,
    status: record.status,
    promptHash: null,
    outputHash: record.outputHash,
    usage: { inputTokens: record.promptTokens, outputTokens: record.completionTokens, computeSeconds: null },
    costUsd: null,
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.content === undefined ? {} : { content: { output: record.content } }),
  }));
}
