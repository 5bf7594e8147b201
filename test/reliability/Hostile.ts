import { expect } from "chai";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { ApiFileError, parseExchange, syntaxErrorOffset } from "../../lib/api/files.js";
import { loadProposalFile, ProposalFileError } from "../../lib/governance/proposalFile.js";
import { jsonPreview, MAX_JSON_DEPTH, nestedDeeperThan } from "../../lib/jsonPreview.js";
import { JournalError, MigrationJournal } from "../../lib/migration/journal.js";
import { parseBundle } from "../../lib/platforms/bundle.js";
import { PlatformImportError } from "../../lib/platforms/errors.js";
import { ImportError } from "../../lib/platforms/importError.js";
import { parseExportBytes } from "../../lib/platforms/importPlan.js";
import { parseModelMap } from "../../lib/platforms/models.js";
import { countsOf } from "../../lib/reliability/contracts.js";
import {
  expectUnchanged,
  HostileFailure,
  kindSeed,
  runHostileKind,
  unexpected,
  type HostileKind,
} from "../../lib/reliability/hostile/core.js";
import { runHostile } from "../../lib/reliability/hostile/index.js";
import { jsonEdit, render } from "../../lib/reliability/hostile/mutate.js";
import { reliabilityJson, renderReliability } from "../../lib/reliability/table.js";
import { rejectionOf } from "../helpers/rejections.js";

/**
 * The hostile-input family: the case classifier, the mutations, a short run of every input kind
 * (each must end in success or its reader's own error), and one regression test per reader the
 * family found crashing (a stack overflow or a RangeError instead of a refusal).
 */

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;

describe("reliability: hostile input", function () {
  this.timeout(300_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "fabstir-hostile-test-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("the classifier", () => {
    it("counts the reader's own error with a message as a refusal, anything else as a failure", () => {
      expect(unexpected(new ImportError("bad"), [ImportError])).to.equal(undefined);
      expect(unexpected(new ImportError(""), [ImportError])).to.equal("ImportError with an empty message");
      expect(unexpected(new TypeError("x is undefined"), [ImportError])).to.match(/^TypeError: x is undefined/);
      expect(unexpected(new RangeError("Maximum call stack size exceeded"), [ImportError])).to.match(/^RangeError/);
      expect(unexpected(new HostileFailure("partial write: --out"), [HostileFailure])).to.equal("partial write: --out");
      expect(unexpected("text", [ImportError])).to.equal("a thrown string: text");
    });

    it("a kind that crashes is reported with its seed and a shrunk counterexample", async () => {
      const kind: HostileKind<number> = {
        name: "toy",
        arbitrary: fc.integer({ min: 0, max: 1000 }),
        refusals: [ImportError],
        async read(n) {
          if (n >= 500) throw new RangeError(`too big: ${n}`);
          if (n >= 100) throw new ImportError(`refused ${n}`);
        },
      };
      const result = await runHostileKind(kind, 200, "s");
      expect(result.cases).to.equal(200);
      expect(result.failed).to.be.greaterThan(0);
      expect(result.passed + result.failed).to.equal(200);
      expect(result.seed).to.equal(kindSeed("s", "toy"));
      // fast-check shrinks to the smallest crashing input.
      expect(result.counterexample?.input).to.equal("500");
      expect(result.counterexample?.error).to.match(/RangeError: too big: 500/);
    });

    it("a refusal that changed its target is a partial write", async () => {
      const file = path.join(dir, "target");
      await writeFile(file, "before");
      await expectUnchanged(file, Buffer.from("before"), "target");
      await writeFile(file, "after");
      const error = await rejectionOf(expectUnchanged(file, Buffer.from("before"), "target"));
      expect(error).to.be.instanceOf(HostileFailure);
      expect(error.message).to.equal("partial write: target changed although the input was refused");
    });
  });

  describe("the mutations", () => {
    it("expand deep-nesting placeholders without recursing and edit one value", () => {
      const text = render({ a: "\u0000deep\u00003", n: "\u0000deep\u0000num-12" });
      expect(text).to.equal('{"a":[[[]]],"n":-12}');
      const edits = fc.sample(jsonEdit({ a: 1, b: [true] }), { numRuns: 50, seed: 1 });
      expect(edits.some((e) => e !== '{"a":1,"b":[true]}')).to.equal(true);
    });
  });

  it("every input kind ends in success or its reader's own error (20 cases each)", async () => {
    const results = await runHostile(ROOT, 20, "test");
    expect(results.map((r) => r.kind)).to.deep.equal([
      "snapshot",
      "journal",
      "model map",
      "openai export",
      "replicate export",
      "huggingface export",
      "bundle",
      "proposal",
      "API request",
      "store insert",
      "schema migrate",
      "store file",
      "task options",
    ]);
    for (const r of results)
      expect({ kind: r.kind, failed: r.failed, why: r.counterexample }).to.deep.equal({
        kind: r.kind,
        failed: 0,
        why: undefined,
      });
  });

  it("the table shows a row per input kind and n/a where nothing can be lost", () => {
    const json = reliabilityJson({
      trials: [],
      faults: { drop: 0, delay: 0, http429: 0, limit: 0, staleBlock: 0 },
      hostile: [
        {
          kind: "journal",
          cases: 100,
          passed: 99,
          failed: 1,
          seed: 7,
          counterexample: { error: "RangeError: x", input: "[]" },
          ms: 5,
        },
      ],
      contracts: { profile: "campaign", runs: 10_000, depth: 50, passed: 9, failed: 0, ok: true, ms: 1 },
      totalMs: 10,
    });
    expect(json.ok).to.equal(false);
    const text = renderReliability(json, "npm run reliability");
    expect(text).to.include("| hostile: journal | 100 | 99 | 1 | n/a | n/a | n/a | n/a |");
    expect(text).to.include("| contracts (10,000 runs × depth 50) | 9 | 9 | 0 | n/a | n/a | n/a | n/a |");
    expect(text).to.include("- hostile journal FAILED (fast-check seed 7): RangeError: x on []");
  });

  it("reads Hardhat's passing and failing counts", () => {
    expect(countsOf("\u001b[32m  12 passing\u001b[0m (12 solidity)\n  1 failing")).to.deep.equal({
      passed: 12,
      failed: 1,
    });
  });

  describe("readers fixed by the family (regressions)", () => {
    it("jsonPreview and nestedDeeperThan never overflow", () => {
      const value = JSON.parse(deep(50_000)) as unknown;
      expect(jsonPreview(value)).to.equal("an array nested too deeply to show");
      expect(jsonPreview("x".repeat(100))).to.equal(`"${"x".repeat(79)}…`);
      expect(nestedDeeperThan(value)).to.equal(true);
      expect(nestedDeeperThan(JSON.parse(deep(MAX_JSON_DEPTH)))).to.equal(false);
      expect(nestedDeeperThan(JSON.parse(deep(MAX_JSON_DEPTH + 1)))).to.equal(true);
    });

    it("journal: a deeply nested field is refused, the file left as it was", async () => {
      const contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
      const file = MigrationJournal.pathFor({ directory: dir, chainId: 31337, contract });
      await mkdir(path.dirname(file), { recursive: true });
      const text = `{"format":"fabstir-migration-journal","version":1,"chainId":31337,"contract":"${contract}","entries":[{"step":${deep(50_000)}}]}`;
      await writeFile(file, text);
      const error = await rejectionOf(MigrationJournal.open({ directory: dir, chainId: 31337, contract }));
      expect(error).to.be.instanceOf(JournalError);
      expect(error.message).to.include("entry 0 has an unknown step an array nested too deeply to show");
      expect(await readFile(file, "utf8")).to.equal(text);
    });

    it("journal: a version that cannot become text is refused, not a TypeError", async () => {
      const contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
      const file = MigrationJournal.pathFor({ directory: dir, chainId: 31337, contract });
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, '{"format":"fabstir-migration-journal","version":{"toString":1,"valueOf":1}}');
      const error = await rejectionOf(MigrationJournal.open({ directory: dir, chainId: 31337, contract }));
      expect(error).to.be.instanceOf(JournalError);
      expect(error.message).to.include('has version {"toString":1,"valueOf":1}; this tool reads version 1');
    });

    it("proposal: a deeply nested format is refused with ProposalFileError", async () => {
      const file = path.join(dir, "proposal.json");
      await writeFile(file, `{"format":${deep(50_000)}}`);
      const error = await rejectionOf(loadProposalFile(file));
      expect(error).to.be.instanceOf(ProposalFileError);
      expect(error.message).to.include("format is an array nested too deeply to show");
    });

    it("model map: an impossible date (month 13) is refused, not a RangeError", () => {
      const map = {
        format: "fabstir.model-map",
        version: 1,
        platforms: {
          openai: {
            "gpt-4o": {
              fabstir: "llama",
              price: { usdPerComputeSecond: "1", source: "https://example.com/", asOf: "2025-13-45" },
            },
          },
        },
      };
      expect(() => parseModelMap(map, "map.json")).to.throw(ImportError, "asOf: is not a real date");
    });

    it("API files: broken JSON nested past the limit is located, a deep valid body refused", () => {
      expect(syntaxErrorOffset("[".repeat(50_000))).to.equal(MAX_JSON_DEPTH);
      expect(syntaxErrorOffset("[1,]")).to.equal(3);
      const body = `{"method":"POST","url":"https://api.fabstir.com/v1/jobs","body":{"x":${deep(50_000)}}}`;
      expect(() => parseExchange("request.json", body)).to.throw(
        ApiFileError,
        `request.json: nested deeper than ${MAX_JSON_DEPTH} levels; an API body is never that deep`,
      );
      expect(() => parseExchange("request.json", "[".repeat(50_000))).to.throw(ApiFileError, /invalid JSON/);
    });

    it("platform exports: deep JSON is refused at the parse, for a document and for JSON Lines", () => {
      const replicate = `{"next":null,"previous":null,"results":[{"id":"a","input":${deep(50_000)}}]}`;
      expect(() => parseExportBytes("replicate", "export.json", Buffer.from(replicate), true)).to.throw(
        PlatformImportError,
        `export.json: the JSON nests deeper than ${MAX_JSON_DEPTH} levels; no platform export does`,
      );
      expect(() => parseExportBytes("huggingface", "log.jsonl", Buffer.from(`${deep(50_000)}\n`), true)).to.throw(
        PlatformImportError,
        `log.jsonl:1: the JSON nests deeper than ${MAX_JSON_DEPTH} levels`,
      );
      expect(() => parseExportBytes("openai", "out.jsonl", Buffer.from(`${"[".repeat(50_000)}\n`), true)).to.throw(
        PlatformImportError,
      );
    });

    it("bundle: deep JSON is refused before the digest is recomputed", () => {
      expect(() => parseBundle(`{"format":${deep(50_000)}}`, "bundle.json")).to.throw(
        ImportError,
        `bundle.json: nested deeper than ${MAX_JSON_DEPTH} levels; not a bundle`,
      );
    });
  });
});
