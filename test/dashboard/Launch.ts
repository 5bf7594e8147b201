import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import type { HardhatHooks } from "hardhat/types/hooks";
import { configuredToken } from "../../lib/dashboard/configuredToken.js";
import { prepareDevChain, type DevChain, type DevChainOptions } from "../../lib/dashboard/devChain.js";
import { attachDashboard, serveDashboard, startBanner } from "../../lib/dashboard/launch.js";
import { networkLabel } from "../../lib/dashboard/networkName.js";
import { TOKEN_VARIABLE } from "../../lib/dashboard/security.js";
import type { DashboardState } from "../../lib/dashboard/state.js";
import { request, STATIC_DIR, until } from "./helpers.js";

const TOKEN = "a-control-token-for-the-tests-0123456789";

describe("Dashboard launch (lib/dashboard: network name, token, dev chain, attach, serve)", function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(tmpdir(), "dashboard-launch-"))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  describe("networkLabel", () => {
    it("names the in-process chain, not Hardhat's config name 'default'", () => {
      expect(networkLabel({ name: "default", inProcess: true, chainId: 31337 })).to.equal(
        "hardhat (in-process, chain 31337)",
      );
      expect(networkLabel({ name: "sim", inProcess: true, chainId: 31337 })).to.equal("sim (in-process, chain 31337)");
    });

    it("calls Base and Base Sepolia by name, with the config's name only when it says more", () => {
      expect(networkLabel({ name: "base", inProcess: false, chainId: 8453 })).to.equal("Base (chain 8453)");
      expect(networkLabel({ name: "baseSepolia", inProcess: false, chainId: 84532 })).to.equal(
        "Base Sepolia (chain 84532)",
      );
      expect(networkLabel({ name: "base-sepolia", inProcess: false, chainId: 84532 })).to.equal(
        "Base Sepolia (chain 84532)",
      );
      expect(networkLabel({ name: "fork", inProcess: true, chainId: 8453 })).to.equal(
        "Base (fork, in-process, chain 8453)",
      );
    });

    it("names other chains by the config's name, and what attach mode knows by what it was given", () => {
      expect(networkLabel({ name: "localhost", inProcess: false, chainId: 31337 })).to.equal("localhost (chain 31337)");
      expect(networkLabel({ name: "sepolia", inProcess: false, chainId: 11155111 })).to.equal(
        "sepolia (chain 11155111)",
      );
      expect(networkLabel({ name: "default", inProcess: false, chainId: 31337 })).to.equal("chain 31337");
      expect(networkLabel({ name: undefined, inProcess: false, chainId: 8453 })).to.equal("Base (chain 8453)");
      expect(networkLabel({ name: "localhost", inProcess: false, chainId: null })).to.equal("localhost");
      expect(networkLabel({ name: undefined, inProcess: false, chainId: null })).to.equal("unknown network");
    });
  });

  describe("configuredToken", () => {
    const saved = process.env[TOKEN_VARIABLE];
    afterEach(() => {
      if (saved === undefined) delete process.env[TOKEN_VARIABLE];
      else process.env[TOKEN_VARIABLE] = saved;
    });

    it("takes the environment first, where an empty value means none", async () => {
      expect(await configuredToken(hre.hooks, { [TOKEN_VARIABLE]: TOKEN })).to.equal(TOKEN);
      expect(await configuredToken(hre.hooks, { [TOKEN_VARIABLE]: "" })).to.equal(undefined);
    });

    it("otherwise asks the configuration-variable handlers (the keystore's), and has none without them", async () => {
      delete process.env[TOKEN_VARIABLE];
      expect(await configuredToken(hre.hooks, {})).to.equal(undefined);
      const handlers: Partial<HardhatHooks["configurationVariables"]> = {
        fetchValue: async (context, variable, next) =>
          variable.name === TOKEN_VARIABLE ? "from-the-keystore-0123456789" : next(context, variable),
      };
      hre.hooks.registerHandlers("configurationVariables", handlers);
      try {
        expect(await configuredToken(hre.hooks, {})).to.equal("from-the-keystore-0123456789");
      } finally {
        hre.hooks.unregisterHandlers("configurationVariables", handlers);
      }
    });
  });

  describe("prepareDevChain", () => {
    const options: DevChainOptions = {
      seed: false,
      nodes: 2,
      jobs: 4,
      users: 2,
      generatorSeed: "t",
      blockTime: 0,
      journal: "",
      snapshot: "",
    };
    /** A chain that records what would be sent to it: every case here refuses before sending anything. */
    function chain(devChain: boolean, chainId: number) {
      const sent: string[] = [];
      const provider = { send: async (method: string) => void sent.push(method) };
      return { sent, chain: { devChain, inProcess: devChain, chainId, ethers: { provider } } as unknown as DevChain };
    }
    const refusal = async (run: Promise<unknown>) =>
      run.then(
        () => expect.fail("expected a refusal"),
        (error: Error) => error.message,
      );

    it("refuses --seed and --block-time off development chains, and bad seed sizes, sending nothing", async () => {
      const base = chain(false, 8453);
      const log: string[] = [];
      expect(await refusal(prepareDevChain(base.chain, { ...options, seed: true }, (l) => log.push(l)))).to.equal(
        "--seed deploys and seeds a V1 to migrate: development chains only (this is chain 8453).",
      );
      expect(await refusal(prepareDevChain(base.chain, { ...options, blockTime: 250 }, (l) => log.push(l)))).to.equal(
        "--block-time paces a development chain's mining: it cannot be used here.",
      );
      const dev = chain(true, 31337);
      expect(
        await refusal(prepareDevChain(dev.chain, { ...options, seed: true, users: 0 }, (l) => log.push(l))),
      ).to.equal("Jobs are posted by users: give --users 1 or more, or --jobs 0.");
      expect([base.sent, dev.sent, log]).to.deep.equal([[], [], []]);
    });

    it("without --seed and --block-time leaves the chain and the files as given", async () => {
      const dev = chain(true, 31337);
      const files = await prepareDevChain(dev.chain, { ...options, journal: "j", snapshot: "s" }, () => {});
      expect(files).to.deep.equal({ journal: "j", snapshot: "s" });
      expect(dev.sent).to.deep.equal([]);
    });
  });

  describe("attach and serve", () => {
    it("refuses --seed with --attach", () => {
      expect(() => attachDashboard({ journal: "", events: "", seed: true, network: undefined, chainId: 0 })).to.throw(
        "--seed starts a migration: it cannot be combined with --attach.",
      );
    });

    it("follows the other run's events and journal read-only, says so, and removes the scratch directory on close", async () => {
      const events = path.join(dir, "run.jsonl");
      const journal = path.join(dir, "journal");
      await mkdir(path.join(journal, "8453"), { recursive: true });
      const launch = attachDashboard({ journal, events, seed: false, network: "base", chainId: 8453 });
      const scratch = path.join(dir, "scratch");
      await mkdir(scratch);
      launch.scratch = scratch;
      expect(launch.session.state.network).to.deep.equal({
        name: "Base (chain 8453)",
        chainId: 8453,
        explorer: "https://basescan.org",
      });
      const served = await serveDashboard(launch, {
        token: TOKEN,
        source: "generated",
        host: "127.0.0.1",
        port: 0,
        staticDir: STATIC_DIR,
      });
      try {
        expect(served.banner.split("\n")).to.deep.equal([
          `Dashboard: ${served.url}`,
          `Following the events in ${events}.`,
          `Attached read-only to the journal in ${journal}.`,
          "Ctrl-C stops the dashboard (the other process is not affected).",
        ]);
        await writeFile(
          events,
          [
            JSON.stringify({ type: "step-started", at: 1, step: "nodes", total: 2, unit: "nodes" }),
            JSON.stringify({ type: "summary" }),
            "",
          ].join("\n"),
        );
        const ended = `the run in ${events} has ended`;
        await until(() => launch.session.state.phaseMessage === ended, "the events' end", 10_000);
        await until(() => launch.session.state.journal.readAt !== null, "the journal's first read", 10_000);
        const state = (
          await request(new URL("/api/migration/progress", served.url).toString())
        ).json() as DashboardState;
        expect([state.mode, state.phaseMessage, state.network.name]).to.deep.equal([
          "attach",
          ended,
          "Base (chain 8453)",
        ]);
        expect(state.steps.map((view) => view.step)).to.deep.equal(["nodes"]);
        expect(state.journal.problems).to.deep.equal([]);
      } finally {
        await served.close();
      }
      expect(existsSync(scratch)).to.equal(false);
      expect(existsSync(journal)).to.equal(true);
    });

    it("in run mode prints the generated token once with a link carrying it, or where a configured one comes from", () => {
      const base = { url: "http://127.0.0.1:8686/", controllable: true, journalDir: "journal", notes: [] };
      expect(startBanner({ ...base, token: "a b", source: "generated" }).split("\n")).to.deep.equal([
        "Dashboard: http://127.0.0.1:8686/",
        "Control token (shown once; the page is read-only without it): a b",
        "Open with controls: http://127.0.0.1:8686/#token=a%20b",
        "Ctrl-C stops the dashboard and its run (an unconfirmed batch stays in the journal; the next run resumes it).",
      ]);
      const configured = startBanner({ ...base, token: TOKEN, source: "config" });
      expect(configured).to.not.include(TOKEN);
      expect(configured.split("\n")[1]).to.equal(`Controls need the token in ${TOKEN_VARIABLE}.`);
    });
  });
});
