import { expect } from "chai";
import { mkdtemp, readFile, readdir, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import * as prettier from "prettier";
import {
  buildReview,
  checkAudit,
  defaultPairs,
  renderAudit,
  writeAudit,
  type AuditOptions,
  type ReviewLoaders,
  type ReviewPair,
} from "../../lib/review/audit.js";
import { loadProjectContract } from "../../lib/review/compiled.js";
import { GENERATED_MARKER, type ContractReview } from "../../lib/review/report.js";
import { reviewStorage } from "../../lib/review/storageDiff.js";

const root = hre.config.paths.root;
const loaders: ReviewLoaders = {
  load: (source) => loadProjectContract(hre.config.paths.artifacts, source.fqn),
  reviewStorage,
};

const fixturePair = (dir: string, name: string): ReviewPair => {
  const source = `test/fixtures/upgrades/${dir}/${name}.sol`;
  return { before: { fqn: `${source}:${name}V1` }, after: { fqn: `${source}:${name}V2` } };
};

const FIXTURES: ReviewPair[] = [
  fixturePair("renamed-function", "RenamedFunction"),
  fixturePair("changed-mutability", "ChangedMutability"),
  fixturePair("removed-event", "RemovedEvent"),
  fixturePair("selector-clash", "SelectorClash"),
];

describe("upgrade audits (lib/review/audit.ts)", () => {
  let temp: string;
  let reviews: ContractReview[];
  const options = (): AuditOptions => ({ title: "fixtures", command: "npx hardhat upgrade:diff --out x", root });

  before(async () => {
    temp = await mkdtemp(path.join(tmpdir(), "audit-"));
    reviews = await buildReview(FIXTURES, loaders, root);
  });
  after(async () => {
    await rm(temp, { recursive: true, force: true });
  });

  it("the four interface fixture pairs get their known verdicts, storage checked by upgrades-core", () => {
    const verdicts = Object.fromEntries(reviews.map((r) => [r.slug, r.verdict]));
    const migration = "state migration + adapter";
    expect(verdicts).to.deep.equal({
      "ChangedMutabilityV1-to-ChangedMutabilityV2": {
        breakingChanges: 2,
        storage: "compatible",
        upgradePath: migration,
      },
      "RemovedEventV1-to-RemovedEventV2": { breakingChanges: 1, storage: "compatible", upgradePath: migration },
      "RenamedFunctionV1-to-RenamedFunctionV2": { breakingChanges: 1, storage: "compatible", upgradePath: migration },
      "SelectorClashV1-to-SelectorClashV2": { breakingChanges: 2, storage: "compatible", upgradePath: migration },
    });
    // Sorted by file name, whatever the order of the pairs.
    expect(reviews.map((r) => r.slug)).to.deep.equal(Object.keys(verdicts).sort());
  });

  it("an origin given as an absolute directory is written relative to the root", async () => {
    const [review] = await buildReview(
      [FIXTURES[0]!],
      {
        load: async (source) => ({ ...(await loaders.load(source)), origin: path.join(root, "other", "build-info") }),
        reviewStorage,
      },
      root,
    );
    expect(review!.before.origin).to.equal("other/build-info");
  });

  it("refuses two pairs that would write the same report files", async () => {
    let failure: unknown;
    try {
      await buildReview([FIXTURES[0]!, FIXTURES[0]!], loaders, root);
    } catch (error) {
      failure = error;
    }
    expect((failure as Error).message).to.equal(
      "Two pairs would both write RenamedFunctionV1-to-RenamedFunctionV2.md: review them into different --out directories",
    );
  });

  it("renders deterministically: two runs from scratch are byte-identical", async () => {
    const again = await buildReview([...FIXTURES].reverse(), loaders, root);
    const [a, b] = [await renderAudit(reviews, options()), await renderAudit(again, options())];
    expect([...b.keys()]).to.deep.equal([...a.keys()]);
    for (const [name, text] of a) expect(b.get(name), name).to.equal(text);
  });

  it("writes an index and a .md and .json per pair, all as prettier --check wants them", async () => {
    const dir = path.join(temp, "write");
    const result = await writeAudit(dir, reviews, options());
    const names = (await readdir(dir)).sort();
    expect(names).to.deep.equal([...(await renderAudit(reviews, options())).keys()].sort());
    expect(names).to.have.length(1 + 2 * FIXTURES.length);
    expect(result.written.sort()).to.deep.equal(names);
    const config = (await prettier.resolveConfig(path.join(root, "audits", "x.md"))) ?? {};
    for (const name of names) {
      const text = await readFile(path.join(dir, name), "utf8");
      expect(await prettier.check(text, { ...config, filepath: name }), name).to.equal(true);
    }
    expect(await readFile(path.join(dir, "README.md"), "utf8")).to.match(new RegExp(`^${escape(GENERATED_MARKER)}`));
    // A second write finds nothing to do.
    expect((await writeAudit(dir, reviews, options())).written).to.deep.equal([]);
  });

  it("--check finds an edited, a missing and an extra file, and a write repairs all three", async () => {
    const dir = path.join(temp, "check");
    await writeAudit(dir, reviews, options());
    expect(await checkAudit(dir, reviews, options())).to.deep.equal([]);

    const edited = "RenamedFunctionV1-to-RenamedFunctionV2.md";
    const missing = "RemovedEventV1-to-RemovedEventV2.json";
    await writeFile(path.join(dir, edited), `${await readFile(path.join(dir, edited), "utf8")}\nhand edit\n`);
    await unlink(path.join(dir, missing));
    await writeFile(path.join(dir, "Old-to-Gone.md"), "a pair nobody reviews any more\n");
    expect(await checkAudit(dir, reviews, options())).to.deep.equal([
      { file: "Old-to-Gone.md", problem: "extra" },
      { file: missing, problem: "missing" },
      { file: edited, problem: "stale" },
    ]);

    const result = await writeAudit(dir, reviews, options());
    expect(result.removed).to.deep.equal(["Old-to-Gone.md"]);
    expect(result.written.sort()).to.deep.equal([missing, edited].sort());
    expect(await checkAudit(dir, reviews, options())).to.deep.equal([]);
  });

  it("never deletes files from a directory it did not generate", async () => {
    const dir = path.join(temp, "foreign");
    await writeAudit(dir, reviews, options());
    await writeFile(path.join(dir, "README.md"), "# Someone's own notes\n");
    await writeFile(path.join(dir, "package.json"), "{}\n");
    const result = await writeAudit(dir, reviews, options());
    expect(result.removed).to.deep.equal([]);
    expect(await readFile(path.join(dir, "package.json"), "utf8")).to.equal("{}\n");
  });

  it("checking a directory that does not exist lists every file as missing", async () => {
    const drift = await checkAudit(path.join(temp, "absent"), reviews, options());
    expect(drift.map((d) => d.problem)).to.deep.equal(Array(1 + 2 * FIXTURES.length).fill("missing"));
  });

  it("the default set: V1 → V2 for each contract, V1 → V1.1 and V1 → adapter where the source exists", () => {
    const sources = new Set(["contracts/v1_1/NodeRegistryV1_1.sol", "contracts/adapters/JobMarketplaceV1Adapter.sol"]);
    const pairs = defaultPairs((source) => sources.has(source)).map((p) => `${p.before.fqn} → ${p.after.fqn}`);
    expect(pairs).to.deep.equal([
      "contracts/v1/NodeRegistryV1.sol:NodeRegistryV1 → contracts/v2/NodeRegistryV2.sol:NodeRegistryV2",
      "contracts/v1/NodeRegistryV1.sol:NodeRegistryV1 → contracts/v1_1/NodeRegistryV1_1.sol:NodeRegistryV1_1",
      "contracts/v1/PaymentEscrowV1.sol:PaymentEscrowV1 → contracts/v2/PaymentEscrowV2.sol:PaymentEscrowV2",
      "contracts/v1/JobMarketplaceV1.sol:JobMarketplaceV1 → contracts/v2/JobMarketplaceV2.sol:JobMarketplaceV2",
      "contracts/v1/JobMarketplaceV1.sol:JobMarketplaceV1 → contracts/adapters/JobMarketplaceV1Adapter.sol:JobMarketplaceV1Adapter",
    ]);
  });

  describe("the upgrade:diff task", () => {
    const run = async (args: Record<string, unknown>): Promise<number> => {
      const previous = process.exitCode;
      process.exitCode = undefined;
      const log = console.log;
      const error = console.error;
      const lines: string[] = [];
      console.log = console.error = (...parts: unknown[]) => void lines.push(parts.join(" "));
      try {
        await hre.tasks.getTask("upgrade:diff").run(args);
      } finally {
        console.log = log;
        console.error = error;
      }
      const code = Number(process.exitCode ?? 0);
      process.exitCode = previous;
      output = lines;
      return code;
    };
    let output: string[] = [];
    const pair = FIXTURES[0]!;

    it("writes one pair to --out, then --check passes, then fails naming the stale file and the fix", async () => {
      const out = path.relative(root, path.join(temp, "task"));
      const args = { from: pair.before.fqn, to: pair.after.fqn, out };
      expect(await run(args)).to.equal(0);
      expect((await readdir(path.join(root, out))).sort()).to.deep.equal([
        "README.md",
        "RenamedFunctionV1-to-RenamedFunctionV2.json",
        "RenamedFunctionV1-to-RenamedFunctionV2.md",
      ]);
      expect(await run({ ...args, check: true })).to.equal(0);
      await writeFile(path.join(root, out, "README.md"), "edited\n");
      expect(await run({ ...args, check: true })).to.equal(1);
      expect(output).to.deep.equal([
        `stale: ${path.join(out, "README.md")}`,
        `${out} is out of date: run \`npx hardhat upgrade:diff --from ${pair.before.fqn} --to ${pair.after.fqn} --out ${out}\` and commit the result.`,
      ]);
    });

    it("--json prints the reviews instead of writing", async () => {
      const chunks: string[] = [];
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string) => {
        chunks.push(chunk);
        return true;
      }) as typeof process.stdout.write;
      try {
        expect(await run({ from: pair.before.fqn, to: pair.after.fqn, json: true })).to.equal(0);
      } finally {
        process.stdout.write = write;
      }
      const [review] = JSON.parse(chunks.join("")) as ContractReview[];
      expect(review!.verdict).to.deep.equal(reviews.find((r) => r.slug === review!.slug)!.verdict);
    });

    it("refuses --from without --to and an unknown contract, with one line each", async () => {
      expect(await run({ from: pair.before.fqn })).to.equal(1);
      expect(output).to.deep.equal([
        "Error: Give both --from and --to, or neither (to review the default V1 → V2 set).",
      ]);
      expect(await run({ from: "NoSuchContractV1", to: pair.after.fqn })).to.equal(1);
      expect(output[0]).to.match(/^Error: the project build has no contract NoSuchContractV1\./);
    });

    it("the committed audits/v1-to-v2 is up to date (what CI's `npx hardhat upgrade:diff --check` checks)", async function () {
      // Coverage instruments the sources it compiles: the review of that build is not the committed one.
      if (hre.globalOptions.coverage === true) this.skip();
      expect(await run({ check: true }), output.join("\n")).to.equal(0);
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
