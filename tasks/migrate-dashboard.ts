import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { configVariable } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { prepareLocalMigration } from "../deploy/localMigration.js";
import { validateSeedOptions } from "../lib/fixtures/plan.js";
import { engineDriver } from "../lib/dashboard/engineDriver.js";
import { explorerFor } from "../lib/dashboard/explorer.js";
import { chooseToken, TOKEN_VARIABLE } from "../lib/dashboard/security.js";
import { startDashboardServer } from "../lib/dashboard/server.js";
import { MigrationSession } from "../lib/dashboard/session.js";
import { initialState } from "../lib/dashboard/state.js";
import { tailEvents, watchJournal, type Watcher } from "../lib/dashboard/watch.js";
import { CONTRACT_NAMES, resolveContracts, type ContractName } from "../lib/migration/contracts.js";
import type { MigrationReporter } from "../lib/migration/events.js";
import { createRenderer, pickMode } from "../lib/migration/render.js";
import type { StepContext } from "../lib/migration/steps/context.js";
import { openTaskContext } from "./context.js";
import { operatorWallet, runOptions, type MigrateArguments } from "./migrate-shared.js";

interface DashboardArguments extends MigrateArguments {
  port: number;
  host: string;
  attach: boolean;
  events: string;
  seed: boolean;
  nodes: number;
  jobs: number;
  users: number;
  generatorSeed: string;
  startPaused: boolean;
  blockTime: number;
}

/** `DASHBOARD_TOKEN` as Hardhat resolves configuration variables: the environment, then the keystore. */
async function configuredToken(hre: HardhatRuntimeEnvironment): Promise<string | undefined> {
  const fromEnvironment = process.env[TOKEN_VARIABLE];
  if (fromEnvironment !== undefined) return fromEnvironment === "" ? undefined : fromEnvironment;
  const value = await hre.hooks.runHandlerChain(
    "configurationVariables",
    "fetchValue",
    [configVariable(TOKEN_VARIABLE, { default: "" })],
    async (_context, variable) => process.env[variable.name] ?? variable.default ?? "",
  );
  return value === "" ? undefined : value;
}

const OVERRIDE_OPTIONS: Record<ContractName, keyof MigrateArguments> = {
  NodeRegistryV1: "v1Registry",
  PaymentEscrowV1: "v1Escrow",
  JobMarketplaceV1: "v1Marketplace",
  NodeRegistryV2: "v2Registry",
  PaymentEscrowV2: "v2Escrow",
  JobMarketplaceV2: "v2Marketplace",
};

/**
 * `npx hardhat migrate:dashboard`: serves the dashboard (lib/dashboard) and either runs
 * `migrate:all`'s engine itself, with pause, resume and rollback, or (`--attach`) follows a run in
 * another process through its journal and its `--json` lines, read-only. `--seed` first seeds V1
 * and opens the migration on a development chain, as migrate:demo does, so there is something to
 * migrate. Serves until interrupted (Ctrl-C).
 */
export default async function migrateDashboardAction(args: Record<string, unknown>, hre: HardhatRuntimeEnvironment) {
  const options = args as unknown as DashboardArguments;
  const { token, source } = chooseToken(options.host, await configuredToken(hre));
  const staticDir = path.join(hre.config.paths.root, "dashboard");
  const watchers: Watcher[] = [];
  let session: MigrationSession;
  let journalDir = options.journal === "" ? "journal" : options.journal;
  const lines: string[] = [];
  let scratch: string | undefined;

  if (options.attach) {
    if (options.seed) throw new Error("--seed starts a migration: it cannot be combined with --attach.");
    const chainId = options.chainId === 0 ? null : options.chainId;
    session = new MigrationSession({
      initial: initialState({
        mode: "attach",
        network: hre.globalOptions.network ?? "default",
        chainId,
        explorer: explorerFor(chainId),
      }),
      journalDir,
    });
    if (options.events !== "") {
      const events = options.events;
      watchers.push(
        tailEvents(events, session.apply, () =>
          session.apply({
            type: "phase",
            at: Date.now(),
            phase: "attached",
            message: `the run in ${events} has ended`,
          }),
        ),
      );
      lines.push(`Following the events in ${events}.`);
    }
  } else {
    const ctx = await openTaskContext(hre);
    const signer = await operatorWallet(ctx);
    let snapshot = options.snapshot;
    if (options.seed) {
      if (!ctx.devChain)
        throw new Error(
          `--seed deploys and seeds a V1 to migrate: development chains only (this is chain ${ctx.chainId}).`,
        );
      const seed = { nodes: options.nodes, jobs: options.jobs, users: options.users, seed: options.generatorSeed };
      validateSeedOptions(seed);
      if (ctx.connection.networkConfig.type === "edr-simulated") {
        // The in-process chain is new each run (same addresses, fresh nonces): its journal and
        // snapshot must not meet an earlier run's, and they end with it.
        scratch = await mkdtemp(path.join(tmpdir(), "fabstir-dashboard-"));
        if (options.journal === "" || options.journal === "journal") journalDir = path.join(scratch, "journal");
        if (snapshot === "") snapshot = path.join(scratch, `v1-${ctx.chainId}.ndjson`);
      }
      console.log(
        `Seeding V1 (${seed.nodes} nodes, ${seed.jobs} jobs, ${seed.users} users) and opening the migration…`,
      );
      await prepareLocalMigration(ctx, { seed, treasury: ctx.deployer.address });
    }
    if (options.blockTime > 0) {
      if (!ctx.devChain) throw new Error("--block-time paces a development chain's mining: it cannot be used here.");
      // Blocks at an interval, as on Base, instead of one per transaction: the dashboard moves at a real pace.
      await ctx.ethers.provider.send("evm_setAutomine", [false]);
      await ctx.ethers.provider.send("evm_setIntervalMining", [options.blockTime]);
    }
    const overrides: Partial<Record<ContractName, string>> = {};
    for (const name of CONTRACT_NAMES) overrides[name] = options[OVERRIDE_OPTIONS[name]] as string;
    const contracts = await resolveContracts(ctx.ethers.provider, signer, {
      ...(options.chainId === 0 ? {} : { expectedChainId: options.chainId }),
      record: ctx.store.record,
      overrides,
    });
    const run = {
      ...runOptions({ ...options, snapshot, journal: journalDir }, ctx.chainId),
      dryRun: false,
      ...(options.blockTime > 0 ? { pollIntervalMs: Math.max(20, Math.floor(options.blockTime / 4)) } : {}),
    };
    session = new MigrationSession({
      initial: initialState({
        mode: "run",
        network: ctx.connection.networkName,
        chainId: ctx.chainId,
        explorer: explorerFor(ctx.chainId),
      }),
      journalDir,
    });
    // The terminal keeps its log (plain lines, or --json lines another dashboard can --attach to).
    const renderer = createRenderer({
      mode: pickMode({ json: options.json, isTTY: false }),
      write: (text) => process.stdout.write(text),
    });
    const tee =
      (reporter: MigrationReporter): MigrationReporter =>
      (event) => {
        reporter(event);
        renderer.report(event);
      };
    const stepContext = (reporter: MigrationReporter): StepContext => ({
      provider: ctx.ethers.provider,
      signer,
      contracts,
      reporter: tee(reporter),
      devChain: ctx.devChain,
    });
    session = new MigrationSession({ initial: session.state, driver: engineDriver(stepContext, run), journalDir });
  }
  const journal = journalDir;
  watchers.push(watchJournal(journal, (read) => session.apply({ type: "journal", at: Date.now(), ...read })));

  const server = await startDashboardServer({ session, token, host: options.host, port: options.port, staticDir });
  lines.unshift(`Dashboard: ${server.url}`);
  if (session.controllable) {
    lines.push(
      source === "generated"
        ? `Control token (shown once; the page is read-only without it): ${token}\nOpen with controls: ${server.url}#token=${encodeURIComponent(token)}`
        : `Controls need the token in ${TOKEN_VARIABLE}.`,
    );
  } else {
    lines.push(`Attached read-only to the journal in ${journal}.`);
  }
  lines.push(
    session.controllable
      ? "Ctrl-C stops the dashboard and its run (an unconfirmed batch stays in the journal; the next run resumes it)."
      : "Ctrl-C stops the dashboard (the other process is not affected).",
  );
  console.log(lines.join("\n"));
  if (session.controllable) session.start({ paused: options.startPaused });

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  for (const watcher of watchers) watcher.stop();
  await server.close();
  // The seeded chain ends with this process: its scratch journal and snapshot go with it.
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  process.exit(process.exitCode ?? 0);
}
