import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { apiKind } from "./api.js";
import { runHostileKind, type HostileKind, type HostileResult } from "./core.js";
import { journalKind, validJournal } from "./journal.js";
import { optionsKind } from "./options.js";
import { bundleKind, exportKind, modelMapKind, platformSamples } from "./platforms.js";
import { proposalKind, validProposal } from "./proposal.js";
import { snapshotKind, validSnapshotLines } from "./snapshot.js";
import { schemaMigrateKind, storeInsertKind } from "./store.js";
import { storeFileKind } from "./storeFile.js";

export type { HostileResult } from "./core.js";

/** Every input kind of the hostile family, built from valid samples (`root`: the checkout, for fixtures). */
export async function hostileKinds(root: string): Promise<HostileKind<never>[]> {
  const work = await mkdtemp(path.join(os.tmpdir(), "fabstir-hostile-samples-"));
  try {
    const platforms = platformSamples(root);
    const kinds: HostileKind<never>[] = [
      snapshotKind(await validSnapshotLines(work)),
      journalKind(await validJournal()),
      modelMapKind(platforms),
      exportKind(platforms, "openai"),
      exportKind(platforms, "replicate"),
      exportKind(platforms, "huggingface"),
      bundleKind(platforms),
      proposalKind(validProposal()),
      apiKind(),
      storeInsertKind(),
      schemaMigrateKind(),
      storeFileKind(),
      optionsKind(),
    ] as unknown as HostileKind<never>[];
    return kinds;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Runs `cases` hostile inputs per kind (all kinds, or those named in `only`). */
export async function runHostile(
  root: string,
  cases: number,
  seed: string,
  log: (line: string) => void = () => {},
  only?: readonly string[],
): Promise<HostileResult[]> {
  const results: HostileResult[] = [];
  for (const kind of await hostileKinds(root)) {
    if (only !== undefined && !only.includes(kind.name)) continue;
    const result = await runHostileKind(kind, cases, seed);
    log(
      `  hostile ${kind.name}: ${result.passed}/${result.cases} passed (${(result.ms / 1000).toFixed(1)} s)${result.counterexample ? `; FAILED: ${result.counterexample.error} on ${result.counterexample.input}` : ""}`,
    );
    results.push(result);
  }
  return results;
}
