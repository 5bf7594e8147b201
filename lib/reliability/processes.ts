import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";

/**
 * The processes a trial runs: an anvil node on a free loopback port, and `npx hardhat <task>` as
 * a child process, exactly as an operator runs it, optionally killed with SIGKILL.
 */

export interface AnvilNode {
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
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

/** Starts `node_modules/.bin/anvil` of `root` on 127.0.0.1. */
export async function startAnvil(root: string, extraArgs: readonly string[] = []): Promise<AnvilNode> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    path.join(root, "node_modules", ".bin", "anvil"),
    ["--host", "127.0.0.1", "--port", String(port), ...extraArgs],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
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
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export interface TaskRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** The harness killed it (a random-time crash), rather than the process itself. */
  killedByHarness: boolean;
}

export interface TaskRunOptions {
  root: string;
  /** The node the child talks to (`--network localhost`, MIGRATION_RPC_URL). */
  rpcUrl: string;
  args: readonly string[];
  env?: Record<string, string>;
  /** SIGKILL the child this long after its first line of output (the migration has begun). */
  killAfterMs?: number;
}

/** Runs `hardhat <args> --network localhost` with this Node, as a child process. */
export function runHardhatTask(options: TaskRunOptions): Promise<TaskRun> {
  const cli = path.join(options.root, "node_modules", "hardhat", "dist", "src", "cli.js");
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...options.args, "--network", "localhost"], {
      cwd: options.root,
      env: { ...process.env, ...options.env, MIGRATION_RPC_URL: options.rpcUrl },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    let killedByHarness = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (stdout === "" && options.killAfterMs !== undefined) {
        timer = setTimeout(() => {
          killedByHarness = true;
          child.kill("SIGKILL");
        }, options.killAfterMs);
      }
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, killedByHarness });
    });
  });
}

/** The `--json` lines of a run (a killed run's last line may be cut: it is skipped). */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stdout.split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the kill
    }
  }
  return out;
}
