import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import hre from "hardhat";
import { startAnvil as startAnvilNode, type AnvilNode } from "../../lib/anvil.js";

export type { AnvilNode } from "../../lib/anvil.js";

/** A real anvil node on a free loopback port, for end-to-end tests. */
export async function startAnvil(extraArgs: string[] = []): Promise<AnvilNode> {
  // Coverage instruments the bytecode past EIP-170's 24,576 bytes; real builds stay below it
  // (test/UpgradeSafety.ts checks), so only instrumented runs lift anvil's limit.
  const coverageArgs = hre.globalOptions.coverage === true ? ["--disable-code-size-limit"] : [];
  return startAnvilNode(process.cwd(), [...coverageArgs, ...extraArgs]);
}

/** The Hardhat CLI of this checkout, run with this Node: the tasks exactly as an operator runs them. */
const HARDHAT_CLI = path.join(process.cwd(), "node_modules", "hardhat", "dist", "src", "cli.js");

export interface TaskRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npx hardhat <args> --network localhost` against the node at `url`, as a child process. */
export function runTask(url: string, args: string[]): Promise<TaskRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HARDHAT_CLI, ...args, "--network", "localhost"], {
      env: { ...process.env, MIGRATION_RPC_URL: url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
