import { spawn } from "node:child_process";
import path from "node:path";

/**
 * The contracts family: the Solidity invariant suites (V1's own, and the migration window over
 * V1, V1.1 and V2 together) as one longer campaign, through Hardhat's `campaign` test profile
 * (hardhat.config.ts). CI's `npx hardhat test` runs the same suites with the default profile, so
 * quick mode leaves them to it.
 */

/** The default profile's invariant budget (CI). */
export const INVARIANT_DEFAULT = { runs: 64, depth: 32 } as const;
/** The campaign's: issue 10 asks for at least 10,000 runs × depth 50 per invariant. */
export const INVARIANT_CAMPAIGN = { runs: 10_000, depth: 50 } as const;
export const CAMPAIGN_PROFILE = "campaign";
export const INVARIANT_SUITES = [
  "test/V1Invariants.t.sol",
  "test/MigrationInvariants.t.sol",
  "test/LifecycleInvariants.t.sol",
] as const;

export interface ContractsResult {
  profile: string;
  runs: number;
  depth: number;
  /** Test functions (invariants and the fuzz tests beside them) that passed and failed. */
  passed: number;
  failed: number;
  ok: boolean;
  ms: number;
  /** The last lines of the output when it failed. */
  tail?: string;
}

/** `passing`/`failing` counts from Hardhat's test output. */
export function countsOf(output: string): { passed: number; failed: number } {
  const plain = output.replace(/\u001b\[[0-9;]*m/g, "");
  const passed = Number(/(\d+) passing/.exec(plain)?.[1] ?? 0);
  const failed = Number(/(\d+) failing/.exec(plain)?.[1] ?? 0);
  return { passed, failed };
}

export function runContractCampaign(
  root: string,
  profile: string = CAMPAIGN_PROFILE,
  suites: readonly string[] = INVARIANT_SUITES,
): Promise<ContractsResult> {
  const cli = path.join(root, "node_modules", "hardhat", "dist", "src", "cli.js");
  const budget = profile === CAMPAIGN_PROFILE ? INVARIANT_CAMPAIGN : INVARIANT_DEFAULT;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [cli, "test", "solidity", "--test-profile", profile, "--no-compile", ...suites],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      const { passed, failed } = countsOf(output);
      const ok = code === 0 && failed === 0 && passed > 0;
      resolve({
        profile,
        ...budget,
        passed,
        failed,
        ok,
        ms: performance.now() - started,
        ...(ok ? {} : { tail: output.trim().split("\n").slice(-15).join("\n") }),
      });
    });
  });
}
