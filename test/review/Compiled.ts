import { expect } from "chai";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import {
  BuildInfoError,
  ContractReferenceError,
  loadFromBuildInfo,
  loadProjectContract,
} from "../../lib/review/compiled.js";
import { expectRejection } from "../helpers/rejections.js";

const REGISTRY = "contracts/v1/NodeRegistryV1.sol:NodeRegistryV1";

describe("loading compiled contracts for a review", () => {
  const artifactsDir = hre.config.paths.artifacts;
  const buildInfoDir = path.join(artifactsDir, "build-info");
  let temp: string;

  before(async () => {
    temp = await mkdtemp(path.join(tmpdir(), "compiled-"));
  });
  after(async () => {
    await rm(temp, { recursive: true, force: true });
  });

  /** The build info that compiled the registry: an incremental build leaves several in the directory. */
  async function registryBuildInfoId(): Promise<string> {
    const artifact = JSON.parse(
      await readFile(path.join(artifactsDir, "contracts/v1/NodeRegistryV1.sol/NodeRegistryV1.json"), "utf8"),
    ) as { buildInfoId: string };
    return artifact.buildInfoId;
  }

  /** The project's Hardhat 3 build info, as its two files hold it. */
  async function projectBuildInfo(): Promise<{ main: Record<string, unknown>; output: unknown }> {
    const id = await registryBuildInfoId();
    const main = JSON.parse(await readFile(path.join(buildInfoDir, `${id}.json`), "utf8")) as Record<string, unknown>;
    const { output } = JSON.parse(await readFile(path.join(buildInfoDir, `${id}.output.json`), "utf8")) as {
      output: unknown;
    };
    return { main, output };
  }

  describe("from this project's build", () => {
    it("loads a contract by fully qualified name with its whole compilation", async () => {
      const contract = await loadProjectContract(artifactsDir, REGISTRY);
      expect(contract.fqn).to.equal(REGISTRY);
      // Hardhat 3 compiles project sources under `project/`; the review reads input and output by that name.
      expect(contract.sourceName).to.equal("project/contracts/v1/NodeRegistryV1.sol");
      expect(contract.contractName).to.equal("NodeRegistryV1");
      expect(contract.origin).to.equal("project build");
      expect(contract.solcVersion).to.match(/^0\.8\.30\+commit\.[0-9a-f]{8}$/);
      expect(contract.input.sources).to.have.property(contract.sourceName);
      expect(contract.output.contracts[contract.sourceName]![contract.contractName]!.storageLayout).to.be.an("object");
      expect(contract.userSourceNames![contract.sourceName]).to.equal("contracts/v1/NodeRegistryV1.sol");
    });

    it("accepts a unique bare name", async () => {
      expect((await loadProjectContract(artifactsDir, "NodeRegistryV2")).fqn).to.equal(
        "contracts/v2/NodeRegistryV2.sol:NodeRegistryV2",
      );
    });

    it("loads two contracts of one build over one parsed compilation", async () => {
      const [a, b] = await Promise.all([
        loadProjectContract(artifactsDir, REGISTRY),
        loadProjectContract(artifactsDir, "contracts/v2/NodeRegistryV2.sol:NodeRegistryV2"),
      ]);
      expect(a.output).to.equal(b.output);
    });

    it("refuses an unknown name and lists the close matches", async () => {
      const error = await expectRejection(
        loadProjectContract(artifactsDir, "contracts/v1/NodeRegistryV1.sol:NodeRegistry"),
        ContractReferenceError,
        "the project build has no contract contracts/v1/NodeRegistryV1.sol:NodeRegistry. Did you mean",
      );
      expect(error.candidates[0]).to.equal(REGISTRY);
      const bare = await expectRejection(
        loadProjectContract(artifactsDir, "NodeRegistryV3"),
        ContractReferenceError,
        "",
      );
      expect(bare.candidates).to.include("contracts/v2/NodeRegistryV2.sol:NodeRegistryV2");
    });

    it("refuses a missing artifacts directory, saying to build", async () => {
      await expectRejection(
        loadProjectContract(path.join(temp, "nowhere"), REGISTRY),
        BuildInfoError,
        "run `npx hardhat build` first",
      );
    });
  });

  describe("from a build-info directory", () => {
    it("reads a Hardhat 3 directory (this project's build info, as Hardhat 3 writes its two files)", async () => {
      // Only the current build's files: incremental builds leave older build infos beside it,
      // which the loader rightly refuses as stale.
      const id = await registryBuildInfoId();
      const dir = path.join(temp, "hh3");
      await mkdir(dir);
      for (const file of [`${id}.json`, `${id}.output.json`]) {
        await copyFile(path.join(buildInfoDir, file), path.join(dir, file));
      }
      const contract = await loadFromBuildInfo(dir, REGISTRY);
      expect(contract.fqn).to.equal(REGISTRY);
      expect(contract.sourceName).to.equal("project/contracts/v1/NodeRegistryV1.sol");
      expect(contract.origin).to.equal(dir);
      expect((await loadFromBuildInfo(dir, "NodeRegistryV1_1")).fqn).to.equal(
        "contracts/v1_1/NodeRegistryV1_1.sol:NodeRegistryV1_1",
      );
    });

    it("refuses an ambiguous bare name, listing the candidates", async () => {
      // One compilation holding two sources that both declare NodeRegistryV1 (as a vendored copy would).
      const { main, output } = await projectBuildInfo();
      const twice = structuredClone(output) as { contracts: Record<string, unknown> };
      twice.contracts["vendor/NodeRegistryV1.sol"] = twice.contracts["project/contracts/v1/NodeRegistryV1.sol"];
      const dir = path.join(temp, "ambiguous");
      await mkdir(dir);
      await writeFile(
        path.join(dir, "a.json"),
        JSON.stringify({ solcLongVersion: main.solcLongVersion, input: main.input, output: twice }),
      );
      const error = await expectRejection(
        loadFromBuildInfo(dir, "NodeRegistryV1"),
        ContractReferenceError,
        "NodeRegistryV1 is ambiguous in " + dir,
      );
      expect(error.candidates).to.deep.equal([
        "project/contracts/v1/NodeRegistryV1.sol:NodeRegistryV1",
        "vendor/NodeRegistryV1.sol:NodeRegistryV1",
      ]);
    });

    // Format conversions of the project's own compilation, not fabricated data: the same solc input
    // and output, laid out as Hardhat 2 and Foundry write them.
    it("reads a Hardhat 2 single-file build info", async () => {
      const { main, output } = await projectBuildInfo();
      const dir = path.join(temp, "hh2");
      await mkdir(dir);
      await writeFile(
        path.join(dir, "0123abcd.json"),
        JSON.stringify({
          _format: "hh-sol-build-info-1",
          id: "0123abcd",
          solcVersion: main.solcVersion,
          solcLongVersion: main.solcLongVersion,
          input: main.input,
          output,
        }),
      );
      const contract = await loadFromBuildInfo(dir, "project/contracts/v1/NodeRegistryV1.sol:NodeRegistryV1");
      expect(contract.sourceName).to.equal("project/contracts/v1/NodeRegistryV1.sol");
      expect(contract.solcVersion).to.equal(main.solcLongVersion);
      expect(contract.userSourceNames).to.equal(undefined);
    });

    it("reads a Foundry build info (inputVersionLong, source_id_to_path)", async () => {
      const { main, output } = await projectBuildInfo();
      const dir = path.join(temp, "foundry");
      await mkdir(dir);
      await writeFile(
        path.join(dir, "c0ffee.json"),
        JSON.stringify({
          id: "c0ffee",
          source_id_to_path: {},
          language: "Solidity",
          _format: "ethers-rs-sol-build-info-1",
          compilerVersion: "0.8.30",
          inputVersion: "0.8.30",
          inputVersionLong: main.solcLongVersion,
          input: main.input,
          output,
        }),
      );
      const contract = await loadFromBuildInfo(dir, "NodeRegistryV1");
      expect(contract.fqn).to.equal("project/contracts/v1/NodeRegistryV1.sol:NodeRegistryV1");
      expect(contract.solcVersion).to.equal(main.solcLongVersion);
    });

    it("refuses a build without storage layouts, naming the output selection to enable", async () => {
      const { main, output } = await projectBuildInfo();
      const stripped = structuredClone(output) as {
        contracts: Record<string, Record<string, Record<string, unknown>>>;
      };
      for (const byName of Object.values(stripped.contracts)) {
        for (const contract of Object.values(byName)) delete contract.storageLayout;
      }
      const dir = path.join(temp, "nolayout");
      await mkdir(dir);
      await writeFile(
        path.join(dir, "a.json"),
        JSON.stringify({ solcLongVersion: main.solcLongVersion, input: main.input, output: stripped }),
      );
      await expectRejection(
        loadFromBuildInfo(dir, "NodeRegistryV1"),
        BuildInfoError,
        "a.json in " + dir + " has no storageLayout output for NodeRegistryV1",
      );
      await expectRejection(
        loadFromBuildInfo(dir, "NodeRegistryV1"),
        BuildInfoError,
        'extra_output = ["storageLayout"]',
      );
    });

    it("names the directory and what was expected when a file is not a build info", async () => {
      const dir = path.join(temp, "notbuildinfo");
      await mkdir(dir);
      await writeFile(path.join(dir, "package.json"), JSON.stringify({ name: "x", input: {} }));
      await expectRejection(
        loadFromBuildInfo(dir, "X"),
        BuildInfoError,
        `package.json in ${dir} is not a build info: expected a solc build info`,
      );
      await writeFile(path.join(dir, "package.json"), "{ not json");
      await expectRejection(loadFromBuildInfo(dir, "X"), BuildInfoError, "not readable as JSON");
      await writeFile(
        path.join(dir, "package.json"),
        JSON.stringify({ id: "1", source_id_to_path: {}, language: "Solidity" }),
      );
      await expectRejection(
        loadFromBuildInfo(dir, "X"),
        BuildInfoError,
        "Foundry build info without solc input and output",
      );
    });

    it("refuses a Hardhat 3 build info whose output file is missing", async () => {
      const { main } = await projectBuildInfo();
      const dir = path.join(temp, "hh3-no-output");
      await mkdir(dir);
      await writeFile(path.join(dir, "x.json"), JSON.stringify(main));
      await expectRejection(
        loadFromBuildInfo(dir, "NodeRegistryV1"),
        BuildInfoError,
        "x.output.json (its solc output) is missing",
      );
    });

    it("refuses a directory without build infos, and a missing one", async () => {
      const empty = path.join(temp, "empty");
      await mkdir(empty);
      await expectRejection(loadFromBuildInfo(empty, "X"), BuildInfoError, `${empty} holds no build info`);
      await expectRejection(loadFromBuildInfo(path.join(temp, "missing"), "X"), BuildInfoError, "does not exist");
    });

    it("refuses a contract compiled differently in two build infos", async () => {
      const { main, output } = await projectBuildInfo();
      const changed = structuredClone(output) as {
        contracts: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>;
      };
      changed.contracts["project/contracts/v1/NodeRegistryV1.sol"]!.NodeRegistryV1!.evm.bytecode.object = "00";
      const dir = path.join(temp, "stale");
      await mkdir(dir);
      const file = (out: unknown) =>
        JSON.stringify({ solcLongVersion: main.solcLongVersion, input: main.input, output: out });
      await writeFile(path.join(dir, "new.json"), file(output));
      await writeFile(path.join(dir, "old.json"), file(changed));
      await expectRejection(
        loadFromBuildInfo(dir, "NodeRegistryV1"),
        ContractReferenceError,
        "is compiled differently in new.json, old.json",
      );
      // Identical copies of a contract (a dependency compiled in two jobs) are one contract.
      expect((await loadFromBuildInfo(dir, "NodeRegistryV2")).contractName).to.equal("NodeRegistryV2");
    });
  });
});
