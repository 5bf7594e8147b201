import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { runTask, startAnvil, type AnvilNode, type TaskRun } from "../helpers/anvil.js";
import { prepareMigration, type PreparedMigration } from "../helpers/e2eMigration.js";

/** Every line of `--json` output is JSON; the last is the run summary. */
function jsonLines(run: TaskRun): Record<string, unknown>[] {
  const lines = run.stdout.split("\n").filter((line) => line.trim() !== "");
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("end to end on anvil (--block-time 1): the migrate:* tasks as child processes", function () {
  this.timeout(600_000);
  let anvil: AnvilNode;
  let dir: string;
  let p: PreparedMigration;
  let common: string[];
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    anvil = await startAnvil(["--block-time", "1"]);
    dir = await mkdtemp(path.join(tmpdir(), "anvil-tasks-"));
    const connection = await hre.network.create({ network: "localhost", override: { url: anvil.url } });
    // Seeding is hundreds of transactions: mined on demand, then back to a block a second
    // before the tasks run, so they meet real block times.
    await connection.ethers.provider.send("evm_setAutomine", [true]);
    p = await prepareMigration(
      { ethers: connection.ethers, upgrades: await upgrades(hre, connection) },
      { nodes: 8, jobs: 40, users: 8, seed: "anvil-tasks" },
    );
    // The addresses by option: nothing is read from or written to deployments/.
    common = [
      ["--v1-registry", await p.v1.registry.getAddress()],
      ["--v1-escrow", await p.v1.escrow.getAddress()],
      ["--v1-marketplace", await p.v1.marketplace.getAddress()],
      ["--v2-registry", await p.v2.registry.getAddress()],
      ["--v2-escrow", await p.v2.escrow.getAddress()],
      ["--v2-marketplace", await p.v2.marketplace.getAddress()],
      ["--journal", path.join(dir, "journal")],
      ["--snapshot", path.join(dir, "v1.ndjson")],
    ].flat();
    await connection.ethers.provider.send("evm_setIntervalMining", [1]);
    close = () => connection.close();
  });
  after(async () => {
    await close?.();
    await anvil?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("refuses bad input with a clear message, a non-zero exit and no transaction", async () => {
    const wrongChain = await runTask(anvil.url, ["migrate:check", ...common, "--chain-id", "8453"]);
    expect(wrongChain.code).to.equal(1);
    expect(wrongChain.stderr).to.include("The node is on chain 31337, but chain 8453 was expected");
    const outOfRange = await runTask(anvil.url, ["migrate:nodes", ...common, "--confirmations", "0"]);
    expect(outOfRange.code).to.equal(1);
    expect(outOfRange.stderr).to.include("--confirmations must be from 1 to 1000");
    expect(await p.v2.registry.migratedCount()).to.equal(0n);
  });

  it("migrate:snapshot, then migrate:nodes --json ends with a JSON summary line", async () => {
    const snapshot = await runTask(anvil.url, ["migrate:snapshot", ...common]);
    expect(snapshot.code, snapshot.stderr).to.equal(0);

    const nodes = await runTask(anvil.url, ["migrate:nodes", ...common, "--json", "--batch-size", "3"]);
    expect(nodes.code, nodes.stderr).to.equal(0);
    const lines = jsonLines(nodes);
    const summary = lines.at(-1)!;
    expect(summary.type).to.equal("summary");
    const steps = (summary.summary ?? summary) as { steps?: { step: string; records: number; batches: number }[] };
    expect(JSON.stringify(summary)).to.include('"step":"nodes"');
    expect(steps.steps?.[0]).to.deep.include({ step: "nodes", records: 8, batches: 3 });
    expect(lines.filter((line) => line.type === "batch-confirmed")).to.have.length(3);
    expect(await p.v2.registry.migratedCount()).to.equal(8n);
  });

  it("migrate:all finishes the migration and migrate:verify prints verified", async () => {
    const all = await runTask(anvil.url, ["migrate:all", ...common]);
    expect(all.code, all.stderr + all.stdout).to.equal(0);
    expect(all.stdout).to.include("**Verified**");
    expect(all.stdout).to.include("**Finalized**");
    for (const contract of [p.v2.registry, p.v2.marketplace, p.v2.escrow]) {
      expect(await contract.migrationFinalized()).to.equal(true);
    }
    const verify = await runTask(anvil.url, ["migrate:verify", ...common]);
    expect(verify.code, verify.stderr).to.equal(0);
    expect(verify.stdout).to.include("**Verified**");
    expect(verify.stdout).to.include(p.state.jobs.commitment);

    const status = await runTask(anvil.url, ["migrate:status", ...common, "--json"]);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.include('"finalized":true');
  });
});
