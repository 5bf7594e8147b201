import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PlatformImportError, parseOpenAIBatchOutput } from "../../lib/platforms/openai.js";

const FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "fixtures",
  "platforms",
  "openai-batch-output.jsonl",
);
const FILE = "out.jsonl";

const hashOf = (contents: (string | null)[]) => keccak256(toUtf8Bytes(JSON.stringify(contents)));

/** A valid output line for a completed chat completion. */
function line(customId: string, overrides: { created?: unknown; prompt?: unknown; content?: string } = {}): string {
  return JSON.stringify({
    id: `batch_req_${customId}`,
    custom_id: customId,
    response: {
      status_code: 200,
      request_id: "req",
      body: {
        id: "chatcmpl-1",
        object: "chat.completion",
        created: overrides.created ?? 1_731_522_978,
        model: "gpt-4o-mini",
        choices: [
          { index: 0, message: { role: "assistant", content: overrides.content ?? "hi" }, finish_reason: "stop" },
        ],
        usage: { prompt_tokens: overrides.prompt ?? 3, completion_tokens: 1, total_tokens: 4 },
      },
    },
    error: null,
  });
}

function refusal(text: string): PlatformImportError {
  try {
    parseOpenAIBatchOutput(FILE, text);
  } catch (error) {
    expect(error).to.be.instanceOf(PlatformImportError);
    return error as PlatformImportError;
  }
  expect.fail("the parser accepted the input");
}

describe("OpenAI Batch API output import (lib/platforms/openai, parseOpenAIBatchOutput)", function () {
  it("parses the sample output file: completed, HTTP-error and expired requests", function () {
    const records = parseOpenAIBatchOutput(FIXTURE, readFileSync(FIXTURE, "utf8"));
    expect(records.map((r) => [r.sourceId, r.status])).to.deep.equal([
      ["request-1", "completed"],
      ["request-2", "completed"],
      ["request-3", "failed"],
      ["request-4", "completed"],
      ["request-5", "failed"],
    ]);
    expect(records[0]).to.deep.equal({
      platform: "openai",
      sourceId: "request-1",
      model: "gpt-4o-mini-2024-07-18",
      createdAt: 1731522978,
      status: "completed",
      promptHash: null,
      outputHash: hashOf(["Hello! How can I help you today?"]),
      usage: { inputTokens: 20, outputTokens: 9, computeSeconds: null },
      costUsd: null,
    });
    expect(records[1]!.outputHash).to.equal(
      hashOf([
        "Quantum computers use qubits, which can hold superpositions of 0 and 1.",
        "Qubits can be 0 and 1 at once; entanglement links them.",
      ]),
    );
    expect(records[2]).to.deep.equal({
      platform: "openai",
      sourceId: "request-3",
      model: null,
      createdAt: null,
      status: "failed",
      promptHash: null,
      outputHash: null,
      usage: { inputTokens: null, outputTokens: null, computeSeconds: null },
      costUsd: null,
      error: { code: "context_length_exceeded", message: "This model's maximum context length is 128000 tokens." },
    });
    expect(records[4]!.error).to.deep.equal({
      code: "batch_expired",
      message: "This request could not be executed before the completion window expired.",
    });
  });

  it("copies no content unless includeContent is given", function () {
    const text = readFileSync(FIXTURE, "utf8");
    const plain = parseOpenAIBatchOutput(FIXTURE, text);
    expect(plain.some((r) => "content" in r)).to.equal(false);
    expect(JSON.stringify(plain)).not.to.contain("Bonjour");
    const withContent = parseOpenAIBatchOutput(FIXTURE, text, { includeContent: true });
    expect(withContent[3]!.content).to.deep.equal({ output: ["Bonjour le monde ✓"] });
    expect(withContent[2]!.content).to.equal(undefined);
  });

  it("hashes choices in index order, whatever their order in the file", function () {
    const value = JSON.parse(line("a"));
    value.response.body.choices = [
      { index: 1, message: { role: "assistant", content: "second" } },
      { index: 0, message: { role: "assistant", content: null } },
    ];
    const [record] = parseOpenAIBatchOutput(FILE, JSON.stringify(value));
    expect(record!.outputHash).to.equal(hashOf([null, "second"]));
  });

  it("accepts CRLF line ends and a last line without a newline", function () {
    const records = parseOpenAIBatchOutput(FILE, `${line("a")}\r\n\n${line("b")}`);
    expect(records.map((r) => r.sourceId)).to.deep.equal(["a", "b"]);
  });

  it("refuses an empty file", function () {
    for (const text of ["", "\n", "  \n\n"]) {
      expect(refusal(text).message).to.equal(`${FILE}: the file is empty; expected one JSON object per line`);
    }
  });

  it("refuses a truncated last line, naming it", function () {
    const text = `${line("a")}\n${line("b").slice(0, 80)}`;
    const error = refusal(text);
    expect(error.line).to.equal(2);
    expect(error.message).to.equal(
      `${FILE}:2: the last line is truncated (the file ends inside a JSON object); download the file again`,
    );
  });

  it("refuses invalid JSON with its line and column", function () {
    const error = refusal(`${line("a")}\n{"id": "x",, }\n${line("b")}\n`);
    expect(error.line).to.equal(2);
    expect(error.message).to.equal(
      `${FILE}:2: invalid JSON at column 12: unexpected ","; each line must be one JSON object`,
    );
    // A bad last line that ends with a newline is invalid, not truncated.
    expect(refusal(`${line("a")}\n{"id"\n`).message).to.contain(`${FILE}:2: invalid JSON at column 6`);
  });

  it("refuses wrong types with the JSON path", function () {
    expect(refusal(`${line("a")}\n${line("b", { prompt: "3" })}\n`).message).to.equal(
      `${FILE}:2: not an OpenAI Batch API output line: $.response.body.usage.prompt_tokens: Expected number, received string; is this a batch's input, output or error file?`,
    );
    const noId = JSON.parse(line("a"));
    noId.custom_id = 7;
    expect(refusal(JSON.stringify(noId)).message).to.contain("$.custom_id: Expected string, received number");
    const embedding = JSON.parse(line("a"));
    embedding.response.body.object = "list";
    expect(refusal(JSON.stringify(embedding)).message).to.contain(
      `$.response.body.object: Invalid literal value, expected "chat.completion"`,
    );
    const neither = JSON.parse(line("a"));
    neither.response = null;
    expect(refusal(JSON.stringify(neither)).message).to.contain("$.response: response and error are both null");
    expect(refusal("[1, 2]").message).to.contain("$: Expected object, received array");
  });

  it("refuses numbers above 2^53 - 1, which JSON.parse would round", function () {
    const text = line("a").replace('"prompt_tokens":3', '"prompt_tokens":9007199254740993');
    const error = refusal(text);
    expect(error.line).to.equal(1);
    expect(error.message).to.contain(
      "$.response.body.usage.prompt_tokens: is above 2^53 - 1, so JSON cannot carry it exactly",
    );
    expect(refusal(line("a", { created: 1e300 })).message).to.contain("$.response.body.created: is above 2^53 - 1");
    // 2^53 - 1 itself is exact and accepted.
    expect(parseOpenAIBatchOutput(FILE, line("a", { prompt: Number.MAX_SAFE_INTEGER }))[0]!.usage.inputTokens).to.equal(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it("refuses a duplicate custom_id, naming both lines", function () {
    const error = refusal(`${line("a")}\n${line("b")}\n${line("a")}\n`);
    expect(error.line).to.equal(3);
    expect(error.message).to.equal(`${FILE}:3: custom_id "a" repeats line 1; custom_id must be unique in a batch`);
  });

  it("property: every valid generated output line parses to exactly one job with its custom_id", function () {
    const count = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    const generatedLine = fc.record({
      customId: fc.string({ minLength: 1, maxLength: 64 }),
      failed: fc.boolean(),
      created: count,
      prompt: count,
      content: fc.string({ unit: "grapheme" }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(generatedLine, { minLength: 1, maxLength: 8, selector: (l) => l.customId }), (ls) => {
        const text = ls
          .map((l) =>
            l.failed
              ? JSON.stringify({
                  id: "batch_req",
                  custom_id: l.customId,
                  response: null,
                  error: { code: "x", message: "y" },
                })
              : line(l.customId, l),
          )
          .join("\n");
        const records = parseOpenAIBatchOutput(FILE, text, { includeContent: true });
        expect(records.map((r) => r.sourceId)).to.deep.equal(ls.map((l) => l.customId));
        records.forEach((record, i) => {
          const l = ls[i]!;
          expect(record.status).to.equal(l.failed ? "failed" : "completed");
          if (!l.failed) {
            expect(record.createdAt).to.equal(l.created);
            expect(record.usage.inputTokens).to.equal(l.prompt);
            expect(record.content).to.deep.equal({ output: [l.content] });
          }
        });
      }),
    );
  });
});
