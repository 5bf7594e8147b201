/**
 * OpenAI chat-completion logs: the Stored Chat Completions API (completions created with `store: true`,
 * the dashboard's Logs page). Formats followed (OpenAI's OpenAPI specification, schemas `ChatCompletionList`
 * and `ChatCompletionMessageList`, and the openai-node client generated from it, `chat.completions.list` and
 * `chat.completions.messages.list`):
 *
 * - `GET /v1/chat/completions` returns a page `{ object: "list", data: [chat.completion], first_id, last_id,
 *   has_more }`; each completion also carries its `metadata` (the key-value tags it was stored with);
 * - `GET /v1/chat/completions/{completion_id}/messages` returns a page `{ object: "list", data: [message],
 *   first_id, last_id, has_more }` where a message is `{ id, role, content, content_parts?, … }`
 *   (`ChatCompletionStoreMessage`): the conversation the completion was asked for.
 *
 * Accepted: one list page as the API returns it, or a JSON array of pages (what a script following
 * `after=<last_id>` saves). The list has no prompts; a script that also fetched each completion's messages
 * may put them on the completion under `"messages"`: that page, or a JSON array of its pages. That member
 * is this importer's convention for the script's join, not an API field (the API returns the messages
 * separately). `has_more` is not followed: the file is what is imported.
 *
 * promptHash = hashContent([{ role, content }] of the messages in order), `content` being the message's
 * text, or its `content_parts` when it has no text; for a plain-text conversation that is the hash the
 * batch import gives the same `messages` (`hashContent(body.messages)`). null without `messages`.
 */
import { z } from "zod";
import { formatPath, isPlainObject, type JsonPath } from "../api/jsonPath.js";
import { PlatformImportError } from "./errors.js";
import { hashContent } from "./hash.js";
import { checkShape, count, readJsonDocument, UniqueIds } from "./jsonl.js";
import { ChatCompletionSchema, choiceContents } from "./openai.js";
import type { ParseOptions, PlatformJob } from "./types.js";

const WHAT = "not an OpenAI stored chat completion";
const HINT = "expected the GET /v1/chat/completions response (see docs/offchain.md, Platform exports)";
const EXPECTED =
  "an OpenAI stored chat completions list (the GET /v1/chat/completions response, or a JSON array of them)";
const DOWNLOAD = "download the list again";

/** A list page of either endpoint: only the envelope; the items are checked one by one for exact paths. */
const PageSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(z.unknown()),
    first_id: z.string().nullable().optional(),
    last_id: z.string().nullable().optional(),
    has_more: z.boolean().optional(),
  })
  .passthrough();

const MessageSchema = z
  .object({
    id: z.string().min(1),
    role: z.string().min(1),
    content: z.string().nullable().optional(),
    content_parts: z.array(z.unknown()).nullable().optional(),
  })
  .passthrough();

/** A stored completion: a chat.completion whose `usage` may be absent (the schema makes it optional). */
const StoredCompletionSchema = ChatCompletionSchema.extend({
  usage: z.object({ prompt_tokens: count, completion_tokens: count }).passthrough().nullable().optional(),
  metadata: z.record(z.string()).nullable().optional(),
  messages: z.unknown().optional(),
});

/** True for `{ object: "list", … }`: how `--from openai` tells this file from a batch file. */
export function isListPage(value: unknown): boolean {
  return isPlainObject(value) && value.object === "list";
}

/**
 * Whether `text` is a stored-completions export rather than JSON Lines: one JSON document that is a list
 * page or an array of them, or (when it does not parse) a document pretty-printed over several lines,
 * whose first line is a lone "{" or "[" (a JSON Lines line is a whole object), so a truncated download
 * is reported as such.
 */
export function looksLikeStoredList(text: string): boolean {
  try {
    const document: unknown = JSON.parse(text);
    return isListPage(document) || (Array.isArray(document) && document.length > 0 && isListPage(document[0]));
  } catch {
    const first = text.split("\n").find((line) => line.trim() !== "");
    return first !== undefined && ["{", "["].includes(first.trim());
  }
}

/** The items of a page or of an array of pages, with their JSON paths, in file order. */
function itemsOf(file: string, document: unknown, at: JsonPath, what: string): { path: JsonPath; value: unknown }[] {
  const page = (value: unknown, where: JsonPath) =>
    checkShape({ file }, PageSchema, value, what, HINT, where).data.map((item, i) => ({
      path: [...where, "data", i],
      value: item,
    }));
  if (Array.isArray(document)) return document.flatMap((value, i) => page(value, [...at, i]));
  return page(document, at);
}

/** The messages the script joined to a completion, as `{ role, content }` in order. */
function promptOf(file: string, messages: unknown, at: JsonPath): { role: string; content: unknown }[] {
  const ids = new UniqueIds(file, "message id", "each message must appear once (are two pages the same?)");
  return itemsOf(file, messages, at, "not an OpenAI stored chat completion's messages").map(({ path, value }) => {
    const message = checkShape({ file }, MessageSchema, value, "not an OpenAI stored chat message", HINT, path);
    ids.add(message.id, formatPath(path));
    return { role: message.role, content: message.content ?? message.content_parts ?? null };
  });
}

/** The jobs of a stored chat completions export, one per completion, in file order. All-or-nothing. */
export function parseOpenAIStoredCompletions(file: string, text: string, options: ParseOptions = {}): PlatformJob[] {
  const document = readJsonDocument(file, text, EXPECTED, DOWNLOAD);
  if (!isListPage(document) && !(Array.isArray(document) && document.every(isListPage))) {
    const found = Array.isArray(document)
      ? "an array of other values"
      : isPlainObject(document)
        ? 'an object without object: "list"'
        : typeof document;
    throw new PlatformImportError(
      file,
      undefined,
      `not an OpenAI stored chat completions list: ${HINT}, found ${found}`,
    );
  }
  const ids = new UniqueIds(file, "completion id", "each completion must appear once (are two pages the same?)");
  return itemsOf(file, document, [], "not an OpenAI stored chat completions list").map(({ path, value }) => {
    const completion = checkShape({ file }, StoredCompletionSchema, value, WHAT, HINT, path);
    ids.add(completion.id, formatPath(path));
    const prompt =
      completion.messages === undefined ? null : promptOf(file, completion.messages, [...path, "messages"]);
    const contents = choiceContents(completion);
    const job: PlatformJob = {
      platform: "openai",
      sourceId: completion.id,
      model: completion.model,
      createdAt: completion.created,
      status: "completed",
      promptHash: prompt === null ? null : hashContent(prompt),
      outputHash: hashContent(contents),
      usage: {
        inputTokens: completion.usage?.prompt_tokens ?? null,
        outputTokens: completion.usage?.completion_tokens ?? null,
        computeSeconds: null,
      },
      costUsd: null,
    };
    if (options.includeContent === true) job.content = { ...(prompt === null ? {} : { prompt }), output: contents };
    return job;
  });
}
