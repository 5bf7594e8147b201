import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Transaction, Wallet, getAddress, id } from "ethers";
import { CRASH_ENV, parseCrashPlan } from "../../lib/migration/crashPoints.js";
import type { JournalEntry } from "../../lib/migration/journal.js";

/**
 * The engine's test-only crash points: the variable's grammar, and a real SIGKILL at the n-th
 * journal write, after the temporary file is flushed and before the rename, in a child process:
 * the journal on disk is the one before that write, never a mix.
 */

const KEY = new Wallet(id("crash point key"));
const CONTRACT = getAddress("0x00000000000000000000000000000000c0ffee01");

/** Three signed batches, as the sender journals them. */
async function entries(): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for (let nonce = 0; nonce < 3; nonce++) {
    const rawTransaction = await KEY.signTransaction({
      type: 2,
      chainId: 31337,
      nonce,
      to: CONTRACT,
      data: "0x",
      gasLimit: 100_000n,
      maxFeePerGas: 2n,
      maxPriorityFeePerGas: 1n,
    });
    const txHash = Transaction.from(rawTransaction).hash as string;
    out.push({
      step: "jobs",
      contract: CONTRACT,
      cursor: nonce,
      size: 1,
      from: KEY.address,
      nonce,
      txHash,
      rawTransaction,
      sentAt: nonce,
    });
  }
  return out;
}

/** A program that records the entries one by one in a journal under `journalDir`. */
function childSource(journalDir: string, list: JournalEntry[]): string {
  const journal = JSON.stringify(pathToFileURL(path.resolve("lib/migration/journal.ts")).href);
  return `import { MigrationJournal } from ${journal};
async function main() {
  const journal = await MigrationJournal.open({ directory: ${JSON.stringify(journalDir)}, chainId: 31337, contract: ${JSON.stringify(CONTRACT)} });
  for (const entry of ${JSON.stringify(list)}) {
    await journal.record(entry);
    console.log("recorded", entry.nonce);
  }
}
void main();
`;
}

describe("reliability: crash points", function () {
  this.timeout(60_000);

  it("parses <point>:<n> and refuses anything else", () => {
    expect(parseCrashPlan(undefined)).to.equal(undefined);
    expect(parseCrashPlan("")).to.equal(undefined);
    expect(parseCrashPlan("between-batches:3")).to.deep.equal({ point: "between-batches", occurrence: 3 });
    expect(parseCrashPlan("mid-journal-write:1")).to.deep.equal({ point: "mid-journal-write", occurrence: 1 });
    for (const bad of ["between-batches", "between-batches:0", "nowhere:1", "after-send-before-receipt:x"]) {
      expect(() => parseCrashPlan(bad), bad).to.throw(Error, `${CRASH_ENV}="${bad}" is not <point>:<n>`);
    }
  });

  it("mid-journal-write:2 kills the process between the flushed temporary file and the rename", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "crash-point-"));
    try {
      const script = path.join(dir, "child.ts");
      const journalDir = path.join(dir, "journal");
      await writeFile(script, childSource(journalDir, await entries()));
      const run = (env: Record<string, string>) =>
        spawnSync(process.execPath, ["--import", "tsx", script], {
          encoding: "utf8",
          env: { ...process.env, ...env },
        });
      const killed = run({ [CRASH_ENV]: "mid-journal-write:2" });
      expect(killed.signal, killed.stderr).to.equal("SIGKILL");
      expect(killed.stdout).to.equal("recorded 0\n");
      const chainDir = path.join(journalDir, "31337");
      const files = await readdir(chainDir);
      // The journal holds the first entry only; the second write is a temporary file left behind.
      const journalFile = path.join(chainDir, `${CONTRACT}.json`);
      const journal = JSON.parse(await readFile(journalFile, "utf8")) as { entries: { nonce: number }[] };
      expect(journal.entries.map((e) => e.nonce)).to.deep.equal([0]);
      const temporary = files.filter((f) => f.endsWith(".tmp"));
      expect(temporary).to.have.length(1);
      const pending = JSON.parse(await readFile(path.join(chainDir, temporary[0]!), "utf8")) as {
        entries: { nonce: number }[];
      };
      expect(pending.entries.map((e) => e.nonce)).to.deep.equal([0, 1]);

      // Without the variable the same program runs to its end (the hook is a no-op); the journal
      // left by the crash opens normally.
      await rm(journalDir, { recursive: true });
      const clean = run({ [CRASH_ENV]: "" });
      expect(clean.status, clean.stderr).to.equal(0);
      expect(clean.stdout).to.equal("recorded 0\nrecorded 1\nrecorded 2\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
