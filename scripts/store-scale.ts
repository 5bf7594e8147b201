// Measures the off-chain store at scale (lib/store/): builds a store of N job records, then times
// `openStore` and `schema:migrate` steps on it and reports the process's peak RSS. One action per
// process, so that the peak RSS is that action's own.
//
//   npx tsx scripts/store-scale.ts create <file> <jobs>
//   npx tsx scripts/store-scale.ts open <file> [--read-only] [--full-check] [--repeat N]
//   npx tsx scripts/store-scale.ts migrate <file> <to> [--dry-run] [--page-size N]
import { existsSync, rmSync, statSync } from "node:fs";
import { resourceUsage } from "node:process";
import { openStore, type OpenStoreOptions } from "../lib/store/database.js";
import { insertJobs } from "../lib/store/jobs.js";
import { migrateTo, type MigrateOptions } from "../lib/store/migrate.js";
import type { JobRecordV3 } from "../lib/store/records.js";

const [action, file, arg] = process.argv.slice(2);
const flags = process.argv.slice(2);
function flag(name: string): string | undefined {
  const at = flags.indexOf(name);
  return at === -1 ? undefined : flags[at + 1];
}

/** Job `i`: 500 users, one in ten priced (so a down migration retains its v3 record). */
function job(i: number): JobRecordV3 {
  const user = `0x${(i % 500).toString(16).padStart(40, "0")}`;
  const createdAt = new Date(Date.UTC(2023, 0, 1) + i * 60_000).toISOString();
  return {
    id: `openai/${user}/request-${i.toString().padStart(7, "0")}`,
    user,
    model: "llama-3.1-8b-instruct",
    promptHash: `0x${(i % 256).toString(16).padStart(2, "0").repeat(32)}`,
    status: "completed",
    payment: {
      amount: (1_000_000_000_000n + BigInt(i)).toString(),
      token: "ETH",
      usdValue: i % 10 === 0 ? "0.25" : null,
    },
    metadata: { createdAt, updatedAt: createdAt, schemaVersion: 3 },
  };
}

/** Wall time, the process's CPU time so far (less sensitive than wall time to a loaded machine) and peak RSS. */
function report(what: string, ms: number): void {
  const usage = resourceUsage();
  const cpu = (usage.userCPUTime + usage.systemCPUTime) / 1000;
  console.log(
    `${what}: ${ms.toFixed(1)} ms, process CPU ${cpu.toFixed(0)} ms, peak RSS ${(usage.maxRSS / 1024).toFixed(0)} MiB`,
  );
}

if (action === "create" && file !== undefined && arg !== undefined) {
  const jobs = Number(arg);
  for (const suffix of ["", "-wal", "-shm"]) if (existsSync(file + suffix)) rmSync(file + suffix);
  const start = performance.now();
  const db = openStore(file);
  migrateTo(db, 3);
  for (let from = 0; from < jobs; from += 10_000) {
    insertJobs(
      db,
      Array.from({ length: Math.min(10_000, jobs - from) }, (_, k) => job(from + k)),
    );
  }
  db.close();
  report(
    `created ${file} with ${jobs} jobs (${(statSync(file).size / 2 ** 20).toFixed(1)} MiB)`,
    performance.now() - start,
  );
} else if (action === "open" && file !== undefined) {
  const options: OpenStoreOptions = { readOnly: flags.includes("--read-only") };
  if (flags.includes("--full-check")) options.fullCheck = true;
  const repeat = Number(flag("--repeat") ?? "1");
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    openStore(file, options).close();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  report(
    `openStore ${options.readOnly ? "read-only" : "read-write"}${flags.includes("--full-check") ? " full check" : ""} (median of ${repeat})`,
    times[Math.floor(times.length / 2)]!,
  );
} else if (action === "migrate" && file !== undefined && arg !== undefined) {
  const dryRun = flags.includes("--dry-run");
  const options: MigrateOptions = { dryRun };
  const pageSize = flag("--page-size");
  if (pageSize !== undefined) options.pageSize = Number(pageSize);
  const db = openStore(file, { readOnly: dryRun });
  const start = performance.now();
  const result = migrateTo(db, Number(arg), options);
  const ms = performance.now() - start;
  db.close();
  report(`migrateTo ${result.from} → ${result.to}${dryRun ? " (dry run)" : ""}`, ms);
} else {
  console.error(
    "usage: store-scale.ts create <file> <jobs> | open <file> [--read-only] [--full-check] [--repeat N] | migrate <file> <to> [--dry-run] [--page-size N]",
  );
  process.exitCode = 2;
}
