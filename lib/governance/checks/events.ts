import { getAddress, type Log } from "ethers";
import { decodeLog } from "../abis.js";
import type { CheckResult, DecodedEvent } from "../simulation.js";
import type { ProposalFile } from "../types.js";
import { label, type Known } from "./chain.js";

/**
 * Every log of the execution, decoded with the ABIs of the project's contracts (OpenZeppelin's
 * governance, access-control, proxy and token events among them) and named by the record. A log
 * no known ABI decodes is listed as unknown; the check fails only when the Governor did not
 * report the proposal executed.
 */

export function decodeEvents(logs: readonly Log[], known: Known): DecodedEvent[] {
  return logs.map((log) => {
    const decoded = decodeLog(log);
    return {
      address: getAddress(log.address),
      contract: label(known, log.address),
      signature: decoded?.signature ?? null,
      args: decoded?.args ?? { topics: log.topics.slice(1), data: log.data },
      topic0: log.topics[0] ?? "",
    };
  });
}

export function checkEvents(proposal: ProposalFile, events: readonly DecodedEvent[]): CheckResult {
  const governor = getAddress(proposal.governor);
  const executed = events.some(
    (event) =>
      event.address === governor &&
      event.signature === "ProposalExecuted(uint256)" &&
      event.args.proposalId === proposal.proposalId,
  );
  const unknown = events.filter((event) => event.signature === null);
  const counts = new Map<string, number>();
  for (const event of events) {
    const key = `${event.contract} ${event.signature ?? `unknown ${event.topic0}`}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const details = [...counts].map(([key, count]) => (count === 1 ? key : `${key} ×${count}`));
  details.push(
    executed
      ? `The Governor emitted ProposalExecuted(${proposal.proposalId}).`
      : `The Governor ${governor} emitted no ProposalExecuted(${proposal.proposalId}): the proposal did not execute.`,
  );
  if (unknown.length > 0) details.push(`${unknown.length} log(s) no known ABI decodes (listed as unknown).`);
  return {
    id: "events",
    title: "Events",
    status: executed ? "pass" : "fail",
    details,
    data: { count: events.length, unknown: unknown.length },
  };
}
