import { existsSync } from "node:fs";
import { Interface, getAddress, isHexString, type Provider } from "ethers";
import { SnapshotError, readSnapshot } from "../../snapshot.js";
import { V2StateError, finalizeExpectations } from "../../v2State.js";
import {
  JobMarketplaceV2__factory,
  NodeRegistryV1__factory,
  NodeRegistryV2__factory,
  PaymentEscrowV2__factory,
} from "../../../typechain-types/index.js";
import { artifactsBehind, contractInterface, roleId } from "../abis.js";
import { PROPOSAL_ACTIONS, type ExpectedUpgrade, type ProposalAction } from "../types.js";
import {
  ProposalInputError,
  recordedAddress,
  requireAddress,
  requireRecorded,
  type ActionCall,
  type ActionContext,
  type ActionOutput,
} from "./common.js";
import { readCustomCalls } from "./custom.js";
import {
  CUTOVER_UPGRADES,
  OPEN_MIGRATION_UPGRADES,
  V1_PROXIES,
  cutoverAdapterGrants,
  knownUpgradeCall,
  operatorMarketplaceGrant,
  v1_1MigratorGrants,
  type PlannedUpgrade,
  type RoleGrant,
} from "./migration.js";

export * from "./common.js";
export * from "./migration.js";
export { parseCustomCalls, readCustomCalls } from "./custom.js";

/**
 * The calls of each `upgrade:propose` action, built in two phases: every action is first checked
 * and read from the chain and its files (nothing is sent), then the implementations the upgrades
 * need are deployed through `prepareUpgrade`. Bad input is therefore refused before anything is
 * deployed.
 */

/** The action options of `upgrade:propose`, as given (empty strings are "not given"). */
export interface ActionOptions {
  /** `NodeRegistryV1=NodeRegistryV1_1,…` (record name = new artifact); default: the V1.1 pair. */
  upgrade?: string;
  /** `NodeRegistryV1=0x…,…`: the upgrade call for a proxy instead of the known one (`0x` for none). */
  upgradeCall?: string;
  operator?: string;
  /** The V1 snapshot file (resolved by the caller; the task defaults it to snapshots/v1-<chainId>.ndjson). */
  snapshot?: string;
  /** The custom calls file. */
  calls?: string;
}

/** The EIP-1967 implementation slot: `bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)`. */
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

const UUPS = new Interface([
  "function upgradeToAndCall(address newImplementation, bytes data) payable",
  "function version() view returns (string)",
]);
const ACCESS = new Interface(["function grantRole(bytes32 role, address account)"]);
const PAUSABLE = new Interface(["function pause()"]);

/** `--action a,b,c`: known actions, each once, in the given order. */
export function parseActions(list: string): ProposalAction[] {
  const names = list
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) {
    throw new ProposalInputError(`Give --action, one or more of ${PROPOSAL_ACTIONS.join(", ")} (comma-separated).`);
  }
  const actions: ProposalAction[] = [];
  for (const name of names) {
    if (!(PROPOSAL_ACTIONS as readonly string[]).includes(name)) {
      throw new ProposalInputError(`Unknown action "${name}": use ${PROPOSAL_ACTIONS.join(", ")}.`);
    }
    if (actions.includes(name as ProposalAction)) throw new ProposalInputError(`The action "${name}" is given twice.`);
    actions.push(name as ProposalAction);
  }
  return actions;
}

/** `A=B,C=D` into pairs, refusing malformed or repeated keys. */
function parsePairs(option: string, value: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of value.split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    const key = eq < 0 ? "" : item.slice(0, eq).trim();
    const val = eq < 0 ? "" : item.slice(eq + 1).trim();
    if (key === "" || val === "") {
      throw new ProposalInputError(`${option}: "${item}" is not <RecordName>=<value>.`);
    }
    if (pairs.some(([k]) => k === key)) throw new ProposalInputError(`${option}: ${key} is given twice.`);
    pairs.push([key, val]);
  }
  return pairs;
}

/** A step of an action: a call ready now, or an upgrade whose implementation is still to be prepared. */
type Step =
  | { kind: "call"; call: ActionCall }
  | { kind: "upgrade"; record: string; proxy: string; artifact: string; callData: string };

/**
 * Builds the calls of `actions` in order. Every action is checked first (record names,
 * addresses, files, chain state); only then does `ctx.preparer` deploy implementations.
 */
export async function buildActions(
  actions: readonly ProposalAction[],
  options: ActionOptions,
  ctx: ActionContext,
): Promise<ActionOutput> {
  const warnings: string[] = [];
  const steps: Step[] = [];
  for (const action of actions) {
    steps.push(...(await planAction(action, options, ctx, warnings)));
  }
  const upgraded = new Set<string>();
  for (const step of steps) {
    if (step.kind !== "upgrade") continue;
    if (upgraded.has(step.proxy)) {
      throw new ProposalInputError(`The proposal upgrades ${step.record} twice: keep one upgrade per proxy.`);
    }
    upgraded.add(step.proxy);
  }
  if (upgraded.size > 0 && ctx.preparer === undefined) {
    throw new ProposalInputError("Upgrades need an implementation preparer (hardhat-upgrades prepareUpgrade).");
  }

  const calls: ActionCall[] = [];
  const upgrades: ExpectedUpgrade[] = [];
  for (const step of steps) {
    if (step.kind === "call") {
      calls.push(step.call);
      continue;
    }
    const { upgrade, call } = await prepare(step, ctx);
    upgrades.push(upgrade);
    calls.push(call);
  }
  return { calls, upgrades, warnings };
}

async function planAction(
  action: ProposalAction,
  options: ActionOptions,
  ctx: ActionContext,
  warnings: string[],
): Promise<Step[]> {
  switch (action) {
    case "pause-v1":
      return planPause(ctx, warnings);
    case "upgrade":
      return planUpgrades(ctx, options);
    case "grant-migrator": {
      const operator = requireAddress(options.operator, "--operator", "--action grant-migrator");
      return planGrants(ctx, [...v1_1MigratorGrants(operator), operatorMarketplaceGrant(operator)], warnings);
    }
    case "cutover":
      return planCutover(ctx, options, warnings);
    case "custom": {
      if (options.calls === undefined || options.calls === "") {
        throw new ProposalInputError("--action custom needs --calls <file.json>.");
      }
      const calls = await readCustomCalls(options.calls, ctx.record);
      return calls.map((call) => ({ kind: "call", call }));
    }
  }
}

// ------------------------------------------------------------------ pause-v1

async function planPause(ctx: ActionContext, warnings: string[]): Promise<Step[]> {
  const steps: Step[] = [];
  for (const name of V1_PROXIES) {
    const target = requireRecorded(ctx.record, name, "--action pause-v1");
    // Built ahead of the vote: a contract paused meanwhile is kept (pausing twice reverts, so say it).
    if (await NodeRegistryV1__factory.connect(target, ctx.provider).paused()) {
      warnings.push(
        `${name} (${target}) is already paused: pause() would revert with EnforcedPause() if executed now.`,
      );
    }
    steps.push({ kind: "call", call: { target, value: 0n, data: PAUSABLE.encodeFunctionData("pause") } });
  }
  return steps;
}

// ------------------------------------------------------------------ upgrade

function planUpgrades(ctx: ActionContext, options: ActionOptions): Step[] {
  const given = options.upgrade ?? "";
  const planned: PlannedUpgrade[] =
    given.trim() === ""
      ? [...OPEN_MIGRATION_UPGRADES]
      : parsePairs("--upgrade", given).map(([record, artifact]) => ({ record, artifact }));
  const overrides = new Map(parsePairs("--upgrade-call", options.upgradeCall ?? ""));
  for (const record of overrides.keys()) {
    if (!planned.some((upgrade) => upgrade.record === record)) {
      throw new ProposalInputError(`--upgrade-call names ${record}, which --upgrade does not upgrade.`);
    }
  }
  return planned.map((upgrade) => planUpgrade(ctx, upgrade, overrides.get(upgrade.record)));
}

function planUpgrade(ctx: ActionContext, { record, artifact }: PlannedUpgrade, override?: string): Step {
  const entry = ctx.record.contracts[record];
  if (entry !== undefined && !("proxy" in entry)) {
    throw new ProposalInputError(`${record} is not a proxy in deployments/${ctx.chainId}.json: it cannot be upgraded.`);
  }
  const proxy = requireRecorded(ctx.record, record, `Upgrading ${record}`);
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(artifact)) {
    throw new ProposalInputError(`--upgrade ${record}=${artifact}: "${artifact}" is not a contract name.`);
  }
  let callData = "0x";
  if (override !== undefined) {
    if (!isHexString(override) || (override !== "0x" && override.length < 10)) {
      throw new ProposalInputError(
        `--upgrade-call ${record}=${override}: give the upgrade call as 0x-prefixed calldata (0x for none), e.g. from \`cast calldata\`.`,
      );
    }
    callData = override.toLowerCase();
  } else {
    const known = knownUpgradeCall(artifact);
    if (known !== undefined) {
      const v2 = requireRecorded(ctx.record, known.target, `${artifact}.${known.fn}`);
      const implementation = contractInterface(artifact);
      if (implementation === undefined) throw new ProposalInputError(`No ABI is known for ${artifact}.`);
      callData = implementation.encodeFunctionData(known.fn, [v2]);
    }
  }
  return { kind: "upgrade", record, proxy, artifact, callData };
}

async function prepare(
  step: Extract<Step, { kind: "upgrade" }>,
  ctx: ActionContext,
): Promise<{ upgrade: ExpectedUpgrade; call: ActionCall }> {
  const slot = await ctx.provider.getStorage(step.proxy, IMPLEMENTATION_SLOT);
  const implementationBefore = getAddress(`0x${slot.slice(-40)}`);
  const candidates = artifactsBehind(step.record);
  let implementation: string;
  try {
    implementation = getAddress(
      await ctx.preparer!.prepareUpgrade(step.proxy, step.artifact, candidates.length > 0 ? candidates : [step.record]),
    );
  } catch (error) {
    throw new ProposalInputError(
      `hardhat-upgrades did not prepare ${step.artifact} for the ${step.record} proxy ${step.proxy} (it validates the upgrade against the current implementation; nothing was proposed): ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  const version = await readVersion(ctx.provider, implementation);
  return {
    upgrade: {
      name: step.record,
      proxy: step.proxy,
      implementationBefore,
      implementation,
      contractName: step.artifact,
      version,
    },
    call: {
      target: step.proxy,
      value: 0n,
      data: UUPS.encodeFunctionData("upgradeToAndCall", [implementation, step.callData]),
    },
  };
}

/** `version()` of an implementation: pure, so the implementation contract answers it itself. */
async function readVersion(provider: Provider, implementation: string): Promise<string> {
  try {
    const result = await provider.call({ to: implementation, data: UUPS.encodeFunctionData("version") });
    return UUPS.decodeFunctionResult("version", result)[0] as string;
  } catch {
    throw new ProposalInputError(
      `The implementation at ${implementation} does not answer version(): every implementation of the project declares it.`,
    );
  }
}

// ------------------------------------------------------------------ grants

async function planGrants(ctx: ActionContext, grants: readonly RoleGrant[], warnings: string[]): Promise<Step[]> {
  const steps: Step[] = [];
  for (const grant of grants) {
    const target = requireRecorded(ctx.record, grant.contract, `Granting ${grant.role}`);
    const account = recordedAddress(ctx.record, grant.account) ?? requireAddress(grant.account, "account", "A grant");
    const role = roleId(grant.role);
    if (await NodeRegistryV2__factory.connect(target, ctx.provider).hasRole(role, account)) {
      warnings.push(`${account} already holds ${grant.role} on ${grant.contract}: the grant changes nothing.`);
    }
    steps.push({
      kind: "call",
      call: { target, value: 0n, data: ACCESS.encodeFunctionData("grantRole", [role, account]) },
    });
  }
  return steps;
}

// ------------------------------------------------------------------ cutover

async function planCutover(ctx: ActionContext, options: ActionOptions, warnings: string[]): Promise<Step[]> {
  const file = options.snapshot ?? "";
  if (file === "" || !existsSync(file)) {
    throw new ProposalInputError(
      `--action cutover needs the V1 snapshot the migration was verified against, and ${
        file === "" ? "none was given" : `${file} does not exist`
      }: run \`npx hardhat migrate:snapshot\` (or pass --snapshot <file>).`,
    );
  }
  const v1 = {
    registry: requireRecorded(ctx.record, "NodeRegistryV1", "--action cutover"),
    escrow: requireRecorded(ctx.record, "PaymentEscrowV1", "--action cutover"),
    marketplace: requireRecorded(ctx.record, "JobMarketplaceV1", "--action cutover"),
  };
  const v2 = {
    registry: NodeRegistryV2__factory.connect(
      requireRecorded(ctx.record, "NodeRegistryV2", "--action cutover"),
      ctx.provider,
    ),
    marketplace: JobMarketplaceV2__factory.connect(
      requireRecorded(ctx.record, "JobMarketplaceV2", "--action cutover"),
      ctx.provider,
    ),
    escrow: PaymentEscrowV2__factory.connect(
      requireRecorded(ctx.record, "PaymentEscrowV2", "--action cutover"),
      ctx.provider,
    ),
  };
  let expected: ReturnType<typeof finalizeExpectations>;
  try {
    const snapshot = await readSnapshot(file, { expect: { chainId: ctx.chainId, addresses: v1 } });
    expected = finalizeExpectations(snapshot.state, await v2.escrow.migrationTokens());
  } catch (error) {
    if (error instanceof SnapshotError || error instanceof V2StateError) {
      throw new ProposalInputError(`${error.message}`, { cause: error });
    }
    throw error;
  }

  const steps: Step[] = [];
  for (const name of ["registry", "marketplace", "escrow"] as const) {
    const contract = v2[name];
    const target = await contract.getAddress();
    if (await contract.migrationFinalized()) {
      warnings.push(`The V2 ${name} (${target}) is already finalized: finalizeMigration would revert if executed now.`);
    }
    steps.push({
      kind: "call",
      call: { target, value: 0n, data: contract.interface.encodeFunctionData("finalizeMigration", expected[name]) },
    });
  }
  steps.push(...(await planGrants(ctx, cutoverAdapterGrants(), warnings)));
  for (const upgrade of CUTOVER_UPGRADES) steps.push(planUpgrade(ctx, upgrade));
  return steps;
}
