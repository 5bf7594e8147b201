import { expect } from "chai";
import hre from "hardhat";
import * as prettier from "prettier";
import { diffAbi } from "../../lib/review/abiDiff.js";
import { loadProjectContract } from "../../lib/review/compiled.js";
import {
  EIP170_RUNTIME_LIMIT,
  NOT_A_CONSTANT,
  collectFacts,
  compilerSettings,
  contractOutput,
  diffNatSpec,
  versionOf,
} from "../../lib/review/facts.js";
import {
  GENERATED_MARKER,
  makeReview,
  renderContractJson,
  renderContractMarkdown,
  renderIndexMarkdown,
  renderReviewsJson,
  type ContractReview,
} from "../../lib/review/report.js";
import type { CompiledContract, StorageReview } from "../../lib/review/types.js";

const artifacts = hre.config.paths.artifacts;
const load = (fqn: string) => loadProjectContract(artifacts, fqn);
const fixture = (dir: string, name: string, side: "V1" | "V2") =>
  load(`test/fixtures/upgrades/${dir}/${name}.sol:${name}${side}`);

/** Storage verdicts as the storage review produces them; here only their rendering is under test. */
const COMPATIBLE: StorageReview = {
  compatible: true,
  changes: [],
  safetyErrors: [],
  namespaces: { before: ["fabstir.storage.NodeRegistryV1"], after: ["fabstir.storage.NodeRegistryV1"] },
  notes: [],
};
const INCOMPATIBLE: StorageReview = {
  compatible: false,
  changes: [
    {
      operation: "delete",
      variable: "erc7201:fabstir.storage.NodeRegistryV1.$.nodes",
      namespace: "fabstir.storage.NodeRegistryV1",
      before: { label: "nodes", type: "mapping(address => struct Node)", slot: "0x0", offset: 0 },
      hint: "Keep the variable | even if unused\nor migrate its state.",
    },
  ],
  safetyErrors: [{ kind: "delegatecall", contract: "X", source: "contracts/X.sol:10", hint: "Avoid delegatecall." }],
  namespaces: { before: ["fabstir.storage.NodeRegistryV1"], after: ["fabstir.storage.NodeRegistryV2"] },
  notes: ["Reinitializer skipped\nby the validation."],
};

function review(before: CompiledContract, after: CompiledContract, storage: StorageReview): ContractReview {
  return makeReview(
    { fqn: before.fqn, origin: before.origin },
    { fqn: after.fqn, origin: after.origin },
    diffAbi(contractOutput(before).abi, contractOutput(after).abi),
    storage,
    collectFacts(before, after),
  );
}

describe("upgrade review facts and reports (lib/review/facts.ts, report.ts)", () => {
  let v1: CompiledContract;
  let v2: CompiledContract;
  let v1_1: CompiledContract;

  before(async function () {
    // Coverage instruments the sources it compiles: sizes and version() bodies are not the real ones.
    if (hre.globalOptions.coverage === true) this.skip();
    v1 = await load("contracts/v1/NodeRegistryV1.sol:NodeRegistryV1");
    v2 = await load("contracts/v2/NodeRegistryV2.sol:NodeRegistryV2");
    v1_1 = await load("contracts/v1_1/NodeRegistryV1_1.sol:NodeRegistryV1_1");
  });

  describe("facts", () => {
    it("version() is read from the literal returned by the most derived implementation", async () => {
      expect(versionOf(v1)).to.equal("1.0.0");
      expect(versionOf(v2)).to.equal("2.0.0");
      // V1.1 inherits V1 and overrides version().
      expect(versionOf(v1_1)).to.not.equal("1.0.0");
      expect(versionOf(await fixture("renamed-function", "RenamedFunction", "V2"))).to.equal("2.0.0");
    });

    it("a computed version() is reported as not a constant; none as null", async () => {
      expect(versionOf(await fixture("changed-mutability", "ChangedMutability", "V2"))).to.equal(NOT_A_CONSTANT);
      expect(versionOf(await fixture("removed-event", "RemovedEvent", "V1"))).to.equal(null);
    });

    it("code sizes are the runtime and init code of each side, against EIP-170 and EIP-3860", () => {
      const facts = collectFacts(v1, v2);
      const runtime = (c: CompiledContract) => (contractOutput(c).evm!.deployedBytecode!.object.length - 0) / 2;
      expect(facts.runtimeSize).to.deep.equal({ limit: EIP170_RUNTIME_LIMIT, before: runtime(v1), after: runtime(v2) });
      expect(facts.runtimeSize.after).to.be.greaterThan(1000).and.at.most(EIP170_RUNTIME_LIMIT);
      expect(facts.initcodeSize.before).to.be.greaterThan(facts.runtimeSize.before);
      expect(facts.changes.filter((c) => c.severity === "breaking")).to.deep.equal([]);
    });

    it("code over EIP-170 is breaking: it cannot be deployed", () => {
      const big = structuredClone(v2);
      contractOutput(big).evm!.deployedBytecode!.object = "00".repeat(EIP170_RUNTIME_LIMIT + 1);
      const facts = collectFacts(v1, big);
      expect(facts.changes[0]).to.deep.include({
        severity: "breaking",
        subject: `runtime code: ${EIP170_RUNTIME_LIMIT + 1} bytes > ${EIP170_RUNTIME_LIMIT}`,
      });
      expect(
        makeReview(
          { fqn: v1.fqn, origin: "project build" },
          { fqn: big.fqn, origin: "project build" },
          diffAbi([], []),
          COMPATIBLE,
          facts,
        ).verdict,
      ).to.deep.equal({ breakingChanges: 1, storage: "compatible", upgradePath: "state migration + adapter" });
    });

    it("compiler settings come from the build's input; changes are info", () => {
      expect(compilerSettings(v1)).to.deep.equal({
        solc: v1.solcVersion,
        optimizer: true,
        runs: 200,
        evmVersion: "cancun",
        viaIR: false,
      });
      const other = structuredClone(v2);
      other.input.settings = { ...other.input.settings, optimizer: { enabled: false }, viaIR: true };
      const subjects = collectFacts(v1, other).changes.map((c) => `${c.severity} ${c.subject}`);
      expect(subjects).to.include.members([
        "info compiler optimizer: true → false",
        "info compiler runs: 200 → null",
        "info compiler viaIR: false → true",
      ]);
    });

    it("NatSpec changes on the functions both sides have, field by field", async () => {
      const changes = diffNatSpec(
        await fixture("renamed-function", "RenamedFunction", "V1"),
        await fixture("renamed-function", "RenamedFunction", "V2"),
      );
      expect(changes).to.deep.equal([
        { function: "deposit()", field: "details", before: null, after: "Emits nothing: the balance is the record." },
        {
          function: "deposit()",
          field: "notice",
          before: "Credits the ETH sent to the caller.",
          after: "Credits the ETH sent to the caller's balance.",
        },
      ]);
    });

    it("version unchanged while the code changed is worth an info line", async () => {
      const changes = collectFacts(v1, await fixture("renamed-function", "RenamedFunction", "V1")).changes;
      expect(changes.map((c) => c.subject)).to.include('version(): "1.0.0" unchanged');
      expect(collectFacts(v1, v2).changes.map((c) => c.subject)).to.include('version(): "1.0.0" → "2.0.0"');
    });
  });

  describe("verdict", () => {
    it("V1 → V2 with incompatible storage: state migration + adapter", () => {
      const r = review(v1, v2, INCOMPATIBLE);
      expect(r.name).to.equal("NodeRegistryV1 → NodeRegistryV2");
      expect(r.slug).to.equal("NodeRegistryV1-to-NodeRegistryV2");
      expect(r.verdict.storage).to.equal("incompatible");
      expect(r.verdict.breakingChanges).to.equal(r.abi.summary.breaking).and.greaterThan(0);
      expect(r.verdict.upgradePath).to.equal("state migration + adapter");
    });

    it("V1 → V1.1 with compatible storage and only additions: in-place upgrade", () => {
      const r = review(v1, v1_1, COMPATIBLE);
      expect(r.abi.summary.breaking).to.equal(0);
      expect(r.verdict).to.deep.equal({ breakingChanges: 0, storage: "compatible", upgradePath: "in-place upgrade" });
    });
  });

  describe("rendering", () => {
    it("is deterministic: two reviews of the same pair render byte-identical Markdown and JSON", async () => {
      const first = review(v1, v2, INCOMPATIBLE);
      const second = review(await load(v1.fqn), await load(v2.fqn), structuredClone(INCOMPATIBLE));
      expect(renderContractMarkdown(second)).to.equal(renderContractMarkdown(first));
      expect(renderContractJson(second)).to.equal(renderContractJson(first));
    });

    it("JSON: sorted keys at every level, 2-space indent, trailing newline, the review as data", () => {
      const text = renderContractJson(review(v1, v2, INCOMPATIBLE));
      expect(text.endsWith("}\n")).to.equal(true);
      expect(text.split("\n")[1]).to.match(/^ {2}"abi": \{$/);
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const assertSorted = (value: unknown): void => {
        if (Array.isArray(value)) return value.forEach(assertSorted);
        if (value === null || typeof value !== "object") return;
        const keys = Object.keys(value);
        expect(keys).to.deep.equal([...keys].sort());
        Object.values(value).forEach(assertSorted);
      };
      assertSorted(parsed);
      expect(parsed.verdict).to.deep.equal(review(v1, v2, INCOMPATIBLE).verdict);
      expect(JSON.parse(renderReviewsJson([review(v1, v2, INCOMPATIBLE)]))).to.deep.equal([parsed]);
    });

    it("holds no absolute path and no timestamp", () => {
      const r = review(v1, v2, INCOMPATIBLE);
      for (const text of [renderContractMarkdown(r), renderContractJson(r), renderIndexMarkdown("v1-to-v2", [r])]) {
        expect(text).to.not.contain(hre.config.paths.root);
        expect(text).to.not.match(/\d{4}-\d{2}-\d{2}T\d{2}:/);
      }
    });

    it("Markdown: the verdict, every ABI change, storage rows with escaped cells, facts and NatSpec", () => {
      const r = review(v1, v2, INCOMPATIBLE);
      const md = renderContractMarkdown(r);
      expect(md.startsWith(`${GENERATED_MARKER}\n\n# NodeRegistryV1 → NodeRegistryV2\n`)).to.equal(true);
      expect(md).to.contain(`| ${r.verdict.breakingChanges} | incompatible | state migration + adapter |`);
      for (const change of r.abi.changes) expect(md).to.contain(`\`${change.subject.replace(/`/g, "'")}\``);
      // A pipe and a newline in a hint stay inside their cell.
      expect(md).to.contain("Keep the variable \\| even if unused or migrate its state.");
      expect(md).to.contain("| delegatecall | X | `contracts/X.sol:10` | Avoid delegatecall. |");
      expect(md).to.contain("### Notes\n\n- Reinitializer skipped by the validation.");
      expect(md).to.contain(`| Runtime code (bytes) | ${r.facts.runtimeSize.before} | ${r.facts.runtimeSize.after} |`);
      expect(md).to.contain("| `version()` | `1.0.0` | `2.0.0` |");
    });

    it("the index has one row per pair, sorted, linking both reports, then the legend", () => {
      const a = review(v1, v2, INCOMPATIBLE);
      const b = review(v1, v1_1, COMPATIBLE);
      const md = renderIndexMarkdown("v1-to-v2", [a, b]);
      const rows = md.split("\n").filter((line) => line.startsWith("| NodeRegistry"));
      expect(rows).to.deep.equal([
        `| NodeRegistryV1 → NodeRegistryV1_1 | 0 | compatible | in-place upgrade | [Markdown](NodeRegistryV1-to-NodeRegistryV1_1.md), [JSON](NodeRegistryV1-to-NodeRegistryV1_1.json) |`,
        `| NodeRegistryV1 → NodeRegistryV2 | ${a.verdict.breakingChanges} | incompatible | state migration + adapter | [Markdown](NodeRegistryV1-to-NodeRegistryV2.md), [JSON](NodeRegistryV1-to-NodeRegistryV2.json) |`,
      ]);
      expect(md).to.contain("## Severities");
      expect(md).to.contain("`npx hardhat upgrade:diff --check`");
    });

    it("Markdown that prettier (with the repository's settings) leaves as it is, once formatted", async () => {
      const config = (await prettier.resolveConfig(`${hre.config.paths.root}/audits/x.md`)) ?? {};
      const md = renderContractMarkdown(review(v1, v2, INCOMPATIBLE));
      const formatted = await prettier.format(md, { ...config, filepath: "x.md" });
      expect(await prettier.check(formatted, { ...config, filepath: "x.md" })).to.equal(true);
      // Formatting only aligns tables: the text of every line survives.
      expect(formatted.replace(/ +/g, " ")).to.contain("# NodeRegistryV1 → NodeRegistryV2");
    });
  });
});
