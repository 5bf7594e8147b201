import { readFileSync } from "node:fs";
import { ZeroAddress } from "ethers";
import { ADAPTER_VERSION, cutOverToAdapters } from "../../deploy/cutover.js";
import { DeploymentStore } from "../../lib/deployments.js";
import { finalizeExpectations, type FinalizeArguments } from "../../lib/v2State.js";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { V1Stack } from "../../deploy/v1.js";
import type { V2Stack } from "../../deploy/v2.js";
import { migrateEverything, prepareMigration } from "../helpers/e2eMigration.js";
import { executeProposal, prepareGovernedMigration } from "../helpers/governedMigration.js";
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
  v1: V1Stack;
  v2: V2Stack;
  baseline: Baseline;
  migrated: V1Reads;
  /** Holds every governing role on both generations: signer 0, or the timelock (impersonated). */
  admin: HardhatEthersSigner;
}

interface Finalizable {
  finalizeMigration(...args: FinalizeArguments): Promise<{ wait(): Promise<unknown> }>;
}

/**
 * The treasury (a test signer) collects the seeded jobs' fees; it takes them out before the
 * freeze so the suite's fee assertions start from nothing, as on a fresh V1.
 */
async function takeTreasuryFeesOut(v1: V1Stack): Promise<void> {
  const treasury = signersOf(await ethers.getSigners()).treasury;
  for (const token of await v1.escrow.tokens()) {
    const balance = await v1.escrow.balanceOf(treasury.address, token);
    if (balance > 0n) await (await v1.escrow.connect(treasury).withdraw(token, balance)).wait();
  }
}

/** What V1 answered last about its state (frozen and drained), to read again through the adapters. */
async function lastV1Reads(v1: V1Stack): Promise<V1Reads> {
  const users = [...(await v1.escrow.getUsersPage(0n, await v1.escrow.userCount()))];
  return readThroughV1(v1, users, await v1.marketplace.jobCount());
}

/** The migrated state, read from V2 itself (not through the adapters under test). */
async function readBaseline(v1: V1Stack, v2: V2Stack): Promise<Baseline> {
  const free = new Map<string, bigint>();
  for (const token of [ZeroAddress, await v1.usdc.getAddress()]) free.set(token, await v2.escrow.totalFree(token));
  return {
    nodeCount: await v2.registry.nodeCount(),
    totalStaked: await v2.registry.totalStaked(),
    jobCount: await v2.marketplace.jobCount(),
    statusCounts: await Promise.all([0n, 1n, 2n, 3n, 4n, 5n].map((status) => v2.marketplace.countByStatus(status))),
    // V2 lists no users (userCount and getUsersPage are deprecated behind the adapter).
    userCount: 0n,
    free,
  };
}

/**
 * V1 seeded, frozen, migrated to V2 in batches and finalized by the operator, then its proxies
 * cut over to the adapters (signer 0 plays governance): what an integrator still calling the V1
 * addresses reaches.
 */
async function adapterStack(): Promise<AdapterFixture> {
  const p = await prepareMigration({ ethers, upgrades: upgradesApi }, SEED, takeTreasuryFeesOut);
  const migrated = await lastV1Reads(p.v1);
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
  return { v1, v2, baseline: await readBaseline(v1, v2), migrated, admin: operator };
}

/**
 * The same, as on Base: V1 and V2 under the Governor's timelock, frozen and opened by a proposal,
 * copied by the operator, finalized and cut over by a second proposal. The timelock administers
 * both generations; the suite acts as it through impersonation.
 */
async function governedAdapterStack(): Promise<AdapterFixture> {
  let migrated: V1Reads | undefined;
  const m = await prepareGovernedMigration({
    seed: SEED,
    beforeFreeze: takeTreasuryFeesOut,
    beforeCopy: async (v1) => {
      migrated = await lastV1Reads(v1);
    },
  });
  await executeProposal(m.governance.governor, m.cutover);
  const timelock = await m.governance.timelock.getAddress();
  await networkHelpers.impersonateAccount(timelock);
  await networkHelpers.setBalance(timelock, 10n ** 20n);
  const admin = await ethers.getSigner(timelock);
  return { v1: m.v1, v2: m.v2, baseline: await readBaseline(m.v1, m.v2), migrated: migrated!, admin };
}

/**
 * The V1 proxies upgraded to the adapters, forwarding to a finalized V2 after a migration.
 * A factory: the mapping files are read when the suite is registered, not when mocha loads this file.
 */
export function adapterTarget(governance: "operator" | "governed" = "operator"): Target {
  const deprecated = deprecatedFunctions();
  const recorder = new CallRecorder(deprecated);
  const fixture = governance === "governed" ? governedAdapterStack : adapterStack;
  return {
    name: governance === "governed" ? "adapter → V2, under governance" : "adapter → V2",
    kind: "adapter",
    version: ADAPTER_VERSION,
    recorder,
    deprecated,
    async load() {
      const { v1, v2, baseline, migrated, admin } = await networkHelpers.loadFixture(fixture);
      const signers = await ethers.getSigners();
      const { treasury } = signersOf(signers);
      // The V1 proxies, typed as V1: the adapter implements V1's ABI.
      // Connected to the admin, who sends what the suite sends without choosing a signer.
      const registry = v1.registry.connect(admin);
      const escrow = v1.escrow.connect(admin);
      const marketplace = v1.marketplace.connect(admin);
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
