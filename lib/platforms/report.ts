/** What `platform:import` and `platform:history` print for a person. */
import { formatUnits } from "ethers";
import type { JobRecord, JobRecordV3 } from "../store/records.js";
import type { ImportBundle, ModelSummary } from "./bundle.js";
import { resolveModel, type ModelMap } from "./models.js";
import type { LeftOut } from "./records.js";
import { parseRecordId } from "./records.js";
import { PLATFORMS, type PlatformName } from "./types.js";

function target(summary: Pick<ModelSummary, "mapping" | "target">): string {
  switch (summary.mapping) {
    case "mapped":
      return summary.target!;
    case "no-equivalent":
      return "(no Fabstir equivalent)";
    case "unknown":
      return "(unknown: not in the model map)";
    default:
      return "(the export names no model)";
  }
}

function eth(wei: string): string {
  return `${formatUnits(wei, 18)} ETH`;
}

export function conversionLine(bundle: ImportBundle): string {
  const c = bundle.conversion;
  if (c.kind === "rate") return `Rate: ${c.ethPerUsd} ETH per USD (--rate)`;
  return (
    `Rate: price feed ${c.address} (${c.description}) round ${c.roundId}: ${formatUnits(c.answer, c.decimals)} USD per ETH, ` +
    `updated at ${new Date(c.updatedAt * 1000).toISOString()} (${c.readAt - c.updatedAt} s before the latest block; max age ${c.maxAgeSeconds} s)` +
    (c.sequencer === undefined
      ? ""
      : `; L2 sequencer up since ${new Date(c.sequencer.startedAt * 1000).toISOString()} (feed ${c.sequencer.address}, grace ${c.sequencer.graceSeconds} s)`)
  );
}

/** The import report: per source model where its jobs went and what they cost, the totals and the credit plan. */
export function importReport(bundle: ImportBundle, leftOut: readonly LeftOut[]): string[] {
  const t = bundle.totals;
  const lines = [
    `Import of ${bundle.source.file} (${bundle.source.platform}, sha256 ${bundle.source.sha256}) for ${bundle.user}: ${t.jobs} job(s)`,
    conversionLine(bundle),
    "Models:",
  ];
  for (const m of bundle.models) {
    const unpriced = m.unpriced === 0 ? "" : `, ${m.unpriced} unpriced`;
    lines.push(
      `  ${m.source ?? "(none)"} → ${target(m)}: ${m.jobs} job(s), ${m.costUsd} USD = ${eth(m.costWei)}${unpriced}`,
    );
  }
  lines.push(
    `Mapped ${t.mapped}, no Fabstir equivalent ${t.noEquivalent}, unknown model ${t.unknown}, no model in the export ${t.unstated}`,
    `Priced ${t.priced} (from the export or the map's list prices), unpriced ${t.unpriced} (cost 0, no credit)`,
    `Total cost: ${t.costUsd} USD = ${eth(t.costWei)} (${t.costWei} wei, rounded down per job)`,
  );
  for (const job of leftOut) lines.push(`Left out of the store: ${job.id} (${job.reason})`);
  const c = bundle.credits;
  lines.push(
    `Credit plan: ${eth(c.amountWei)} (${c.bonusBps / 100}% of ${c.basisWei} wei) to ${c.user}, expires ${new Date(c.expiresAt * 1000).toISOString()}, grant id ${c.grantId}`,
    `Bundle digest: ${bundle.digest}`,
  );
  return lines;
}

export interface HistoryRow {
  time: string;
  platform: string;
  sourceModel: string;
  fabstirModel: string | null;
  mapping: string;
  status: string;
  costUsd: string | null;
  costWei: string;
  id: string;
}

/** A stored v3 record as a history row; the Fabstir model is the map's answer for its source model. */
export function historyRow(record: JobRecordV3, map: ModelMap): HistoryRow {
  const parsed = parseRecordId(record.id);
  const platform =
    parsed !== null && (PLATFORMS as readonly string[]).includes(parsed.platform) ? parsed.platform : "fabstir";
  let fabstirModel: string | null = record.model;
  let mapping = "native";
  if (platform !== "fabstir") {
    const resolution = resolveModel(map, platform as PlatformName, record.model);
    fabstirModel = resolution.kind === "mapped" ? resolution.target : null;
    mapping = resolution.kind;
  }
  return {
    time: record.metadata.createdAt,
    platform,
    sourceModel: record.model,
    fabstirModel,
    mapping,
    status: record.status,
    costUsd: record.payment.usdValue,
    costWei: record.payment.amount,
    id: record.id,
  };
}

export function isV3(record: JobRecord): record is JobRecordV3 {
  return "payment" in record;
}

export function historyTable(rows: readonly HistoryRow[]): string[] {
  const cells = rows.map((r) => [
    r.time,
    r.platform,
    `${r.sourceModel} → ${r.fabstirModel ?? target({ mapping: r.mapping as ModelSummary["mapping"], target: null })}`,
    r.status,
    `${r.costUsd ?? "unpriced"} USD`,
    `${r.costWei} wei`,
  ]);
  const header = ["time", "platform", "source model → Fabstir model", "status", "cost", "wei"];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)];
}
