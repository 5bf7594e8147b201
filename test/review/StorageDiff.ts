import { expect } from "chai";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { loadFromBuildInfo, loadProjectContract } from "../../lib/review/compiled.js";
import { reviewStorage } from "../../lib/review/storageDiff.js";
import type { StorageReview } from "../../lib/review/types.js";

const FIXTURES = "test/fixtures/upgrades";

/** The review of a fixture pair `<dir>/<File>.sol:<Name>V1` → `<Name>V2`. */
async function reviewPair(dir: string, name: string): Promise<StorageReview> {
  const artifacts = hre.config.paths.artifacts;
  const source = `${FIXTURES}/${dir}/${name}.sol`;
  return reviewStorage(
    await loadProjectContract(artifacts, `${source}:${name}V1`),
    await loadProjectContract(artifacts, `${source}:${name}V2`),
  );
}

const slot = (label: string, type: string, at: string, offset = 0) => ({ label, type, slot: at, offset });

describe("storage review (upgrades-core layout comparison and validation)", function () {
  // The first review of a build compiles its namespaced variant with the wasm solc (a few seconds).
  this.timeout(120_000);

  describe("fixture pairs with known verdicts", () => {
    it("inserted storage variable: an insert in the plain layout and in a namespace, the rest shifted", async () => {
      const review = await reviewPair("inserted-variable", "InsertedVariable");
      const ns = "erc7201:fixtures.inserted";
      expect(review.compatible).to.equal(false);
      expect(review.changes.map(({ hint, ...rest }) => rest)).to.deep.equal([
        { operation: "insert", variable: "inserted", after: slot("inserted", "uint256", "1") },
        {
          operation: "layoutchange",
          variable: "second",
          before: slot("second", "uint256", "1"),
          after: slot("second", "uint256", "2"),
        },
        { operation: "insert", variable: `${ns}/$.inserted`, namespace: ns, after: slot("inserted", "uint256", "1") },
        {
          operation: "layoutchange",
          variable: `${ns}/$.y`,
          namespace: ns,
          before: slot("y", "uint256", "1"),
          after: slot("y", "uint256", "2"),
        },
      ]);
      expect(review.changes[0]!.hint).to.equal(
        "Inserted `inserted`\n> New variables should be placed after all existing inherited variables",
      );
      expect(review.changes[1]!.hint).to.equal(
        "Layout changed for `second` (uint256 -> uint256)\n- Slot changed from 1 to 2",
      );
      expect(review.safetyErrors).to.deep.equal([]);
    });

    it("changed type: uint256 → uint128 inside a namespace", async () => {
      const review = await reviewPair("changed-type", "ChangedType");
      expect(review.compatible).to.equal(false);
      expect(review.changes).to.deep.equal([
        {
          operation: "typechange",
          variable: "erc7201:fixtures.changedtype/$.amount",
          namespace: "erc7201:fixtures.changedtype",
          before: slot("amount", "uint256", "0"),
          after: slot("amount", "uint128", "0"),
          typeChange: "uint256 → uint128",
          hint: "Upgraded `amount` to an incompatible type\n- Bad upgrade from uint256 to uint128",
        },
      ]);
    });

    it("reordered struct members: the mapping's value type changes, members listed with their moves", async () => {
      const review = await reviewPair("reordered-struct", "ReorderedStruct");
      expect(review.compatible).to.equal(false);
      expect(review.changes.map(({ hint, ...rest }) => rest)).to.deep.equal([
        {
          operation: "typechange",
          variable: "members",
          before: slot("members", "mapping(address => struct ReorderedStructV1.Member)", "0"),
          after: slot("members", "mapping(address => struct ReorderedStructV2.Member)", "0"),
          typeChange:
            "mapping(address => struct ReorderedStructV1.Member) → mapping(address => struct ReorderedStructV2.Member)",
        },
        { operation: "delete", variable: "members[].stake", before: slot("stake", "uint256", "0") },
        {
          operation: "layoutchange",
          variable: "members[].owner",
          before: slot("owner", "address", "1"),
          after: slot("owner", "address", "0"),
        },
        { operation: "insert", variable: "members[].stake", after: slot("stake", "uint256", "1") },
      ]);
      expect(review.changes[0]!.hint).to.include("In struct ReorderedStructV2.Member\n  - Deleted `stake`");
      expect(review.changes.slice(1).map(({ hint }) => hint)).to.deep.equal([
        "Deleted `stake`",
        "Layout changed for `owner` (address -> address)",
        "Inserted `stake`",
      ]);
    });

    it("deleted namespace: the dropped ERC-7201 namespace, the kept one unchanged", async () => {
      const review = await reviewPair("deleted-namespace", "DeletedNamespace");
      expect(review.compatible).to.equal(false);
      expect(review.changes).to.deep.equal([
        {
          operation: "delete-namespace",
          variable: "erc7201:fixtures.deleted.dropped",
          namespace: "erc7201:fixtures.deleted.dropped",
          hint:
            "Deleted namespace `erc7201:fixtures.deleted.dropped`\n" +
            "> Keep the struct with annotation '@custom:storage-location erc7201:fixtures.deleted.dropped' even if unused",
        },
      ]);
      expect(review.namespaces).to.deep.equal({
        before: [
          "erc7201:fixtures.deleted.dropped",
          "erc7201:fixtures.deleted.kept",
          "erc7201:openzeppelin.storage.Initializable",
        ],
        after: ["erc7201:fixtures.deleted.kept", "erc7201:openzeppelin.storage.Initializable"],
      });
    });

    it("shrunk gap: a gap shrinking by two for one added variable moves what follows", async () => {
      const review = await reviewPair("shrunk-gap", "ShrunkGap");
      expect(review.compatible).to.equal(false);
      expect(review.changes).to.deep.equal([
        {
          operation: "typechange",
          variable: "__gap",
          before: slot("__gap", "uint256[49]", "1"),
          after: slot("__gap", "uint256[47]", "2"),
          typeChange: "uint256[49] → uint256[47]",
          hint:
            "Upgraded `__gap` to an incompatible type\n- Bad storage gap resize from 49 to 47\n" +
            "  Size decrease must match with corresponding variable inserts\n> Set __gap array to size 48",
        },
        {
          operation: "layoutchange",
          variable: "last",
          before: slot("last", "uint256", "50"),
          after: slot("last", "uint256", "49"),
          hint: "Layout changed for `last` (uint256 -> uint256)\n- Slot changed from 50 to 49",
        },
      ]);
    });

    it("unsafe constructor: constructor and delegatecall reported as safety errors, layout unchanged", async () => {
      const review = await reviewPair("unsafe-constructor", "UnsafeConstructor");
      const fqn = `${FIXTURES}/unsafe-constructor/UnsafeConstructor.sol:UnsafeConstructorV2`;
      expect(review.compatible).to.equal(false);
      expect(review.changes).to.deep.equal([]);
      expect(review.safetyErrors).to.deep.equal([
        {
          kind: "constructor",
          contract: fqn,
          source: `${FIXTURES}/unsafe-constructor/UnsafeConstructor.sol:28`,
          hint: "Contract `UnsafeConstructorV2` has a constructor\nDefine an initializer instead\nhttps://zpl.in/upgrades/error-001",
        },
        {
          kind: "delegatecall",
          contract: fqn,
          source: `${FIXTURES}/unsafe-constructor/UnsafeConstructor.sol:35`,
          hint: "Use of delegatecall is not allowed\nhttps://zpl.in/upgrades/error-002",
        },
      ]);
    });

    it("respects unsafeAllow like hardhat-upgrades: allowed kinds are not reported", async () => {
      const artifacts = hre.config.paths.artifacts;
      const source = `${FIXTURES}/unsafe-constructor/UnsafeConstructor.sol`;
      const review = await reviewStorage(
        await loadProjectContract(artifacts, `${source}:UnsafeConstructorV1`),
        await loadProjectContract(artifacts, `${source}:UnsafeConstructorV2`),
        { unsafeAllow: ["constructor", "delegatecall"] },
      );
      expect(review).to.include({ compatible: true });
      expect(review.safetyErrors).to.deep.equal([]);
      // upgrades-core's warnings for the flags used are kept as notes, not printed.
      expect(review.notes).to.deep.equal([
        "Warning: Potentially unsafe deployment of test/fixtures/upgrades/unsafe-constructor/UnsafeConstructor.sol:UnsafeConstructorV2\n\n    You are using the `unsafeAllow.constructor` flag.",
        "Warning: Potentially unsafe deployment of test/fixtures/upgrades/unsafe-constructor/UnsafeConstructor.sol:UnsafeConstructorV2\n\n    You are using the `unsafeAllow.delegatecall` flag.",
      ]);
    });

    it("honours @custom:oz-upgrades-unsafe-allow constructor (every fixture's V1 disables initializers in one)", async () => {
      const review = await reviewPair("deleted-namespace", "DeletedNamespace");
      expect(review.safetyErrors).to.deep.equal([]);
    });
  });

  describe("the project's real pairs", () => {
    const artifacts = () => hre.config.paths.artifacts;
    const V1 = "contracts/v1/NodeRegistryV1.sol:NodeRegistryV1";

    it("NodeRegistryV1 → NodeRegistryV1_1 is compatible (V1.1 keeps V1's namespace and adds its own)", async () => {
      const review = await reviewStorage(
        await loadProjectContract(artifacts(), V1),
        await loadProjectContract(artifacts(), "contracts/v1_1/NodeRegistryV1_1.sol:NodeRegistryV1_1"),
      );
      expect(review.compatible).to.equal(true);
      expect(review.changes).to.deep.equal([]);
      expect(review.safetyErrors).to.deep.equal([]);
      expect(review.namespaces.after).to.include.members([
        "erc7201:fabstir.storage.NodeRegistryV1",
        "erc7201:fabstir.storage.NodeRegistryV1_1",
      ]);
      // upgrades-core's note on V1.1's reinitializer, with the source as users name it.
      expect(review.notes.join("\n")).to.include("contracts/v1_1/NodeRegistryV1_1.sol:");
      expect(review.notes.join("\n")).not.to.include("project/");
    });

    it("NodeRegistryV1 → NodeRegistryV2 is incompatible: deleted namespace erc7201:fabstir.storage.NodeRegistryV1", async () => {
      const review = await reviewStorage(
        await loadProjectContract(artifacts(), V1),
        await loadProjectContract(artifacts(), "contracts/v2/NodeRegistryV2.sol:NodeRegistryV2"),
      );
      expect(review.compatible).to.equal(false);
      expect(review.changes.map(({ operation, variable }) => `${operation} ${variable}`)).to.deep.equal([
        "delete-namespace erc7201:fabstir.storage.NodeRegistryV1",
      ]);
      expect(review.changes[0]!.hint.toLowerCase()).to.include(
        "deleted namespace `erc7201:fabstir.storage.noderegistryv1`",
      );
    });

    it("is deterministic: no absolute paths, the same JSON twice", async () => {
      const load = async () =>
        reviewStorage(
          await loadProjectContract(artifacts(), V1),
          await loadProjectContract(artifacts(), "contracts/v2/NodeRegistryV2.sol:NodeRegistryV2"),
        );
      const [a, b] = [JSON.stringify(await load()), JSON.stringify(await load())];
      expect(a).to.equal(b);
      expect(a).not.to.include(process.cwd());
    });
  });

  describe("external builds", () => {
    let temp: string;
    before(async () => {
      temp = await mkdtemp(path.join(tmpdir(), "storage-"));
    });
    after(async () => {
      await rm(temp, { recursive: true, force: true });
    });

    it("reviews contracts from a build-info directory like the project build", async () => {
      const dir = path.join(hre.config.paths.artifacts, "build-info");
      const review = await reviewStorage(
        await loadFromBuildInfo(dir, "DeletedNamespaceV1"),
        await loadFromBuildInfo(dir, "DeletedNamespaceV2"),
      );
      expect(review.changes.map(({ operation, variable }) => `${operation} ${variable}`)).to.deep.equal([
        "delete-namespace erc7201:fixtures.deleted.dropped",
      ]);
    });

    it("another solc: says namespaced storage needs that version and still compares the plain layout", async () => {
      // The project's fixture compilation, declared as compiled by solc 0.8.29 (a format-level relabel:
      // the review must not compile namespaced layouts with a compiler that did not build the contract).
      const buildInfoDir = path.join(hre.config.paths.artifacts, "build-info");
      const artifact = JSON.parse(
        await readFile(
          path.join(
            hre.config.paths.artifacts,
            `${FIXTURES}/inserted-variable/InsertedVariable.sol/InsertedVariableV1.json`,
          ),
          "utf8",
        ),
      ) as { buildInfoId: string };
      const main = JSON.parse(await readFile(path.join(buildInfoDir, `${artifact.buildInfoId}.json`), "utf8")) as {
        input: unknown;
      };
      const { output } = JSON.parse(
        await readFile(path.join(buildInfoDir, `${artifact.buildInfoId}.output.json`), "utf8"),
      ) as { output: unknown };
      const dir = path.join(temp, "other-solc");
      await mkdir(dir);
      await writeFile(
        path.join(dir, "b.json"),
        JSON.stringify({ solcLongVersion: "0.8.29+commit.ab55807c", input: main.input, output }),
      );
      expect(await readdir(dir)).to.deep.equal(["b.json"]);
      const review = await reviewStorage(
        await loadFromBuildInfo(dir, "InsertedVariableV1"),
        await loadFromBuildInfo(dir, "InsertedVariableV2"),
      );
      expect(review.changes.map(({ operation, variable }) => `${operation} ${variable}`)).to.deep.equal([
        "insert inserted",
        "layoutchange second",
      ]);
      expect(review.compatible).to.equal(false);
      expect(review.namespaces).to.deep.equal({ before: [], after: [] });
      expect(review.notes).to.have.length(2);
      expect(review.notes[0]).to.equal(
        "ERC-7201 namespaced storage of project/test/fixtures/upgrades/inserted-variable/InsertedVariable.sol:InsertedVariableV1 " +
          "(before) was not compared: it needs solc 0.8.29 to compile its namespaced layout, and this project's is 0.8.30. " +
          "Only the contract's own (non-namespaced) layout was compared.",
      );
    });
  });
});
