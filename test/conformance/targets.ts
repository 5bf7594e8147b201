import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { ContractTransactionResponse } from "ethers";
import type { V2Stack } from "../../deploy/v2.js";
import type { JobMarketplaceV1, NodeRegistryV1, PaymentEscrowV1, TestUSDC } from "../../typechain-types/index.js";
import { networkHelpers, v1Stack } from "../helpers/fixtures.js";
import type { V1Reads } from "./MigratedState.js";
import { CallRecorder, UsesDeprecatedFunction } from "./recorder.js";

/** The three V1 contracts, by the key the suite uses and the name their ABI has. */
export const CONTRACTS = {
  registry: "NodeRegistryV1",
  escrow: "PaymentEscrowV1",
  marketplace: "JobMarketplaceV1",
} as const;
export type ContractKey = keyof typeof CONTRACTS;

/**
 * What the chain holds before a test, as a V1 caller counts it: nothing on a fresh V1; behind
 * the adapters, the state migrated from V1. Tests count from here, so on V1 every assertion is
 * the absolute one it always was.
 */
export interface Baseline {
  nodeCount: bigint;
  totalStaked: bigint;
  jobCount: bigint;
  /** Jobs per status, indexed by IJobMarketplaceV1.JobStatus. */
  statusCounts: bigint[];
  userCount: bigint;
  /** totalFree per token address (ETH as the zero address). */
  free: Map<string, bigint>;
}

export interface ConformanceStack {
  /** The V1 proxies, typed as V1 (behind them: V1 itself or the adapters), recording calls. */
  registry: NodeRegistryV1;
  escrow: PaymentEscrowV1;
  marketplace: JobMarketplaceV1;
  /** The same proxies without recording, for calls the suite makes about a target rather than through it. */
  raw: { registry: NodeRegistryV1; escrow: PaymentEscrowV1; marketplace: JobMarketplaceV1 };
  usdc: TestUSDC;
  signers: HardhatEthersSigner[];
  /** Holds every governing role on the target (V1's and, behind the adapters, V2's). */
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  /** The addresses that hold the funds: the V1 proxies, or the V2 proxies behind the adapters. */
  custody: { registry: string; escrow: string };
  /** The address with the rights V1's wired marketplace has on the registry and escrow. */
  settlingMarketplace: string;
  baseline: Baseline;
  /** Behind the adapters: the V2 generation that holds the state. */
  v2: V2Stack | undefined;
  /** Behind the adapters: V1's views of its own state, read just before the migration. */
  migrated: V1Reads | undefined;
}

export interface Target {
  /** Shown in the test names: "V1" or "adapter → V2". */
  name: string;
  kind: "v1" | "adapter";
  /**
   * What `version()` answers: it names the implementation behind the proxy, so it is V1's
   * "1.0.0" on V1 and the adapter's own version once the proxy runs the adapter.
   */
  version: string;
  load(): Promise<ConformanceStack>;
  /** Grants `role` (a V1 role id) on the contract whose role check a V1 caller passes through. */
  grantRole(s: ConformanceStack, contract: ContractKey, role: string, account: string): Promise<void>;
  revokeRole(s: ConformanceStack, contract: ContractKey, role: string, account: string): Promise<void>;
  /**
   * Reaches the paused state a V1 caller observes: V1's own pause, or behind the adapters the
   * pause of the V2 contract that holds the state (V1's "running jobs still settle" rule lives there).
   */
  pause(s: ConformanceStack, contract: ContractKey): Promise<void>;
  unpause(s: ConformanceStack, contract: ContractKey): Promise<void>;
  /** V1 signatures the target deprecates, with their replacement, per V1 contract name. */
  deprecated: ReadonlyMap<string, ReadonlyMap<string, string>>;
  recorder: CallRecorder;
}

async function mined(tx: Promise<ContractTransactionResponse>): Promise<void> {
  await (await tx).wait();
}

export function signersOf(all: HardhatEthersSigner[]): { admin: HardhatEthersSigner; treasury: HardhatEthersSigner } {
  const [admin, treasury] = all;
  if (admin === undefined || treasury === undefined) throw new Error("the test chain needs at least two accounts");
  return { admin, treasury };
}

// ------------------------------------------------------------ the V1 target

const v1Recorder = new CallRecorder(new Map());

/** V1 as deployed: the behaviour the suite describes. */
export const v1Target: Target = {
  name: "V1",
  kind: "v1",
  version: "1.0.0",
  recorder: v1Recorder,
  deprecated: new Map(),
  async load() {
    const { registry, escrow, marketplace, usdc, signers } = await networkHelpers.loadFixture(v1Stack);
    const { admin, treasury } = signersOf(signers);
    return {
      registry: v1Recorder.wrap(registry, CONTRACTS.registry),
      escrow: v1Recorder.wrap(escrow, CONTRACTS.escrow),
      marketplace: v1Recorder.wrap(marketplace, CONTRACTS.marketplace),
      raw: { registry, escrow, marketplace },
      usdc,
      signers,
      admin,
      treasury,
      custody: { registry: await registry.getAddress(), escrow: await escrow.getAddress() },
      settlingMarketplace: await marketplace.getAddress(),
      // A fresh V1 holds nothing: every count the suite makes is absolute.
      baseline: {
        nodeCount: 0n,
        totalStaked: 0n,
        jobCount: 0n,
        statusCounts: [0n, 0n, 0n, 0n, 0n, 0n],
        userCount: 0n,
        free: new Map(),
      },
      v2: undefined,
      migrated: undefined,
    };
  },
  grantRole: (s, contract, role, account) => mined(s.raw[contract].connect(s.admin).grantRole(role, account)),
  revokeRole: (s, contract, role, account) => mined(s.raw[contract].connect(s.admin).revokeRole(role, account)),
  pause: (s, contract) => mined(s.raw[contract].connect(s.admin).pause()),
  unpause: (s, contract) => mined(s.raw[contract].connect(s.admin).unpause()),
};

// ------------------------------------------------------------ running the suite against a target

/** What the suite's tests receive from mocha's `it`, bound to a target. */
export type ConformanceIt = (title: string, fn: () => Promise<void>) => void;

/**
 * A test of V1 internals rather than external behaviour (initializer arguments, the
 * implementation contract, upgrading to another V1 implementation): registered for V1 only,
 * with the reason in its name.
 */
export function v1OnlyIt(target: Target): (reason: string, title: string, fn: () => Promise<void>) => void {
  const run = conformanceIt(target);
  return (reason, title, fn) => {
    if (target.kind === "v1") run(`${title} [V1 only: ${reason}]`, fn);
  };
}

/**
 * Mocha's `it` for `target`: a test that calls a function the target deprecates does not apply
 * there and is reported as pending, naming the function (its `Deprecated` revert is asserted by
 * the ABI listing instead).
 */
export function conformanceIt(target: Target): ConformanceIt {
  return (title, fn) => {
    it(title, async function () {
      target.recorder.touchedDeprecated = undefined;
      try {
        await fn();
      } catch (error) {
        if (error instanceof UsesDeprecatedFunction || target.recorder.touchedDeprecated !== undefined) {
          // Shown by mocha as pending, naming the function; its Deprecated revert is asserted elsewhere.
          if (this.test !== undefined)
            this.test.title += ` [not applicable: uses ${target.recorder.touchedDeprecated}]`;
          this.skip();
        }
        throw error;
      }
    });
  };
}

/** Baseline-relative count of tokens free in the escrow. */
export function freeBaseline(s: ConformanceStack, token: string): bigint {
  return s.baseline.free.get(token) ?? 0n;
}
