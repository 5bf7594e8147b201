import { request as httpRequest } from "node:http";
import path from "node:path";
import type { CopyStep, MigrationEvent, MigrationReporter } from "../../lib/migration/events.js";
import type { MigrationDriver } from "../../lib/dashboard/session.js";

/** The page's directory in the repository. */
export const STATIC_DIR = path.join(process.cwd(), "dashboard");

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): unknown;
}

/** A plain HTTP request (node:http, so Host, Origin and Sec-Fetch-Site can be set as a browser or an attacker would). */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as unknown });
      });
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/**
 * A migration driver that reports what the engine reports for `batches` batches of one record
 * each in the nodes step, awaiting the session's gate before each (as the engine's copy loop
 * does), then a verify step. It exercises the server and the session, not the chain (the engine
 * with its real gate is test/dashboard/EngineControl.ts).
 */
export function scriptedDriver(batches: number): MigrationDriver & { sent: number; rollbacks: number } {
  const driver = {
    sent: 0,
    rollbacks: 0,
    async run(reporter: MigrationReporter, beforeBatch: (step: CopyStep, cursor: number) => Promise<void>) {
      let at = 1_000;
      const emit = (event: MigrationEvent) => reporter(event);
      emit({ type: "step-started", at: at++, step: "nodes", total: batches, unit: "nodes" });
      for (let cursor = 0; cursor < batches; cursor++) {
        await beforeBatch("nodes", cursor);
        const txHash = `0x${(cursor + 1).toString(16).padStart(64, "0")}`;
        driver.sent++;
        emit({ type: "batch-sent", at: at++, step: "nodes", start: cursor, size: 1, txHash, nonce: cursor });
        emit({
          type: "batch-confirmed",
          at: at++,
          step: "nodes",
          start: cursor,
          size: 1,
          txHash,
          blockNumber: cursor + 1,
          gasUsed: "100000",
          l1FeeWei: "0",
        });
        emit({ type: "progress", at: at++, step: "nodes", done: cursor + 1, total: batches });
      }
      emit({ type: "step-finished", at: at++, step: "nodes", summary: {} });
    },
    async rollback(reporter: MigrationReporter) {
      driver.rollbacks++;
      reporter({ type: "step-started", at: 5_000, step: "rollback", total: 0, unit: "batches" });
      reporter({ type: "step-finished", at: 5_001, step: "rollback", summary: {} });
    },
  };
  return driver;
}

/** Resolves once `check()` holds, polling every 10 ms; fails after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
