import { expect } from "chai";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hashContent, parsePlatformExport, PlatformImportError } from "../../lib/platforms/index.js";
import { looksLikeStoredList } from "../../lib/platforms/openaiStored.js";

const FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "fixtures",
  "platforms",
  "openai-stored-completions.json",
);
const FILE = "completions.json";
const text = () => readFileSync(FIXTURE, "utf8");

/** A stored completion as GET /v1/chat/completions lists it. */
function completion(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    object: "chat.completion",
    created: 1_744_982_400,
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    metadata: {},
    ...overrides,
  };
}
const page = (...data: unknown[]) => ({ object: "list", data, first_id: null, last_id: null, has_more: false });
const message = (id: string, role: string, content: unknown) => ({ id, role, content });

function refusal(input: string): PlatformImportError {
  try {
    parsePlatformExport("openai", FILE, input);
  } catch (error) {
    expect(error).to.be.instanceOf(PlatformImportError);
    return error as PlatformImportError;
  }
  expect.fail("the parser accepted the input");
}

describe("OpenAI stored chat completions import (lib/platforms/openaiStored, --from openai)", function () {
  it("parses the sample (an array of two pages) into one job per completion, in file order", function () {
    const jobs = parsePlatformExport("openai", FILE, text());
    expect(jobs).to.deep.equal([
      {
        platform: "openai",
        sourceId: "chatcmpl-BNxR4Tq8vX1a2b3c4d5e6f7g8h9i",
        model: "gpt-4o-mini-2024-07-18",
        createdAt: 1744982400,
        status: "completed",
        promptHash: hashContent([
          { role: "system", content: "You answer in one sentence." },
          { role: "user", content: "What is the capital of France?" },
        ]),
        outputHash: hashContent(["Paris is the capital of France."]),
        usage: { inputTokens: 25, outputTokens: 8, computeSeconds: null },
        costUsd: null,
      },
      {
        platform: "openai",
        sourceId: "chatcmpl-BNxS9Uw2yZ3b4c5d6e7f8g9h0j",
        model: "gpt-4o-2024-08-06",
        createdAt: 1744982461,
        status: "completed",
        promptHash: null, // no messages joined: the list alone has no prompt
        outputHash: hashContent(["def add(a, b):\n    return a + b"]),
        usage: { inputTokens: 31, outputTokens: 14, computeSeconds: null },
        costUsd: null,
      },
      {
        platform: "openai",
        sourceId: "chatcmpl-BNxU1Vx3zA4c5d6e7f8g9h0i1k",
        model: "gpt-4o-mini-2024-07-18",
        createdAt: 1744982523,
        status: "completed",
        // Messages over two pages; a message without text is hashed by its content parts.
        promptHash: hashContent([
          { role: "user", content: "Say hello in French." },
          { role: "user", content: [{ type: "text", text: "Formal, please." }] },
        ]),
        outputHash: hashContent(["Bonjour ! Comment puis-je vous aider ?"]),
        usage: { inputTokens: 18, outputTokens: 11, computeSeconds: null },
        costUsd: null,
      },
      {
        platform: "openai",
        sourceId: "chatcmpl-BNxV7Wy4aB5d6e7f8g9h0i1j2l",
        model: "gpt-3.5-turbo-0125",
        createdAt: 1744982590,
        status: "completed",
        promptHash: null,
        outputHash: hashContent(["1. Milk\n2. Eggs", "- Milk\n- Eggs"]),
        usage: { inputTokens: 22, outputTokens: 20, computeSeconds: null },
        costUsd: null,
      },
    ]);
  });

  it("gives a plain-text conversation the prompt hash the batch import gives the same messages", function () {
    const batchInput = readFileSync(path.join(path.dirname(FIXTURE), "openai-batch-input.jsonl"), "utf8");
    const body = JSON.parse(batchInput.split("\n")[0]!).body as { messages: { role: string; content: string }[] };
    const messages = page(...body.messages.map((m, i) => message(`m${i}`, m.role, m.content)));
    const [job] = parsePlatformExport("openai", FILE, JSON.stringify(page(completion("c", { messages }))));
    expect(job!.promptHash).to.equal(hashContent(body.messages));
  });

  it("accepts one page, a page without usage, and a one-line page; copies content only with includeContent", function () {
    const single = JSON.stringify(page(completion("a"), completion("b", { usage: null })));
    const jobs = parsePlatformExport("openai", FILE, single);
    expect(jobs.map((j) => j.sourceId)).to.deep.equal(["a", "b"]);
    expect(jobs[1]!.usage).to.deep.equal({ inputTokens: null, outputTokens: null, computeSeconds: null });
    expect(parsePlatformExport("openai", FILE, JSON.stringify(page()))).to.deep.equal([]);

    const withContent = parsePlatformExport("openai", FILE, text(), { includeContent: true });
    expect(withContent[0]!.content).to.deep.equal({
      prompt: [
        { role: "system", content: "You answer in one sentence." },
        { role: "user", content: "What is the capital of France?" },
      ],
      output: ["Paris is the capital of France."],
    });
    expect(withContent[1]!.content).to.deep.equal({ output: ["def add(a, b):\n    return a + b"] });
    expect(JSON.stringify(parsePlatformExport("openai", FILE, text()))).not.to.contain("capital");
  });

  it("tells a stored list from JSON Lines by shape", function () {
    expect(looksLikeStoredList(text())).to.equal(true);
    expect(looksLikeStoredList(JSON.stringify(page()))).to.equal(true);
    expect(looksLikeStoredList(text().slice(0, 300))).to.equal(true); // pretty-printed, cut off
    expect(looksLikeStoredList('{"id":"x","custom_id":"a","response":null,"error":null}\n')).to.equal(false);
    expect(looksLikeStoredList("[]")).to.equal(false);
    expect(looksLikeStoredList('{"id": "x",, }\n{"id": "y"}\n')).to.equal(false);
  });

  it("refuses a truncated file, an array holding a non-page and invalid JSON with line and column", function () {
    expect(refusal(text().slice(0, 900)).message).to.match(
      /^completions\.json:\d+: the file is truncated \(it ends inside the JSON\); download the list again$/,
    );
    const broken = refusal(text().replace('"created": 1744982461,', '"created": 1744982461,,'));
    expect(broken.line).to.equal(59);
    expect(broken.message).to.equal(
      `${FILE}:59: invalid JSON at column 31: unexpected ","; expected an OpenAI stored chat completions list (the GET /v1/chat/completions response, or a JSON array of them)`,
    );
    expect(refusal(`[${JSON.stringify(page())}, 3]`).message).to.equal(
      `${FILE}: not an OpenAI stored chat completions list: expected the GET /v1/chat/completions response (see docs/offchain.md, Platform exports), found an array of other values`,
    );
  });

  it("refuses wrong types and huge numbers with the JSON path", function () {
    const pages = JSON.parse(text()) as { data: Record<string, unknown>[] }[];
    const variant = (edit: (p: typeof pages) => void) => {
      const copy = structuredClone(pages);
      edit(copy);
      return JSON.stringify(copy);
    };
    expect(refusal(variant((p) => (p[1]!.data[1]!.model = 5))).message).to.equal(
      `${FILE}: not an OpenAI stored chat completion: $[1].data[1].model: Expected string, received number; expected the GET /v1/chat/completions response (see docs/offchain.md, Platform exports)`,
    );
    expect(refusal(variant((p) => (p[0]!.data[0]!.object = "response"))).message).to.contain(
      `$[0].data[0].object: Invalid literal value, expected "chat.completion"`,
    );
    expect(
      refusal(variant((p) => ((p[1]!.data[0]!.messages as { data: { role: unknown }[] }[])[1]!.data[0]!.role = null)))
        .message,
    ).to.contain(`${FILE}: not an OpenAI stored chat message: $[1].data[0].messages[1].data[0].role: Expected string`);
    expect(refusal(variant((p) => (p[0]!.data[0]!.messages = { data: [] }))).message).to.contain(
      `not an OpenAI stored chat completion's messages: $[0].data[0].messages.object: Invalid literal value, expected "list"`,
    );
    expect(refusal(variant((p) => (p[0]!.data[1]!.metadata = { n: 1 }))).message).to.contain(
      "$[0].data[1].metadata.n: Expected string, received number",
    );
    const huge = text().replace('"prompt_tokens": 31', '"prompt_tokens": 9007199254740993');
    expect(refusal(huge).message).to.contain(
      "$[0].data[1].usage.prompt_tokens: is above 2^53 - 1, so JSON cannot carry it exactly",
    );
    expect(refusal(text().replace('"created": 1744982590', '"created": 1e400')).message).to.contain(
      "$[1].data[1].created:",
    );
  });

  it("refuses a repeated completion or message id, naming both paths", function () {
    const twice = text().replaceAll("chatcmpl-BNxV7Wy4aB5d6e7f8g9h0i1j2l", "chatcmpl-BNxR4Tq8vX1a2b3c4d5e6f7g8h9i");
    expect(refusal(twice).message).to.equal(
      `${FILE}: completion id "chatcmpl-BNxR4Tq8vX1a2b3c4d5e6f7g8h9i" at $[1].data[1] repeats $[0].data[0]; each completion must appear once (are two pages the same?)`,
    );
    const messages = page(message("m", "user", "a"), message("m", "user", "a"));
    expect(refusal(JSON.stringify(page(completion("c", { messages })))).message).to.equal(
      `${FILE}: message id "m" at $.data[0].messages.data[1] repeats $.data[0].messages.data[0]; each message must appear once (are two pages the same?)`,
    );
  });

  it("property: every generated list, as one page or split into pages, gives one job per completion with its id, usage and hashes", function () {
    const generated = fc.record({
      id: fc.string({ minLength: 1, maxLength: 24 }),
      prompt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      created: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      output: fc.string({ unit: "grapheme" }),
      messages: fc.option(
        fc.array(fc.record({ role: fc.constantFrom("system", "user", "assistant"), content: fc.string() }), {
          maxLength: 4,
        }),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(generated, { minLength: 1, maxLength: 6, selector: (c) => c.id }),
        fc.integer({ min: 1, max: 6 }),
        (cs, pageSize) => {
          const items = cs.map((c) =>
            completion(c.id, {
              created: c.created,
              choices: [{ index: 0, message: { role: "assistant", content: c.output } }],
              usage: { prompt_tokens: c.prompt, completion_tokens: 1, total_tokens: c.prompt + 1 },
              ...(c.messages === undefined
                ? {}
                : { messages: page(...c.messages.map((m, i) => message(`${c.id}/${i}`, m.role, m.content))) }),
            }),
          );
          const pages = [];
          for (let i = 0; i < items.length; i += pageSize) pages.push(page(...items.slice(i, i + pageSize)));
          const input = pageSize >= items.length ? JSON.stringify(pages[0], null, 2) : JSON.stringify(pages);
          const jobs = parsePlatformExport("openai", FILE, input);
          expect(jobs.map((j) => j.sourceId)).to.deep.equal(cs.map((c) => c.id));
          jobs.forEach((job, i) => {
            const c = cs[i]!;
            expect(job.createdAt).to.equal(c.created);
            expect(job.usage.inputTokens).to.equal(c.prompt);
            expect(job.outputHash).to.equal(hashContent([c.output]));
            expect(job.promptHash).to.equal(c.messages === undefined ? null : hashContent(c.messages));
          });
        },
      ),
    );
  });

  it("property: the sample cut short at any character either parses or throws PlatformImportError", function () {
    const full = text();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: full.length - 1 }), (end) => {
        try {
          parsePlatformExport("openai", FILE, full.slice(0, end));
        } catch (error) {
          expect(error).to.be.instanceOf(PlatformImportError);
        }
      }),
      { numRuns: 80 },
    );
  });
});
