import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import hre from "hardhat";

/** A real anvil node (from @foundry-rs/anvil) on a free loopback port, for end-to-end tests. */
export interface AnvilNode {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export async function startAnvil(extraArgs: string[] = []): Promise<AnvilNode> {
  const port = await freePort();
  const binary = path.join(process.cwd(), "node_modules", ".bin", "anvil");
  // Coverage instruments the bytecode past EIP-170's 24,576 bytes; real builds stay below it
  // (test/UpgradeSafety.ts checks), so only instrumented runs lift anvil's limit.
  const coverageArgs = hre.globalOptions.coverage === true ? ["--disable-code-size-limit"] : [];
  const args = ["--host", "127.0.0.1", "--port", String(port), ...coverageArgs, ...extraArgs];
  const child: ChildProcess = spawn(binary, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("anvil did not start within 20 s")), 20_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("Listening on")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
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
