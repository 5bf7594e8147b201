import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

/**
 * The processes a trial runs besides its anvil node (lib/anvil.ts): `npx hardhat <task>` as a child
 * process, exactly as an operator runs it, optionally killed with SIGKILL.
 */

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
  /** Each complete `--json` line as it arrives (a trial acting on the engine's events). */
  onLine?: (line: Record<string, unknown>) => void;
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
      const before = stdout.length;
      stdout += chunk.toString();
      if (options.onLine !== undefined) {
        // The lines this chunk completed (a line may span chunks).
        const start = stdout.lastIndexOf("\n", before - 1) + 1;
        const end = stdout.lastIndexOf("\n");
        if (end >= start) for (const line of jsonLines(stdout.slice(start, end))) options.onLine(line);
      }
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
