import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";

/** Small enough for a test, large enough for history, balances in both tokens and a host with models. */
const SIZES = { nodes: 4, jobs: 12, users: 4, seed: "demo-test" };

interface Run {
  /** Everything written to stdout (the renderer's writes and console.log lines). */
  stdout: string;
  exitCode: number;
}

/** Runs `migrate:demo` in this process (on a new in-process chain), capturing stdout and the exit code. */
async function runDemo(args: Record<string, unknown>): Promise<Run> {
  const previous = process.exitCode;
  process.exitCode = undefined;
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log;
  let stdout = "";
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  }) as typeof process.stdout.write;
  console.log = (...parts: unknown[]) => void (stdout += `${parts.join(" ")}\n`);
  try {
    await hre.tasks.getTask("migrate:demo").run(args);
  } finally {
    process.stdout.write = write;
    console.log = log;
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = previous;
  return { stdout, exitCode };
}

describe("migrate:demo (npm start): the migration under governance, the cut-over rehearsed, the V1 API through the adapters", function () {
  this.timeout(600_000);
  let reports: string;

  before(async () => {
    reports = await mkdtemp(path.join(tmpdir(), "demo-"));
  });
  after(async () => {
    await rm(reports, { recursive: true, force: true });
  });

  it("--json: only JSON lines, ending with the summary, whose adapters entry matches the report", async () => {
    const dir = path.join(reports, "json");
    const { stdout, exitCode } = await runDemo({ ...SIZES, reports: dir, json: true });
    expect(exitCode).to.equal(0);
    const lines = stdout.trimEnd().split("\n");
    // No prose: every line is a JSON object (the cut-over's steps print nothing in this mode).
    const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const summary = objects.at(-1)!;
    expect(summary.type).to.equal("summary");
    expect(objects.filter((object) => object.type === "summary")).to.have.length(1);
    const adapters = summary.adapters as Record<string, unknown>;
    expect(adapters).to.deep.include({
      nodes: SIZES.nodes,
      jobs: SIZES.jobs,
      mismatches: 0,
      findings: [],
      passed: true,
    });
    expect(adapters.balances).to.be.a("number").and.greaterThan(SIZES.users); // users hold ETH and USDC
    const trip = adapters.roundTrip as Record<string, string>;
    // The job after V1's history, at the default price, the host credited the price less 2.5%.
    expect(trip).to.deep.include({
      jobId: String(SIZES.jobs + 1),
      price: "10000000000000000",
      feeBps: "250",
      hostCredit: "9750000000000000",
    });

    // Two proposals through the Governor: the freeze executed, the cut-over rehearsed with its post-checks.
    const governance = summary.governance as { title: string; calls: number; checks: unknown[]; passed: boolean }[];
    expect(governance.map((proposal) => [proposal.title, proposal.passed])).to.deep.equal([
      ["Freeze V1 and open the V1 → V2 migration", true],
      ["Finalize the V1 → V2 migration and cut V1 over to the adapters", true],
    ]);
    expect(governance[1]!.checks).to.deep.equal(
      ["implementations", "versions", "commitments", "permissions", "balances", "events"].map((id) => ({
        id,
        status: "pass",
      })),
    );
    const finalize = summary.finalize as { finalized: boolean; contracts: { contract: string; count: number }[] };
    expect(finalize.finalized).to.equal(true);
    expect(finalize.contracts.map((entry) => [entry.contract, entry.count])).to.deep.equal([
      ["registry", SIZES.nodes],
      ["marketplace", SIZES.jobs],
      ["escrow", (summary.verify as { counts: { deposits: { v1: number } } }).counts.deposits.v1],
    ]);

    const json = JSON.parse(await readFile(path.join(dir, "migration.json"), "utf8")) as Record<string, unknown>;
    expect(json.adapters).to.deep.equal(adapters);
    expect(json.governance).to.deep.equal(governance);
    const markdown = await readFile(path.join(dir, "migration.md"), "utf8");
    expect(markdown).to.include(
      `**V1 API through the adapters**: ${SIZES.nodes} nodes, ${SIZES.jobs} jobs, ${adapters.balances} balances read back identical; a job posted, claimed and completed with V1's ABI.`,
    );
    expect(markdown).to.include(`- job ${SIZES.jobs + 1} (model `);
  });

  it("prints the cut-over one line per step and the section, the same for the same seed", async () => {
    const dir = path.join(reports, "plain");
    const { stdout, exitCode } = await runDemo({ ...SIZES, reports: dir, json: false });
    expect(exitCode).to.equal(0);
    expect(stdout).to.match(/Proposal "Freeze V1 and open the V1 → V2 migration" \(\d+ calls\) passed and executed/);
    expect(stdout).to.include(
      "Cut-over: a proposal finalizes V2 against V1's snapshot and upgrades each V1 proxy to its adapter.",
    );
    expect(stdout).to.include(
      "post-checks: implementations pass, versions pass, commitments pass, permissions pass, balances pass, events pass",
    );
    expect(stdout).to.include("**Governance**: 2 proposals through the Governor and the timelock.");
    for (const name of ["NodeRegistry", "PaymentEscrow", "JobMarketplace"]) {
      expect(stdout).to.match(new RegExp(`upgraded ${name}V1 proxy 0x[0-9a-fA-F]{40} to ${name}V1Adapter`));
    }
    expect(stdout).to.match(/claimed job \d+ with V1's claimJob/);
    expect(stdout).to.match(/host completed job \d+ with V1's completeJob/);
    const section = `**V1 API through the adapters**: ${SIZES.nodes} nodes, ${SIZES.jobs} jobs,`;
    expect(stdout).to.include(section);
    // The section comes after the cut-over's lines, with the summary, and before the report line.
    expect(stdout.indexOf(section)).to.be.greaterThan(stdout.indexOf("Cut-over:"));
    expect(stdout.indexOf("Report: ")).to.be.greaterThan(stdout.indexOf(section));
    // Deterministic: the same seed gives the same report section as the --json run.
    const sectionOf = (markdown: string) => markdown.slice(markdown.indexOf("**V1 API through the adapters**"));
    const plain = await readFile(path.join(dir, "migration.md"), "utf8");
    const json = await readFile(path.join(reports, "json", "migration.md"), "utf8");
    expect(sectionOf(plain)).to.equal(sectionOf(json));
  });
});
