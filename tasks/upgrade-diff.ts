import { existsSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import {
  DEFAULT_AUDIT,
  buildReview,
  checkAudit,
  defaultPairs,
  writeAudit,
  type ContractSource,
  type ReviewPair,
} from "../lib/review/audit.js";
import {
  BuildInfoError,
  ContractReferenceError,
  loadFromBuildInfo,
  loadProjectContract,
} from "../lib/review/compiled.js";
import { renderReviewsJson } from "../lib/review/report.js";
import { reviewStorage } from "../lib/review/storageDiff.js";

interface UpgradeDiffArguments {
  from: string;
  to: string;
  fromBuildInfo: string;
  toBuildInfo: string;
  out: string;
  json: boolean;
  check: boolean;
}

/** A mistake in the command line: reported as one line, not a stack trace. */
class UpgradeDiffInputError extends Error {}

/** The command that regenerates what these arguments review (quoted by the index and by --check). */
function commandOf(args: UpgradeDiffArguments, out: string): string {
  const parts = ["npx hardhat upgrade:diff"];
  if (args.from !== "") parts.push(`--from ${args.from}`, `--to ${args.to}`);
  if (args.fromBuildInfo !== "") parts.push(`--from-build-info ${args.fromBuildInfo}`);
  if (args.toBuildInfo !== "") parts.push(`--to-build-info ${args.toBuildInfo}`);
  if (args.out !== "" || args.from !== "") parts.push(`--out ${out}`);
  return parts.join(" ");
}

function pairsOf(args: UpgradeDiffArguments, root: string): { pairs: ReviewPair[]; out: string } {
  if ((args.from === "") !== (args.to === "")) {
    throw new UpgradeDiffInputError("Give both --from and --to, or neither (to review the default V1 → V2 set).");
  }
  if (args.from === "") {
    if (args.fromBuildInfo !== "" || args.toBuildInfo !== "") {
      throw new UpgradeDiffInputError("--from-build-info and --to-build-info need --from and --to.");
    }
    return {
      pairs: defaultPairs((sourceName) => existsSync(path.join(root, sourceName))),
      out: args.out !== "" ? args.out : DEFAULT_AUDIT,
    };
  }
  const side = (ref: string, buildInfo: string): ContractSource =>
    buildInfo === "" ? { fqn: ref } : { fqn: ref, buildInfo };
  const name = (ref: string) => ref.slice(ref.lastIndexOf(":") + 1);
  return {
    pairs: [{ before: side(args.from, args.fromBuildInfo), after: side(args.to, args.toBuildInfo) }],
    out: args.out !== "" ? args.out : `audits/${name(args.from)}-to-${name(args.to)}`,
  };
}

export default async function upgradeDiffAction(
  args: UpgradeDiffArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  const root = hre.config.paths.root;
  try {
    const { pairs, out } = pairsOf(args, root);
    // Reviews read the build: bring it up to date first (a no-op when nothing changed). Test
    // sources are built too only when a project reference points into test/ (fixture pairs).
    const needsTests = pairs.some((pair) =>
      [pair.before, pair.after].some((side) => side.buildInfo === undefined && side.fqn.startsWith("test/")),
    );
    await hre.tasks.getTask("build").run({ quiet: true, noTests: !needsTests });
    const artifacts = hre.config.paths.artifacts;
    const reviews = await buildReview(
      pairs,
      {
        load: (source) =>
          source.buildInfo === undefined
            ? loadProjectContract(artifacts, source.fqn)
            : loadFromBuildInfo(path.resolve(root, source.buildInfo), source.fqn),
        reviewStorage,
      },
      root,
    );
    const dir = path.resolve(root, out);
    const command = commandOf(args, out);
    const options = { title: path.basename(dir), command, root };
    if (args.check) {
      const drift = await checkAudit(dir, reviews, options);
      if (drift.length === 0) {
        console.log(`${out}: up to date (${reviews.length} reviews).`);
        return;
      }
      for (const { file, problem } of drift) console.error(`${problem}: ${path.join(out, file)}`);
      console.error(`${out} is out of date: run \`${command}\` and commit the result.`);
      process.exitCode = 1;
      return;
    }
    if (args.json) {
      process.stdout.write(renderReviewsJson(reviews));
      return;
    }
    const result = await writeAudit(dir, reviews, options);
    for (const file of result.written) console.log(`wrote ${path.join(out, file)}`);
    for (const file of result.removed) console.log(`removed ${path.join(out, file)}`);
    console.log(`${out}: ${result.written.length} written, ${result.unchanged.length} unchanged.`);
  } catch (error) {
    if (
      error instanceof UpgradeDiffInputError ||
      error instanceof ContractReferenceError ||
      error instanceof BuildInfoError
    ) {
      console.error(`Error: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}
