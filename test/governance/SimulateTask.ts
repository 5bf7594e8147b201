import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { loadProposalFile } from "../../lib/governance/proposalFile.js";
import type { SimulationReport } from "../../lib/governance/simulation.js";
import { runTaskCapturing } from "../helpers/taskOutput.js";

const ARGS = { proposal: "", voters: "", json: false, fromBlock: -1 };

describe("upgrade:simulate without --proposal: the cut-over rehearsed on the in-process chain", function () {
  this.timeout(300_000);

  it("governs V1, migrates it, and simulates the cut-over proposal to a passing report", async () => {
    const report = await mkdtemp(path.join(tmpdir(), "simulate-task-"));
    const run = await runTaskCapturing("upgrade:simulate", { ...ARGS, report });
    const output = run.lines.join("\n");
    expect(run.code, output).to.equal(0);
    expect(output).to.match(/Simulation passed: proposal \d+ executed; 6 checks passed, 0 skipped\./);

    const id = /Cut-over proposal (\d+):/.exec(output)![1]!;
    // The proposal it rehearsed is a valid proposal file (ids, hash and suffix recomputed on load).
    const proposal = await loadProposalFile(path.join(report, `${id}.proposal.json`));
    expect(proposal.action).to.equal("cutover");
    expect(proposal.upgrades.map((u) => u.contractName)).to.deep.equal([
      "NodeRegistryV1Adapter",
      "PaymentEscrowV1Adapter",
      "JobMarketplaceV1Adapter",
    ]);
    const json = JSON.parse(await readFile(path.join(report, `${id}.json`), "utf8")) as SimulationReport;
    expect(json.passed).to.equal(true);
    expect(json.steps.map((s) => s.step)).to.deep.equal(["propose", "vote", "queue", "execute"]);
    expect(json.checks.map((c) => [c.id, c.status])).to.deep.equal([
      ["implementations", "pass"],
      ["versions", "pass"],
      ["commitments", "pass"],
      ["permissions", "pass"],
      ["balances", "pass"],
      ["events", "pass"],
    ]);
    expect(await readFile(path.join(report, `${id}.md`), "utf8")).to.include(
      "**PASSED**: 6 passed, 0 failed, 0 skipped.",
    );
  });
});
