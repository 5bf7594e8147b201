import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";

/**
 * A real anvil node (from @foundry-rs/anvil) on a free loopback port: the independent JSON-RPC
 * node of the end-to-end tests and the reliability trials.
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
