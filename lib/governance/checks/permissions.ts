import { Interface, getAddress, type Log, type Provider } from "ethers";
import { GOVERNING_ROLES, roleId, roleName, type RoleName } from "../abis.js";
import type { CheckResult } from "../simulation.js";
import type { ProposalFile } from "../types.js";
import { deploymentBlock, label, pagedLogs, type Known } from "./chain.js";

/**
 * The permission diff of the execution (roles granted, revoked and re-administered, by name)
 * and the invariant after it: on every proxy of the record the governing roles are held by the
 * timelock and by no one else, and the timelock administers itself alone.
 */

const ACCESS_CONTROL = new Interface([
  "event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole)",
  "function hasRole(bytes32 role, address account) view returns (bool)",
]);
const GRANTED = ACCESS_CONTROL.getEvent("RoleGranted")!.topicHash;
const REVOKED = ACCESS_CONTROL.getEvent("RoleRevoked")!.topicHash;
const ADMIN_CHANGED = ACCESS_CONTROL.getEvent("RoleAdminChanged")!.topicHash;

/** One role change in the execution. */
export interface RoleChange {
  contract: string;
  change: "granted" | "revoked" | "admin changed";
  role: string;
  /** The account (grants and revocations) or the new admin role. */
  subject: string;
}

/** The execution's role changes, in log order. */
export function roleChanges(logs: readonly Log[], known: Known): RoleChange[] {
  const changes: RoleChange[] = [];
  for (const log of logs) {
    const topic = log.topics[0];
    if (topic !== GRANTED && topic !== REVOKED && topic !== ADMIN_CHANGED) continue;
    const parsed = ACCESS_CONTROL.parseLog(log)!;
    const contract = label(known, log.address);
    if (topic === ADMIN_CHANGED) {
      changes.push({
        contract,
        change: "admin changed",
        role: roleName(parsed.args.role),
        subject: `${roleName(parsed.args.previousAdminRole)} → ${roleName(parsed.args.newAdminRole)}`,
      });
    } else {
      changes.push({
        contract,
        change: topic === GRANTED ? "granted" : "revoked",
        role: roleName(parsed.args.role),
        subject: label(known, parsed.args.account),
      });
    }
  }
  return changes;
}

/**
 * The holders of `roles` on `contract` at `block`: every account its RoleGranted history names
 * (since its deployment, in pages), kept when `hasRole` still says so at the block.
 */
export async function roleHolders(
  provider: Provider,
  contract: string,
  roles: readonly RoleName[],
  block: number,
): Promise<Record<string, string[]>> {
  const ids = roles.map(roleId);
  const from = await deploymentBlock(provider, contract, block);
  const logs = await pagedLogs(provider, { address: contract, topics: [GRANTED, ids] }, from, block);
  const holders: Record<string, string[]> = {};
  for (const role of roles) {
    const candidates = new Set<string>();
    for (const log of logs) {
      if (log.topics[1] === roleId(role)) candidates.add(getAddress(`0x${log.topics[2]!.slice(-40)}`));
    }
    const held: string[] = [];
    for (const account of [...candidates].sort()) {
      const data = ACCESS_CONTROL.encodeFunctionData("hasRole", [roleId(role), account]);
      const [has] = ACCESS_CONTROL.decodeFunctionResult(
        "hasRole",
        await provider.call({ to: contract, data, blockTag: block }),
      );
      if (has === true) held.push(account);
    }
    holders[role] = held;
  }
  return holders;
}

export async function checkPermissions(
  provider: Provider,
  proposal: ProposalFile,
  known: Known,
  logs: readonly Log[],
  block: number,
): Promise<CheckResult> {
  const details: string[] = [];
  let failed = false;
  const changes = roleChanges(logs, known);
  for (const change of changes) {
    details.push(
      change.change === "admin changed"
        ? `${change.contract}: admin of ${change.role} changed ${change.subject}.`
        : `${change.contract}: ${change.role} ${change.change} ${change.change === "granted" ? "to" : "from"} ${change.subject}.`,
    );
  }
  if (changes.length === 0) details.push("The execution granted and revoked no role.");

  const timelock = getAddress(proposal.timelock);
  const hasCode = new Map<string, boolean>();
  const codeAt = async (account: string) => {
    if (!hasCode.has(account)) hasCode.set(account, (await provider.getCode(account, block)) !== "0x");
    return hasCode.get(account)!;
  };
  const holdersAfter: Record<string, Record<string, string[]>> = {};
  const expectOnlyTimelock = async (contract: string, roles: readonly RoleName[]) => {
    const name = label(known, contract);
    const holders = await roleHolders(provider, contract, roles, block);
    holdersAfter[name] = holders;
    for (const role of roles) {
      const held = holders[role]!;
      const others = held.filter((account) => account !== timelock);
      if (!held.includes(timelock)) {
        failed = true;
        details.push(`${name}: the timelock does not hold ${role}.`);
      }
      for (const account of others) {
        failed = true;
        const kind = (await codeAt(account)) ? "a contract" : "an account without code";
        details.push(`${name}: ${role} is held by ${label(known, account)} (${kind}), not only by the timelock.`);
      }
    }
  };
  for (const proxy of known.proxies) await expectOnlyTimelock(proxy.address, GOVERNING_ROLES);
  await expectOnlyTimelock(timelock, ["DEFAULT_ADMIN_ROLE"]);
  if (!failed) {
    details.push(
      `Invariant: on ${known.proxies.length} proxies ${GOVERNING_ROLES.join(", ")} are held by the timelock alone; ` +
        `the timelock's DEFAULT_ADMIN_ROLE by itself alone.`,
    );
  }
  return {
    id: "permissions",
    title: "Permissions",
    status: failed ? "fail" : "pass",
    details,
    data: { changes, holders: holdersAfter },
  };
}
