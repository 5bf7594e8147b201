import { readFileSync } from "node:fs";
import { ZeroAddress } from "ethers";
import { ADAPTER_VERSION, cutOverToAdapters } from "../../deploy/cutover.js";
import { DeploymentStore } from "../../lib/deployments.js";
import { finalizeExpectations, type FinalizeArguments } from "../../lib/v2State.js";
import { migrateEverything, prepareMigration, type PreparedMigration } from "../helpers/e2eMigration.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { readThroughV1, type V1Reads } from "./MigratedState.js";
import { CallRecorder } from "./recorder.js";
import type { GovernedUpgradeable } from "../../typechain-types/index.js";
import {
  CONTRACTS,
  signersOf,
  type Baseline,
  type ConformanceStack,
  type ContractKey,
  type Target,
} from "./targets.js";

/** A little V1 state, so the migration behind the adapters is real: nodes, finished jobs, balances. */
const SEED = { nodes: 3, jobs: 6, users: 3, seed: "conformance" };
/** Two batches or more of each kind. */
const SIZES = { nodes: 2, jobs: 4, users: 2 };

/** The mapping files (adapters/<Contract>.json) name each V1 function's fate; read the deprecated ones. */
function deprecatedFunctions(): Map<string, Map<string, string>> {
  const deprecated = new Map<string, Map<string, string>>();
  for (const name of Object.values(CONTRACTS)) {
    const file = new URL(`../../adapters/${name.replace(/V1$/, "")}.json`, import.meta.url);
    const mapping = JSON.parse(readFileSync(file, "utf8")) as {
      functions: Record<string, { deprecated?: string }>;
    };
    const entries = Object.entries(mapping.functions).flatMap(([signature, entry]) =>
      entry.deprecated === undefined ? [] : [[signature, entry.deprecated] as const],
    );
    deprecated.set(name, new Map(entries));
  }
  return deprecated;
}

interface AdapterFixture {
  p: PreparedMigration;
  baseline: Baseline;
  migrated: V1Reads;
}

interface Finalizable {
  finalizeMigration(...args: FinalizeArguments): Promise<{ wait(): Promise<unknown> }>;
}

/**
 * V1 seeded, frozen, migrated to V2 in batches and finalized, then its proxies cut over to the
 * adapters: what an integrator still calling the V1 addresses reaches.
 */
async function adapterStack(): Promise<AdapterFixture> {
  const p = await prepareMigration({ ethers, upgrades: upgradesApi }, SEED, async (v1) => {
    // The treasury (a test signer) collects the seeded jobs' fees; it takes them out before the
    // freeze so the suite's fee assertions start from nothing, as on a fresh V1.
    const treasury = signersOf(await ethers.getSigners()).treasury;
    for (const token of await v1.escrow.tokens()) {
      const balance = await v1.escrow.balanceOf(treasury.address, token);
      if (balance > 0n) await (await v1.escrow.connect(treasury).withdraw(token, balance)).wait();
    }
  });
  // What V1 answered last about its state (frozen and drained), to read again through the adapters.
  const users = [...(await p.v1.escrow.getUsersPage(0n, await p.v1.escrow.userCount()))];
  const migrated = await readThroughV1(p.v1, users, await p.v1.marketplace.jobCount());
  await migrateEverything(p, { sizes: SIZES });
  const { v1, v2, state, operator } = p;
  const expected = finalizeExpectations(state, await v2.escrow.migrationTokens());
  for (const key of ["registry", "marketplace", "escrow"] as const) {
    await (await (v2[key] as unknown as Finalizable).finalizeMigration(...expected[key])).wait();
  }
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const ctx = {
    ethers,
    upgrades: upgradesApi,
    deployer: operator,
    store: await DeploymentStore.open(chainId, undefined),
    chainId,
  };
  await cutOverToAdapters(ctx, { registry: v1.registry, escrow: v1.escrow, marketplace: v1.marketplace }, v2);

  // The migrated state, read from V2 itself (not through the adapters under test).
  const free = new Map<string, bigint>();
  for (const token of [ZeroAddress, await v1.usdc.getAddress()]) free.set(token, await v2.escrow.totalFree(token));
  const baseline: Baseline = {
    nodeCount: await v2.registry.nodeCount(),
    totalStaked: await v2.registry.totalStaked(),
    jobCount: await v2.marketplace.jobCount(),
    statusCounts: await Promise.all([0n, 1n, 2n, 3n, 4n, 5n].map((status) => v2.marketplace.countByStatus(status))),
    // V2 lists no users (userCount and getUsersPage are deprecated behind the adapter).
    userCount: 0n,
    free,
  };
  return { p, baseline, migrated };
}

/**
 * The V1 proxies upgraded to the adapters, forwarding to a finalized V2 after a migration.
 * A factory: the mapping files are read when the suite is registered, not when mocha loads this file.
 */
export function adapterTarget(): Target {
  const deprecated = deprecatedFunctions();
  const recorder = new CallRecorder(deprecated);
  return {
    name: "adapter → V2",
    kind: "adapter",
    version: ADAPTER_VERSION,
    recorder,
    deprecated,
    async load() {
      const { p, baseline, migrated } = await networkHelpers.loadFixture(adapterStack);
      const { v1, v2 } = p;
      const signers = await ethers.getSigners();
      const { admin, treasury } = signersOf(signers);
      // The V1 proxies, typed as V1: the adapter implements V1's ABI.
      const { registry, escrow, marketplace } = v1;
      return {
        registry: recorder.wrap(registry, CONTRACTS.registry),
        escrow: recorder.wrap(escrow, CONTRACTS.escrow),
        marketplace: recorder.wrap(marketplace, CONTRACTS.marketplace),
        raw: { registry, escrow, marketplace },
        usdc: v1.usdc,
        signers,
        admin,
        treasury,
        custody: { registry: await v2.registry.getAddress(), escrow: await v2.escrow.getAddress() },
        settlingMarketplace: await v2.marketplace.getAddress(),
        baseline,
        v2,
        migrated,
      };
    },
    // V2 checks the real caller's roles (the adapter forwards its caller): grant them there.
    grantRole: (s, contract, role, account) => mined(v2Of(s, contract).grantRole(role, account)),
    revokeRole: (s, contract, role, account) => mined(v2Of(s, contract).revokeRole(role, account)),
    pause: (s, contract) => mined(v2Of(s, contract).pause()),
    unpause: (s, contract) => mined(v2Of(s, contract).unpause()),
  };
}

/** The V2 contract behind `contract`'s adapter, as the admin (which governs both generations here). */
function v2Of(s: ConformanceStack, contract: ContractKey): GovernedUpgradeable {
  if (s.v2 === undefined) throw new Error("the adapter target has a V2 stack");
  return (s.v2[contract] as unknown as GovernedUpgradeable).connect(s.admin);
}

async function mined(tx: Promise<{ wait(): Promise<unknown> }>): Promise<void> {
  await (await tx).wait();
}
