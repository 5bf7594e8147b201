import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { WebSocket } from "ws";
import type { DashboardState } from "../../lib/dashboard/state.js";
import { startAnvil, type AnvilNode } from "../helpers/anvil.js";
import { prepareMigration, type PreparedMigration } from "../helpers/e2eMigration.js";
import { request, until } from "./helpers.js";

/**
 * Attach mode as an operator uses it: `migrate:all --json > run.jsonl` in one process against
 * anvil, `migrate:dashboard --attach --journal … --events run.jsonl` in another, and a plain
 * HTTP and WebSocket client (no browser) watching the second follow the first to the end.
 */

const HARDHAT_CLI = path.join(process.cwd(), "node_modules", "hardhat", "dist", "src", "cli.js");
const TOKEN = "an-attach-token-the-operator-chose";
const SEED = { nodes: 4, jobs: 18, users: 5, seed: "dashboard-attach" };

/** `npx hardhat <args> --network localhost` as a child process; stdout to `stdout` (a file) or collected. */
function hardhat(url: string, args: string[], stdout?: number): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [HARDHAT_CLI, ...args, "--network", "localhost"], {
    env: { ...process.env, MIGRATION_RPC_URL: url, DASHBOARD_TOKEN: TOKEN },
    stdio: ["ignore", stdout ?? "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once("exit", resolve),
  );

describe("Dashboard attach mode end to end (two processes, anvil)", function () {
  this.timeout(240_000);
  let anvil: AnvilNode;
  let dir: string;
  let p: PreparedMigration;
  let common: string[];
  let closeConnection: (() => Promise<void>) | undefined;
  const children: ChildProcess[] = [];

  before(async () => {
    anvil = await startAnvil();
    dir = await mkdtemp(path.join(tmpdir(), "dashboard-attach-"));
    const connection = await hre.network.create({ network: "localhost", override: { url: anvil.url } });
    closeConnection = () => connection.close();
    p = await prepareMigration({ ethers: connection.ethers, upgrades: await upgrades(hre, connection) }, SEED);
    common = [
      ["--v1-registry", await p.v1.registry.getAddress()],
      ["--v1-escrow", await p.v1.escrow.getAddress()],
      ["--v1-marketplace", await p.v1.marketplace.getAddress()],
      ["--v2-registry", await p.v2.registry.getAddress()],
      ["--v2-escrow", await p.v2.escrow.getAddress()],
      ["--v2-marketplace", await p.v2.marketplace.getAddress()],
      ["--journal", path.join(dir, "journal")],
    ].flat();
  });
  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        const done = exited(child);
        child.kill("SIGTERM");
        await done;
      }
    }
    await closeConnection?.();
    await anvil?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("follows migrate:all --json from its journal and lines to 100% and verified; controls 409; read-only", async () => {
    const events = path.join(dir, "run.jsonl");
    const attached = hardhat(anvil.url, [
      "migrate:dashboard",
      "--attach",
      ...["--journal", path.join(dir, "journal"), "--events", events, "--chain-id", "31337", "--port", "0"],
    ]);
    children.push(attached.child);
    let url = "";
    await until(
      () => {
        url = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(attached.output())?.[1] ?? "";
        return url !== "" || attached.child.exitCode !== null;
      },
      "the attached dashboard to start",
      90_000,
    );
    expect(url, attached.output()).to.not.equal("");
    expect(attached.output()).to.include(`Attached read-only to the journal in ${path.join(dir, "journal")}.`);
    expect(attached.output()).to.not.include("token");

    // A WebSocket client (as the page connects) keeps every state pushed.
    const states: DashboardState[] = [];
    const socket = new WebSocket(`${url.replace("http", "ws")}api/migration/events`);
    socket.on("message", (data: Buffer) =>
      states.push((JSON.parse(data.toString()) as { state: DashboardState }).state),
    );
    await until(() => states.length > 0, "the first state");
    expect(states[0]).to.deep.include({ mode: "attach", phase: "attached", steps: [] });

    // The run starts once the dashboard watches, on a node mining a block a second, as a real chain does.
    await p.ethers.provider.send("evm_setIntervalMining", [1]);
    const fd = openSync(events, "w");
    const run = hardhat(
      anvil.url,
      ["migrate:all", ...common, "--snapshot", path.join(dir, "v1.ndjson"), "--batch-size", "4", "--json"],
      fd,
    );
    closeSync(fd); // the child holds its own descriptor
    children.push(run.child);
    try {
      const latest = () => states.at(-1);
      await until(
        () => latest()?.phaseMessage === `the run in ${events} has ended`,
        "the attached dashboard to see the run end",
        150_000,
      );
      expect(await exited(run.child), run.output()).to.equal(0);
      const end = latest()!;
      expect([end.mode, end.phase, end.network.chainId]).to.deep.equal(["attach", "attached", 31337]);
      for (const step of ["nodes", "jobs", "escrow"]) {
        const view = end.steps.find((candidate) => candidate.step === step);
        expect(view, step).to.deep.include({ status: "finished", percent: 100 });
      }
      expect(end.steps.find((view) => view.step === "nodes")).to.deep.include({ done: SEED.nodes, moved: SEED.nodes });
      expect(end.steps.find((view) => view.step === "jobs")).to.deep.include({ moved: p.state.jobs.count });
      expect(end.verification?.verified).to.equal(true);
      expect(end.finalized).to.equal(true);
      expect(end.errors).to.deep.equal([]);
      expect(end.commitments.v2).to.deep.equal({
        nodes: p.state.nodes.commitment,
        jobs: p.state.jobs.commitment,
        deposits: p.state.deposits.commitment,
      });
      // It followed the run as it went, not only its end: some state showed a copy step part-way.
      expect(states.some((state) => state.steps.some((view) => view.step === "jobs" && view.percent < 100))).to.equal(
        true,
      );
      // The figures are the run's own: its summary line counts the same batches.
      const lines = (await readFile(events, "utf8")).trim().split("\n");
      const summary = JSON.parse(lines.at(-1)!) as { type: string; steps: { step: string; batches: number }[] };
      expect(summary.type).to.equal("summary");
      for (const row of summary.steps.filter((entry) => ["nodes", "jobs", "escrow"].includes(entry.step))) {
        expect(end.steps.find((view) => view.step === row.step)?.batches, row.step).to.equal(row.batches);
      }
      // The journal read from disk: the run's files, nothing left pending.
      // Re-read every 500 ms: the read that follows the run's last journal write shows nothing pending.
      await until(
        () =>
          (latest()?.journal.files.length ?? 0) > 0 &&
          latest()!.journal.files.every((file) => file.pending.length === 0),
        "the journal to be read with nothing pending",
        30_000,
      );
      expect(latest()!.journal.problems).to.deep.equal([]);
      expect(latest()!.journal.files.every((file) => file.chainId === 31337 && file.pending.length === 0)).to.equal(
        true,
      );

      // The monitor's view, and the page served for reading only.
      const status = (await request(`${url}api/migration/status`)).json();
      expect(status).to.deep.include({ mode: "attach", phase: "attached", controls: "none", verified: true });
      const page = await request(url);
      expect([page.status, page.headers["content-type"]]).to.deep.equal([200, "text/html; charset=utf-8"]);
      // The controls belong to the other process: 409 even with the right token, 401 without it.
      const headers = { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` };
      for (const action of ["pause", "resume", "rollback"]) {
        const answer = await request(`${url}api/migration/${action}`, {
          method: "POST",
          headers,
          body: JSON.stringify({ confirm: "rollback" }),
        });
        expect(answer.status, action).to.equal(409);
        expect((answer.json() as { error: string }).error).to.include("attached read-only");
        const anonymous = await request(`${url}api/migration/${action}`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: "{}",
        });
        expect(anonymous.status, action).to.equal(401);
      }
      // Nothing the controls were asked changed the chain: V2 stays finalized with everything.
      expect(await p.v2.marketplace.migratedCount()).to.equal(BigInt(p.state.jobs.count));
    } finally {
      socket.close();
    }
  });
});
