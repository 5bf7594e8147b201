import { Interface, getAddress, type Provider, type TransactionReceipt } from "ethers";
import type { DeploymentRecord } from "../../deployments.js";
import { errorMessage } from "../../multicall.js";
import type { CheckResult, DecodedEvent } from "../simulation.js";
import type { ProposalFile } from "../types.js";
import { checkBalances } from "./balances.js";
import { implementationOf, knownContracts, multicallAvailable, type Known } from "./chain.js";
import { checkCommitments, observeCommitments, type CommitmentsObservation } from "./commitments.js";
import { checkEvents, decodeEvents } from "./events.js";
import { checkImplementations, checkVersions, probeInitialization } from "./implementations.js";
import { checkPermissions } from "./permissions.js";

/**
 * The simulation's post-checks, in the spirit of Uniswap's governance-seatbelt: `observe` the
 * chain before the proposal and after its execution, then `runChecks` compares the two and reads
 * what the execution did. Each check is a module of this folder; lib/governance/simulate.ts
 * calls these two functions. Pure: no Hardhat.
 */

export interface CheckInput {
  provider: Provider;
  proposal: ProposalFile;
  /** The chain's deployment record: every proxy and the governance contracts. */
  record: DeploymentRecord;
}

/** What the checks compare, read at one block. */
export interface Observation {
  block: number;
  /** Every proxy of the record and of the proposal's upgrades (checksummed) → its EIP-1967 implementation. */
  implementations: Record<string, string>;
  /** The same proxies → `version()`, or null when it does not answer. */
  versions: Record<string, string | null>;
  commitments: CommitmentsObservation;
}

const VERSION = new Interface(["function version() view returns (string)"]);

function proxiesOf(known: Known, proposal: ProposalFile): string[] {
  const proxies = new Set(known.proxies.map((proxy) => proxy.address));
  for (const upgrade of proposal.upgrades) proxies.add(getAddress(upgrade.proxy));
  return [...proxies].sort();
}

/**
 * Reads the chain at its latest block (installing Multicall3 first on a development chain, so
 * that state reads go in pages of calls). Call it before proposing and after executing.
 */
export async function observe(input: CheckInput): Promise<Observation> {
  const { provider, proposal, record } = input;
  const multicall = await multicallAvailable(provider);
  const block = await provider.getBlockNumber();
  const known = knownContracts(record);
  const implementations: Record<string, string> = {};
  const versions: Record<string, string | null> = {};
  for (const proxy of proxiesOf(known, proposal)) {
    implementations[proxy] = await implementationOf(provider, proxy, block);
    try {
      const data = await provider.call({ to: proxy, data: VERSION.encodeFunctionData("version"), blockTag: block });
      versions[proxy] = VERSION.decodeFunctionResult("version", data)[0] as string;
    } catch {
      versions[proxy] = null;
    }
  }
  return { block, implementations, versions, commitments: await observeCommitments(provider, known, block, multicall) };
}

/** Runs `check`; a check that cannot finish fails with what stopped it (it verified nothing). */
async function guarded(
  id: string,
  title: string,
  check: () => Promise<CheckResult> | CheckResult,
): Promise<CheckResult> {
  try {
    return await check();
  } catch (error) {
    return { id, title, status: "fail", details: [`The check could not run: ${errorMessage(error)}`] };
  }
}

/**
 * Every check, in a fixed order (implementations, versions, commitments, permissions, balances,
 * events), and the execution's events decoded.
 */
export async function runChecks(
  input: CheckInput & { before: Observation; after: Observation; execution: TransactionReceipt },
): Promise<{ checks: CheckResult[]; events: DecodedEvent[] }> {
  const { provider, proposal, record, before, after, execution } = input;
  const known = knownContracts(record);
  const logs = execution.logs;
  const events = decodeEvents(logs, known);
  const checks = [
    await guarded("implementations", "EIP-1967 implementations", async () => {
      const codeSizes: Record<string, number> = {};
      const probes = [];
      for (const upgrade of proposal.upgrades) {
        const implementation = getAddress(upgrade.implementation);
        codeSizes[implementation] = (await provider.getCode(implementation, after.block)).length / 2 - 1;
        if (codeSizes[implementation] > 0) probes.push(await probeInitialization(provider, upgrade, after.block));
      }
      return checkImplementations({
        proposal,
        known,
        before: before.implementations,
        after: after.implementations,
        codeSizes,
        probes,
      });
    }),
    await guarded("versions", "version()", () => checkVersions(proposal, known, before.versions, after.versions)),
    await guarded("commitments", "State commitments unchanged", () =>
      checkCommitments(proposal, known, before.commitments, after.commitments),
    ),
    await guarded("permissions", "Permissions", () => checkPermissions(provider, proposal, known, logs, after.block)),
    await guarded("balances", "Balances", () =>
      checkBalances(provider, proposal, known, logs, before.block, after.block),
    ),
    await guarded("events", "Events", () => checkEvents(proposal, events)),
  ];
  return { checks, events };
}

export type { CheckResult, DecodedEvent } from "../simulation.js";
