import { expect } from "chai";
import type { SimulationReport } from "../../lib/governance/simulation.js";
import { renderSimulationMarkdown, simulationJson } from "../../lib/governance/simulationReport.js";

const TIMELOCK = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

function report(overrides: Partial<SimulationReport> = {}): SimulationReport {
  return {
    chainId: 31337,
    proposalId: "1234567890",
    action: "upgrade",
    title: "Open the migration",
    forkBlock: 41,
    steps: [
      { step: "propose", from: TIMELOCK, txHash: `0x${"ab".repeat(32)}`, block: 42, gasUsed: "120000" },
      {
        step: "execute",
        from: TIMELOCK,
        txHash: `0x${"cd".repeat(32)}`,
        block: 47,
        gasUsed: "350000",
        note: "after 2 days",
      },
    ],
    checks: [
      {
        id: "implementations",
        title: "EIP-1967 implementations",
        status: "pass",
        details: ["NodeRegistryV1: as expected."],
      },
      {
        id: "permissions",
        title: "Permissions",
        status: "fail",
        details: ["NodeRegistryV2: UPGRADER_ROLE granted to 0x01 | an EOA."],
        data: { changes: [{ role: "UPGRADER_ROLE", amount: 5n }] },
      },
      { id: "commitments", title: "State commitments unchanged", status: "skip", details: [] },
    ],
    events: [
      {
        address: TIMELOCK,
        contract: "NodeRegistryV1",
        signature: "Upgraded(address)",
        args: { implementation: TIMELOCK },
        topic0: `0x${"11".repeat(32)}`,
      },
      { address: TIMELOCK, contract: TIMELOCK, signature: null, args: {}, topic0: `0x${"22".repeat(32)}` },
    ],
    passed: false,
    ...overrides,
  };
}

describe("governance: the simulation report", () => {
  it("renders title, chain, proposal, steps, a table of checks, each check's details and the events", () => {
    const markdown = renderSimulationMarkdown(report());
    const lines = markdown.split("\n");
    expect(lines[0]).to.equal("# Simulation: Open the migration");
    expect(lines).to.include("**FAILED**: 1 passed, 1 failed, 1 skipped.");
    expect(lines).to.include("| Chain | 31337 |");
    expect(lines).to.include("| Proposal id | `1234567890` |");
    expect(lines).to.include("| Started at block | 41 |");
    expect(lines.filter((line) => line.startsWith("## "))).to.deep.equal(["## Steps", "## Checks", "## Events"]);
    expect(lines).to.include(`| propose | \`${TIMELOCK}\` | \`0x${"ab".repeat(32)}\` | 42 | 120000 |`);
    expect(lines).to.include(`| execute (after 2 days) | \`${TIMELOCK}\` | \`0x${"cd".repeat(32)}\` | 47 | 350000 |`);
    expect(lines).to.include("| [EIP-1967 implementations](#eip-1967-implementations-pass) | ✅ PASS |");
    expect(lines).to.include("| [Permissions](#permissions-fail) | ❌ FAIL |");
    expect(lines).to.include("| [State commitments unchanged](#state-commitments-unchanged-skip) | ⏭️ SKIP |");
    expect(lines.filter((line) => line.startsWith("### "))).to.deep.equal([
      "### EIP-1967 implementations: PASS",
      "### Permissions: FAIL",
      "### State commitments unchanged: SKIP",
    ]);
    // Details are list items (a pipe is harmless there); an empty check says so.
    expect(lines).to.include("- NodeRegistryV2: UPGRADER_ROLE granted to 0x01 | an EOA.");
    expect(lines).to.include("Nothing to report.");
    expect(lines).to.include(`| 1 | NodeRegistryV1 | \`Upgraded(address)\` | implementation: \`${TIMELOCK}\` |`);
    expect(lines).to.include(`| 2 | ${TIMELOCK} | unknown \`0x${"22".repeat(32)}\` |  |`);
    expect(markdown.endsWith("|\n")).to.equal(true);
  });

  it("escapes table cells and is deterministic", () => {
    const tricky = report({
      action: "custom | raw",
      events: [
        {
          address: TIMELOCK,
          contract: "A|B",
          signature: "Odd(string)",
          args: { text: "line one\nline `two` | three", nested: { list: ["1", "2"] } },
          topic0: `0x${"33".repeat(32)}`,
        },
      ],
    });
    const markdown = renderSimulationMarkdown(tricky);
    expect(markdown).to.include("| Action | custom \\| raw |");
    expect(markdown).to.include(
      '| 1 | A\\|B | `Odd(string)` | text: `` line one line `two` \\| three ``, nested: `{"list":["1","2"]}` |',
    );
    expect(renderSimulationMarkdown(tricky)).to.equal(markdown);
    expect(renderSimulationMarkdown(report({ steps: [], events: [], passed: true }))).to.include(
      "No transaction was sent.\n\n## Checks",
    );
    expect(renderSimulationMarkdown(report({ events: [] }))).to.match(
      /## Events\n\nThe execution emitted no event\.\n$/,
    );
  });

  it("writes JSON with sorted keys, two-space indent, bigints as strings and a trailing newline", () => {
    const json = simulationJson(report());
    expect(json.endsWith("}\n")).to.equal(true);
    expect(json.split("\n")[1]).to.equal('  "action": "upgrade",');
    const parsed = JSON.parse(json) as Record<string, unknown>;
    expect(Object.keys(parsed)).to.deep.equal([
      "action",
      "chainId",
      "checks",
      "events",
      "forkBlock",
      "passed",
      "proposalId",
      "steps",
      "title",
    ]);
    const checks = parsed.checks as Record<string, unknown>[];
    expect(Object.keys(checks[1]!)).to.deep.equal(["data", "details", "id", "status", "title"]);
    expect(checks[1]!.data).to.deep.equal({ changes: [{ amount: "5", role: "UPGRADER_ROLE" }] });
    // The same report with keys in another order writes the same bytes.
    const reordered = Object.fromEntries(Object.entries(report()).reverse()) as unknown as SimulationReport;
    expect(simulationJson(reordered)).to.equal(json);
    // An optional field left undefined is left out, as JSON.stringify would.
    expect(JSON.parse(simulationJson(report()))).to.not.have.nested.property("steps[0].note");
  });
});
