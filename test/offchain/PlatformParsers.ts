import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  hashContent,
  parsePlatformExport,
  PLATFORMS,
  PlatformImportError,
  type PlatformName,
} from "../../lib/platforms/index.js";

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "platforms");
const read = (name: string) => readFileSync(path.join(DIR, name), "utf8");
const FILE = "export.json";

function refusal(platform: PlatformName, text: string): PlatformImportError {
  try {
    parsePlatformExport(platform, FILE, text);
  } catch (error) {
    expect(error).to.be.instanceOf(PlatformImportError);
    return error as PlatformImportError;
  }
  expect.fail("the parser accepted the input");
}

/** A finished Replicate prediction as the list endpoint returns it. */
function prediction(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    model: "meta/meta-llama-3-8b-instruct",
    version: "dp-cf04bb4d1c4b4f3e9b4b2a8f7e6d5c4b",
    input: { prompt: "hi" },
    output: ["hello"],
    error: null,
    logs: "",
    status: "succeeded",
    created_at: "2024-11-13T18:36:18.123456Z",
    started_at: "2024-11-13T18:36:18.201733Z",
    completed_at: "2024-11-13T18:36:19.532918Z",
    urls: { get: `https://api.replicate.com/v1/predictions/${id}` },
    metrics: { predict_time: 1.25, input_token_count: 3, output_token_count: 5 },
    source: "api",
    data_removed: false,
    ...overrides,
  };
}
const page = (...results: unknown[]) => JSON.stringify({ next: null, previous: null, results });

/** A Hugging Face call-log line for a completed call. */
function call(id: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id,
    request: { model: "meta-llama/Llama-3.1-8B-Instruct", messages: [{ role: "user", content: "hi" }] },
    response: {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1_731_520_800,
      model: "meta-llama/Llama-3.1-8B-Instruct",
      choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    },
    ...overrides,
  });
}

describe("Platform export parsers (lib/platforms)", function () {
  describe("hashContent", function () {
    it("is keccak256 of canonical JSON, so key order and spacing do not change it", function () {
      expect(hashContent({ b: 1, a: [1, "x"] })).to.equal(keccak256(toUtf8Bytes('{"a":[1,"x"],"b":1}')));
      expect(hashContent(JSON.parse('{ "a" : [1, "x"], "b": 1 }'))).to.equal(hashContent({ b: 1, a: [1, "x"] }));
    });
  });

  describe("openai: Batch API input joined with its output", function () {
    const joined = () => read("openai-batch-input.jsonl") + read("openai-batch-output.jsonl");
    const messages = (i: number) => JSON.parse(read("openai-batch-input.jsonl").split("\n")[i]!).body.messages;

    it("parses input + output into jobs in input order, with prompt hashes and the failed requests' models", function () {
      const jobs = parsePlatformExport("openai", FILE, joined());
      expect(jobs.map((j) => [j.sourceId, j.model, j.status])).to.deep.equal([
        ["request-1", "gpt-4o-mini-2024-07-18", "completed"],
        ["request-2", "gpt-4o-2024-08-06", "completed"],
        ["request-3", "gpt-4o", "failed"],
        ["request-4", "gpt-4o-mini-2024-07-18", "completed"],
        ["request-5", "gpt-4o-mini", "failed"],
      ]);
      jobs.forEach((job, i) => expect(job.promptHash).to.equal(hashContent(messages(i))));
      expect(jobs[0]).to.deep.equal({
        platform: "openai",
        sourceId: "request-1",
        model: "gpt-4o-mini-2024-07-18",
        createdAt: 1731522978,
        status: "completed",
        promptHash: hashContent([
          { role: "system", content: "You are a helpful assistant." },
          { role: "user", content: "Hello world!" },
        ]),
        outputHash: hashContent(["Hello! How can I help you today?"]),
        usage: { inputTokens: 20, outputTokens: 9, computeSeconds: null },
        costUsd: null,
      });
      // The output file alone gives the same jobs without prompt hashes.
      const alone = parsePlatformExport("openai", FILE, read("openai-batch-output.jsonl"));
      expect(alone.map((j) => j.promptHash)).to.deep.equal([null, null, null, null, null]);
      expect(alone[0]!.outputHash).to.equal(jobs[0]!.outputHash);
    });

    it("copies prompts and outputs only with includeContent", function () {
      const jobs = parsePlatformExport("openai", FILE, joined(), { includeContent: true });
      expect(jobs[3]!.content).to.deep.equal({ output: ["Bonjour le monde ✓"], prompt: messages(3) });
      expect(jobs[2]!.content).to.deep.equal({ prompt: messages(2) });
      expect(JSON.stringify(parsePlatformExport("openai", FILE, joined()))).not.to.contain("Hello world");
    });

    it("refuses an input without an output, an output without an input, and a repeated input", function () {
      const input = read("openai-batch-input.jsonl");
      const output = read("openai-batch-output.jsonl").split("\n");
      expect(refusal("openai", input + output.slice(0, 4).join("\n")).message).to.equal(
        `${FILE}:5: custom_id "request-5" has no output line; append the batch's output and error files (or wait until the batch has finished)`,
      );
      const stranger = output[0]!.replace('"request-1"', '"request-9"');
      expect(refusal("openai", `${input}${stranger}\n`).message).to.equal(
        `${FILE}:6: custom_id "request-9" has no input line; the input and output files come from different batches`,
      );
      const first = input.split("\n")[0]!;
      expect(refusal("openai", `${input}${first}\n`).message).to.equal(
        `${FILE}:6: custom_id "request-1" repeats line 1; custom_id must be unique in a batch's input file`,
      );
    });

    it("refuses input lines of other endpoints or with wrong types, with the path", function () {
      const line = JSON.parse(read("openai-batch-input.jsonl").split("\n")[0]!);
      expect(refusal("openai", JSON.stringify({ ...line, url: "/v1/embeddings" })).message).to.equal(
        `${FILE}:1: not an OpenAI Batch API input line: $.url: only "/v1/chat/completions" batches can be imported; is this a batch's input, output or error file?`,
      );
      line.body.messages = "hi";
      expect(refusal("openai", JSON.stringify(line)).message).to.contain(
        "$.body.messages: Expected array, received string",
      );
    });

    it("tells a file of another platform or shape from a batch file", function () {
      expect(refusal("openai", read("replicate-predictions.json")).message).to.equal(
        `${FILE}: the file is one JSON document over several lines, not JSON Lines; an OpenAI batch file has one JSON object per line, and a stored-completions export is a list page (\`object: "list"\`) or an array of them (a Replicate predictions list is --from replicate)`,
      );
      expect(refusal("openai", read("huggingface-chat-log.jsonl")).message).to.equal(
        `${FILE}:1: not an OpenAI Batch API line: this looks like a Hugging Face call log ({ id, request, response }); use --from huggingface`,
      );
      const neither = refusal("openai", `{"custom_id":"a","status":"done"}\n`);
      expect(neither.line).to.equal(1);
      expect(neither.message).to.contain("not an OpenAI Batch API line: expected an output line");
      expect(refusal("openai", "[1, 2]\n").message).to.contain("found an array");
    });
  });

  describe("replicate: the predictions list", function () {
    it("parses the sample page: succeeded, failed, canceled and data-removed predictions", function () {
      const jobs = parsePlatformExport("replicate", FILE, read("replicate-predictions.json"));
      expect(jobs.map((j) => [j.sourceId, j.status])).to.deep.equal([
        ["q8h7x2k3vnrj20cm4r8bxzq9m4", "completed"],
        ["7kz3m1f0gsrj00cm4r9a2b1c5d", "completed"],
        ["2tdn6e8wfhrj40cm4r7v0k5s8q", "failed"],
        ["mq0b9a4pxnrj60cm4r6tz3d2ha", "cancelled"],
        ["c1r9w8v7tsrj20cm4r5q6p7n8m", "completed"],
      ]);
      expect(jobs[0]).to.deep.equal({
        platform: "replicate",
        sourceId: "q8h7x2k3vnrj20cm4r8bxzq9m4",
        model: "meta/meta-llama-3-8b-instruct",
        createdAt: 1731522978, // 2024-11-13T18:36:18.123456Z
        status: "completed",
        promptHash: hashContent({ prompt: "Write a limerick about GPUs", max_tokens: 128, temperature: 0.6 }),
        outputHash: hashContent(["There ", "once ", "was ", "a ", "GPU ", "from ", "Nice"]),
        usage: { inputTokens: 14, outputTokens: 42, computeSeconds: 1.331185 },
        costUsd: null,
      });
      expect(jobs[1]!.usage).to.deep.equal({ inputTokens: null, outputTokens: null, computeSeconds: 1.367627 });
      expect(jobs[2]).to.deep.include({
        status: "failed",
        outputHash: null,
        error: { code: null, message: "CUDA out of memory. Tried to allocate 20.00 GiB" },
      });
      expect(jobs[2]!.promptHash).to.equal(
        hashContent({ prompt: "an astronaut riding a horse", width: 4096, height: 4096 }),
      );
      expect(jobs[3]).to.deep.include({ status: "cancelled", outputHash: null, createdAt: 1731519612 });
      expect(jobs[3]!.usage.computeSeconds).to.equal(null);
      expect(jobs[3]).not.to.have.property("error");
      // data_removed: Replicate deleted input and output, so nothing is hashed.
      expect(jobs[4]).to.deep.include({ promptHash: null, outputHash: null, createdAt: 1731402900 });
    });

    it("copies input and output only with includeContent", function () {
      const jobs = parsePlatformExport("replicate", FILE, read("replicate-predictions.json"), { includeContent: true });
      expect(jobs[1]!.content).to.deep.equal({
        prompt: { prompt: "a lighthouse at dusk, oil painting", num_outputs: 1, aspect_ratio: "16:9" },
        output: ["https://replicate.delivery/xezq/abc123/out-0.webp"],
      });
      expect(jobs[2]!.content).to.deep.equal({
        prompt: { prompt: "an astronaut riding a horse", width: 4096, height: 4096 },
      });
      expect(jobs[4]!.content).to.deep.equal({});
      expect(JSON.stringify(parsePlatformExport("replicate", FILE, read("replicate-predictions.json")))).not.to.contain(
        "lighthouse",
      );
    });

    it("accepts a JSON array of pages and a JSON array of predictions, in file order", function () {
      const pages = `[${page(prediction("a"), prediction("b"))}, ${page(prediction("c"))}]`;
      expect(parsePlatformExport("replicate", FILE, pages).map((j) => j.sourceId)).to.deep.equal(["a", "b", "c"]);
      const list = JSON.stringify([prediction("x"), prediction("y")]);
      expect(parsePlatformExport("replicate", FILE, list).map((j) => j.sourceId)).to.deep.equal(["x", "y"]);
      expect(parsePlatformExport("replicate", FILE, "[]")).to.deep.equal([]);
    });

    it("refuses a prediction that is not finished", function () {
      for (const status of ["starting", "processing"]) {
        expect(refusal("replicate", page(prediction("a"), prediction("b", { status }))).message).to.equal(
          `${FILE}: prediction "b" at $.results[1] is still ${status}, not finished: export again when it completes (or cancel it)`,
        );
      }
    });

    it("records a generic message for a failed prediction without one", function () {
      const [job] = parsePlatformExport("replicate", FILE, page(prediction("f", { status: "failed", error: null })));
      expect(job!.error).to.deep.equal({ code: null, message: "the prediction failed without an error message" });
    });

    it("refuses an empty, truncated or invalid file with the line", function () {
      for (const text of ["", " \n\n"]) {
        expect(refusal("replicate", text).message).to.equal(
          `${FILE}: the file is empty; expected a Replicate predictions list (the GET /v1/predictions response, or a JSON array of them)`,
        );
      }
      const text = read("replicate-predictions.json");
      const cut = refusal("replicate", text.slice(0, 400));
      expect(cut.message).to.match(/^export\.json:\d+: the file is truncated \(it ends inside the JSON\); download/);
      const broken = refusal("replicate", text.replace('"status": "failed"', '"status": "failed",,'));
      expect(broken.line).to.equal(78);
      expect(broken.message).to.contain(`${FILE}:78: invalid JSON at column 26: unexpected ","`);
    });

    it("refuses wrong types, bad timestamps and huge numbers with the JSON path", function () {
      expect(refusal("replicate", page(prediction("a"), prediction("b", { status: "done" }))).message).to.contain(
        `${FILE}: not a Replicate prediction: $.results[1].status: Invalid enum value.`,
      );
      expect(refusal("replicate", page(prediction("a", { created_at: "yesterday" }))).message).to.contain(
        `$.results[0].created_at: "yesterday" is not an ISO 8601 date-time with a time zone`,
      );
      const huge = page(prediction("a")).replace('"input_token_count":3', '"input_token_count":9007199254740993');
      expect(refusal("replicate", huge).message).to.contain(
        "$.results[0].metrics.input_token_count: is above 2^53 - 1, so JSON cannot carry it exactly",
      );
      const infinite = page(prediction("a")).replace('"predict_time":1.25', '"predict_time":1e400');
      expect(refusal("replicate", infinite).message).to.contain("$.results[0].metrics.predict_time:");
      expect(refusal("replicate", `[${page(prediction("a"))}, {"results": 3}]`).message).to.contain(
        "$[1].results: Expected array, received number",
      );
    });

    it("refuses a duplicate prediction id, naming both places", function () {
      const pages = `[${page(prediction("a"), prediction("b"))}, ${page(prediction("a"))}]`;
      expect(refusal("replicate", pages).message).to.equal(
        `${FILE}: prediction id "a" at $[1].results[0] repeats $[0].results[0]; each prediction must appear once (are two pages the same?)`,
      );
    });

    it("tells a file of another platform or shape from a predictions list", function () {
      expect(refusal("replicate", read("huggingface-chat-log.jsonl")).message).to.equal(
        `${FILE}:2: the file is JSON Lines (one object per line), not one JSON document; expected a Replicate predictions list (the GET /v1/predictions response, or a JSON array of them)`,
      );
      expect(refusal("replicate", '{"object": "list", "data": []}').message).to.equal(
        `${FILE}: not a Replicate predictions list: expected the GET /v1/predictions response (see docs/offchain.md, Platform exports), found an object without results (an OpenAI list is --from openai)`,
      );
      expect(refusal("replicate", "42").message).to.contain("found number");
    });
  });

  describe("huggingface: the chat-completion call log", function () {
    it("parses the sample log: completed calls, an empty response id, a failed call", function () {
      const jobs = parsePlatformExport("huggingface", FILE, read("huggingface-chat-log.jsonl"));
      expect(jobs.map((j) => [j.sourceId, j.model, j.status])).to.deep.equal([
        ["call-0001", "meta-llama/Llama-3.1-8B-Instruct", "completed"],
        ["call-0002", "deepseek-ai/DeepSeek-V3-0324:novita", "completed"],
        ["call-0003", "Qwen/Qwen2.5-72B-Instruct", "failed"],
        ["call-0004", "meta-llama/Llama-3.1-8B-Instruct", "completed"],
      ]);
      expect(jobs[0]).to.deep.equal({
        platform: "huggingface",
        sourceId: "call-0001",
        model: "meta-llama/Llama-3.1-8B-Instruct",
        createdAt: 1731520800,
        status: "completed",
        promptHash: hashContent([{ role: "user", content: "What is the capital of France?" }]),
        outputHash: hashContent(["The capital of France is Paris."]),
        usage: { inputTokens: 17, outputTokens: 8, computeSeconds: null },
        costUsd: null,
      });
      expect(jobs[2]).to.deep.include({ createdAt: null, outputHash: null, costUsd: null });
      expect(jobs[2]!.error!.code).to.equal("422");
      expect(jobs[2]!.error!.message).to.match(/^Input validation error/);
      expect(jobs[2]!.promptHash).to.equal(hashContent([{ role: "user", content: "Write a very long story." }]));
    });

    it("copies prompts and outputs only with includeContent", function () {
      const jobs = parsePlatformExport("huggingface", FILE, read("huggingface-chat-log.jsonl"), {
        includeContent: true,
      });
      expect(jobs[3]!.content).to.deep.equal({
        prompt: [{ role: "user", content: "Traduis « bonjour » en anglais." }],
        output: ["« Bonjour » se traduit par « hello »."],
      });
      expect(jobs[2]!.content).to.deep.equal({ prompt: [{ role: "user", content: "Write a very long story." }] });
      expect(
        JSON.stringify(parsePlatformExport("huggingface", FILE, read("huggingface-chat-log.jsonl"))),
      ).not.to.contain("Traduis");
    });

    it("uses the response id when the line has none, and a string error as the message", function () {
      const noId = JSON.parse(call("x"));
      delete noId.id;
      const failed = JSON.stringify({ id: "f", request: JSON.parse(call("f")).request, error: "Model is overloaded" });
      const jobs = parsePlatformExport("huggingface", FILE, `${JSON.stringify(noId)}\n${failed}\n`);
      expect(jobs.map((j) => j.sourceId)).to.deep.equal(["chatcmpl-1", "f"]);
      expect(jobs[1]!.error).to.deep.equal({ code: null, message: "Model is overloaded" });
    });

    it("refuses empty, truncated and invalid files with the line", function () {
      expect(refusal("huggingface", "\n \n").message).to.equal(
        `${FILE}: the file is empty; expected one JSON object per line`,
      );
      const cut = refusal("huggingface", `${call("a")}\n${call("b").slice(0, 60)}`);
      expect(cut.message).to.equal(
        `${FILE}:2: the last line is truncated (the file ends inside a JSON object); the log's last call was cut off: remove that line or copy the log again`,
      );
      expect(refusal("huggingface", `${call("a")}\n{"id": 1,, }\n`).message).to.equal(
        `${FILE}:2: invalid JSON at column 10: unexpected ","; each line must be one JSON object`,
      );
    });

    it("refuses wrong types, missing ids and huge numbers with the JSON path", function () {
      expect(
        refusal("huggingface", `${call("a")}\n${call("b", { request: { model: "m", messages: [] } })}`).message,
      ).to.equal(
        `${FILE}:2: not a Hugging Face chat-completion log line: $.request.messages: Array must contain at least 1 element(s); expected { id, request, response } or { id, request, error } (see docs/offchain.md, Platform exports)`,
      );
      const both = JSON.parse(call("a"));
      both.error = "x";
      expect(refusal("huggingface", JSON.stringify(both)).message).to.contain(
        "$: a line has either response or error, not both or neither",
      );
      const anonymous = JSON.parse(call("a"));
      delete anonymous.id;
      anonymous.response.id = "";
      expect(refusal("huggingface", JSON.stringify(anonymous)).message).to.contain(
        "$.id: Required (the response gives no id to use)",
      );
      const huge = call("a").replace('"completion_tokens":1', '"completion_tokens":18446744073709551616');
      expect(refusal("huggingface", huge).message).to.contain(
        "$.response.usage.completion_tokens: is above 2^53 - 1, so JSON cannot carry it exactly",
      );
    });

    it("refuses a duplicate call id, naming both lines", function () {
      expect(refusal("huggingface", `${call("a")}\n${call("b")}\n${call("a")}\n`).message).to.equal(
        `${FILE}:3: call id "a" repeats line 1; each call must be logged once`,
      );
    });

    it("tells an OpenAI batch file or a JSON document from a call log", function () {
      expect(refusal("huggingface", read("openai-batch-output.jsonl")).message).to.equal(
        `${FILE}:1: not a Hugging Face chat-completion log line: this is an OpenAI Batch API file; use --from openai`,
      );
      expect(refusal("huggingface", read("replicate-predictions.json")).message).to.equal(
        `${FILE}: the file is one JSON document over several lines, not JSON Lines; a Hugging Face call log has one JSON object per line`,
      );
    });
  });

  it("refuses an unknown platform", function () {
    expect(refusal("anthropic" as PlatformName, "{}").message).to.equal(
      `${FILE}: unknown platform "anthropic"; use one of openai, huggingface, replicate`,
    );
  });

  describe("properties", function () {
    const id = fc.string({ minLength: 1, maxLength: 24 });

    it("every generated valid prediction list parses to one job per prediction with its id", function () {
      const generated = fc.record({
        id,
        status: fc.constantFrom("succeeded", "failed", "canceled"),
        input: fc.jsonValue(),
        output: fc.jsonValue(),
        created: fc.date({ min: new Date("2000-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }),
        predict: fc.double({ min: 0, max: 1e6, noNaN: true }),
        tokens: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        asPages: fc.boolean(),
      });
      fc.assert(
        fc.property(fc.uniqueArray(generated, { maxLength: 6, selector: (p) => p.id }), (ps) => {
          const predictions = ps.map((p) =>
            prediction(p.id, {
              status: p.status,
              input: p.input,
              output: p.output,
              created_at: p.created.toISOString(),
              metrics: { predict_time: p.predict, output_token_count: p.tokens },
            }),
          );
          const text = ps[0]?.asPages ? JSON.stringify([JSON.parse(page(...predictions))]) : page(...predictions);
          const jobs = parsePlatformExport("replicate", FILE, text);
          expect(jobs.map((j) => j.sourceId)).to.deep.equal(ps.map((p) => p.id));
          jobs.forEach((job, i) => {
            const p = ps[i]!;
            expect(job.createdAt).to.equal(Math.floor(p.created.getTime() / 1000));
            expect(job.usage.computeSeconds).to.equal(p.predict);
            expect(job.usage.outputTokens).to.equal(p.tokens);
            expect(job.promptHash).to.equal(p.input === null ? null : hashContent(p.input));
          });
        }),
      );
    });

    it("every generated valid call log parses to one job per line with its id and token counts", function () {
      const generated = fc.record({
        id,
        failed: fc.boolean(),
        content: fc.string({ unit: "grapheme" }),
        prompt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      });
      fc.assert(
        fc.property(fc.uniqueArray(generated, { minLength: 1, maxLength: 6, selector: (c) => c.id }), (cs) => {
          const text = cs
            .map((c) => {
              const line = JSON.parse(call(c.id));
              if (c.failed) return JSON.stringify({ id: c.id, request: line.request, error: { message: c.content } });
              line.response.choices[0].message.content = c.content;
              line.response.usage.prompt_tokens = c.prompt;
              return JSON.stringify(line);
            })
            .join("\r\n");
          const jobs = parsePlatformExport("huggingface", FILE, text);
          expect(jobs.map((j) => j.sourceId)).to.deep.equal(cs.map((c) => c.id));
          jobs.forEach((job, i) => {
            const c = cs[i]!;
            expect(job.status).to.equal(c.failed ? "failed" : "completed");
            expect(job.usage.inputTokens).to.equal(c.failed ? null : c.prompt);
            expect(job.outputHash).to.equal(c.failed ? null : hashContent([c.content]));
          });
        }),
      );
    });

    it("every generated byte string either parses or throws PlatformImportError, for every platform", function () {
      // Raw bytes decoded as UTF-8, plus JSON-ish text (more likely to reach the schemas).
      const bytes = fc.uint8Array({ maxLength: 200 }).map((b) => new TextDecoder().decode(b));
      const jsonish = fc
        .array(fc.oneof(fc.json(), fc.constantFrom("{", "}", "[", "]", ",", '"', "\n", ":", "1e999", '"results"')), {
          maxLength: 12,
        })
        .map((parts) => parts.join(""));
      fc.assert(
        fc.property(fc.constantFrom(...PLATFORMS), fc.oneof(bytes, jsonish), (platform, text) => {
          try {
            parsePlatformExport(platform, FILE, text);
          } catch (error) {
            expect(error).to.be.instanceOf(PlatformImportError);
            expect((error as Error).message.startsWith(FILE)).to.equal(true);
          }
        }),
        { numRuns: 300 },
      );
    });

    it("every fixture cut short at any character either parses or throws PlatformImportError", function () {
      const texts: [PlatformName, string][] = [
        ["openai", read("openai-batch-input.jsonl") + read("openai-batch-output.jsonl")],
        ["replicate", read("replicate-predictions.json")],
        ["huggingface", read("huggingface-chat-log.jsonl")],
      ];
      for (const [platform, text] of texts) {
        fc.assert(
          fc.property(fc.integer({ min: 0, max: text.length - 1 }), (end) => {
            try {
              parsePlatformExport(platform, FILE, text.slice(0, end));
            } catch (error) {
              expect(error).to.be.instanceOf(PlatformImportError);
            }
          }),
          { numRuns: 60 },
        );
      }
    });
  });
});
