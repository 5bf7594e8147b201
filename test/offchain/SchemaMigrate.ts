import { expect } from "chai";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath, pathToFileURL } from "node:url";
import { canonicalJson } from "../../lib/store/canonical.js";
import { appliedMigrations, openStore, STORE_APPLICATION_ID, storeVersion } from "../../lib/store/database.js";
import { StoreError } from "../../lib/store/errors.js";
import { insertJobs, jobsOfUser } from "../../lib/store/jobs.js";
import { migrateRecord, migrateTo, parseTargetVersion, storeStatus } from "../../lib/store/migrate.js";
import { LATEST_VERSION, MIGRATIONS, withChecksum, type Migration } from "../../lib/store/migrations/index.js";
import type { JobRecordV1, JobRecordV2, JobRecordV3 } from "../../lib/store/records.js";
import { runTaskCapturing } from "../helpers/taskOutput.js";

const ALICE = "0x00000000000000000000000000000000000a11ce";
const BOB = "0x000000000000000000000000000000000000B0B0";
const HASH = `0x${"ab".repeat(32)}`;
const USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";

function v1(id: string, overrides: Partial<JobRecordV1> = {}): JobRecordV1 {
  return {
    id,
    user: ALICE,
    model: "llama-3-8b",
    prompt_hash: HASH,
    created: 1_700_000_000 + Number(id.replace(/\D/g, "") || 0),
    cost_wei: "1000000000000000",
    status: "completed",
    ...overrides,
  };
}

const SAMPLE: JobRecordV1[] = [
  v1("job-1"),
  v1("job-2", { user: BOB, status: "failed", cost_wei: "0" }),
  v1("job-3", { created: 0, cost_wei: (2n ** 256n - 1n).toString() }),
  v1("job-4", { status: "pending", model: "mixtral ✓ 8x7b" }),
];

let dir: string;
let counter = 0;
/** A new store file path in the test's temp directory. */
function freshPath(): string {
  return path.join(dir, `nested-${++counter}`, "store.db");
}

function rowsOf(db: DatabaseSync): { id: string; record: string }[] {
  return db.prepare("SELECT id, record FROM jobs ORDER BY id").all() as { id: string; record: string }[];
}

/** A store at version 1 holding SAMPLE. */
function v1Store(file = freshPath()): DatabaseSync {
  const db = openStore(file);
  migrateTo(db, 1);
  insertJobs(db, SAMPLE);
  return db;
}

/** Everything on disk about a store: its files' bytes (main, WAL, shm). */
function filesOf(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(path.dirname(file)).filter((n) => n.startsWith(path.basename(file)))) {
    out[name] = createHash("sha256")
      .update(readFileSync(path.join(path.dirname(file), name)))
      .digest("hex");
  }
  return out;
}

function errorOf(body: () => unknown): Error {
  try {
    body();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

function storeErrorOf(body: () => unknown): string {
  const error = errorOf(body);
  expect(error).to.be.instanceOf(StoreError);
  return error.message;
}

/** MIGRATIONS with migration `version` replaced by `change(original)`. */
function replacing(version: number, change: (m: Migration) => Migration): Migration[] {
  return MIGRATIONS.map((m) => (m.version === version ? change(m) : m));
}

describe("schema migrations of the off-chain store", function () {
  before(function () {
    dir = mkdtempSync(path.join(tmpdir(), "fabstir-store-"));
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  describe("the store file", function () {
    it("creates its directory and a WAL-mode store at version 0 marked as a Fabstir store", function () {
      const file = freshPath();
      const db = openStore(file);
      try {
        expect(existsSync(file)).to.equal(true);
        expect((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).to.equal("wal");
        expect((db.prepare("PRAGMA application_id").get() as { application_id: number }).application_id).to.equal(
          STORE_APPLICATION_ID,
        );
        expect(storeVersion(db)).to.equal(0);
        expect(appliedMigrations(db)).to.deep.equal([]);
      } finally {
        db.close();
      }
      // Reopening finds the store it made.
      const again = openStore(file);
      expect(storeVersion(again)).to.equal(0);
      again.close();
    });

    it("refuses a file that is not a Fabstir store and leaves it untouched", function () {
      const text = path.join(dir, "notes.txt");
      writeFileSync(text, "these are not job records\n".repeat(10));
      expect(storeErrorOf(() => openStore(text))).to.equal(
        `${text} is not a Fabstir store (not an SQLite database); pass another --store path`,
      );
      expect(readFileSync(text, "utf8")).to.equal("these are not job records\n".repeat(10));

      const foreign = path.join(dir, "other-app.db");
      const other = new DatabaseSync(foreign);
      other.exec("CREATE TABLE jobs (id TEXT)");
      other.close();
      const before = filesOf(foreign);
      expect(storeErrorOf(() => openStore(foreign))).to.equal(
        `${foreign} is an SQLite database but not a Fabstir store (application_id 0x0); pass another --store path`,
      );
      expect(filesOf(foreign)).to.deep.equal(before);
    });

    it("a read-only open of a missing store is refused", function () {
      const file = freshPath();
      expect(storeErrorOf(() => openStore(file, { readOnly: true }))).to.equal(`no store at ${file}`);
      expect(existsSync(path.dirname(file))).to.equal(false);
    });
  });

  describe("migrateTo", function () {
    it("goes up to 3 and down to 1 with byte-identical records, recording each version and checksum", function () {
      const db = v1Store();
      try {
        const before = rowsOf(db);
        expect(before.map((row) => row.record)).to.deep.equal(SAMPLE.map((r) => canonicalJson(r)));
        const up = migrateTo(db, 3, { now: () => new Date("2026-01-02T03:04:05.000Z") });
        expect(up.steps.map((s) => [s.direction, s.version, s.name, s.records])).to.deep.equal([
          ["up", 2, "metadata", 4],
          ["up", 3, "payment", 4],
        ]);
        expect(appliedMigrations(db)).to.deep.equal(
          MIGRATIONS.map((m, i) => ({
            version: m.version,
            name: m.name,
            checksum: m.checksum,
            applied_at: i === 0 ? appliedMigrations(db)[0]!.applied_at : "2026-01-02T03:04:05.000Z",
          })),
        );
        const job1 = JSON.parse(rowsOf(db)[0]!.record) as JobRecordV3;
        expect(job1).to.deep.equal({
          id: "job-1",
          user: ALICE,
          model: "llama-3-8b",
          promptHash: HASH,
          status: "completed",
          payment: { amount: "1000000000000000", token: "ETH", usdValue: null },
          metadata: { createdAt: "2023-11-14T22:13:21.000Z", updatedAt: "2023-11-14T22:13:21.000Z", schemaVersion: 3 },
        });
        expect(rowsOf(db)[0]!.record).to.equal(canonicalJson(job1));

        const down = migrateTo(db, 1);
        expect(down.steps.map((s) => [s.direction, s.version])).to.deep.equal([
          ["down", 3],
          ["down", 2],
        ]);
        expect(rowsOf(db)).to.deep.equal(before);
        expect(storeVersion(db)).to.equal(1);
        expect(appliedMigrations(db).map((m) => m.version)).to.deep.equal([1]);
      } finally {
        db.close();
      }
    });

    it("keeps what an older version cannot hold: v3 → v1 → v3 restores usdValue and updatedAt", function () {
      const db = openStore(freshPath());
      try {
        migrateTo(db, 3);
        const paid: JobRecordV3 = {
          id: "paid",
          user: ALICE,
          model: "gpt-4o",
          promptHash: HASH,
          status: "completed",
          payment: { amount: "5", token: "ETH", usdValue: "0.0000000000000175" },
          metadata: { createdAt: "2025-01-01T00:00:00.250Z", updatedAt: "2025-02-01T00:00:00.000Z", schemaVersion: 3 },
        };
        insertJobs(db, [paid]);
        const before = rowsOf(db);
        migrateTo(db, 1);
        const old = JSON.parse(rowsOf(db)[0]!.record) as JobRecordV1;
        expect(old.cost_wei).to.equal("5");
        expect(old.created).to.equal(1_735_689_600);
        expect(old._retained?._retained).to.deep.equal(paid);
        migrateTo(db, 3);
        expect(rowsOf(db)).to.deep.equal(before);
      } finally {
        db.close();
      }
    });

    it("refuses a target version that does not exist, naming the versions that do", function () {
      const db = v1Store();
      try {
        for (const target of [4, -1, 1.5]) {
          expect(storeErrorOf(() => migrateTo(db, target))).to.equal(
            `schema version ${target} does not exist: the versions are 0 (empty store) to 3; a missing version is never skipped`,
          );
        }
        // A gap in the migrations is refused too, never stepped over.
        const gap = [MIGRATIONS[0]!, MIGRATIONS[2]!];
        expect(storeErrorOf(() => migrateTo(db, 2, { migrations: gap }))).to.equal(
          "schema migrations: expected version 2 at position 2, found 3 (payment); versions must be 1, 2, 3, … without gaps",
        );
        expect(storeVersion(db)).to.equal(1);
      } finally {
        db.close();
      }
    });

    it("refuses a store whose applied migration was edited, naming it, and changes nothing", function () {
      const db = v1Store();
      try {
        migrateTo(db, 2);
        const before = rowsOf(db);
        // The edit a reviewer would make: the same module with one more line of source text.
        const original = MIGRATIONS[1]!;
        const editedFile = path.join(dir, "m0002_metadata.edited.ts");
        writeFileSync(editedFile, `${readFileSync(fileURLToPath(original.source), "utf8")}// tweak\n`);
        const edited = withChecksum({ ...original, source: pathToFileURL(editedFile).href });
        expect(edited.checksum).to.not.equal(original.checksum);
        const migrations = replacing(2, () => edited);
        for (const target of [3, 1, 2]) {
          expect(storeErrorOf(() => migrateTo(db, target, { migrations }))).to.equal(
            `applied migration 2 (metadata) was edited after it was applied: stored checksum ${original.checksum}, ` +
              `metadata now ${edited.checksum}; restore it as applied and put the change in a new migration`,
          );
        }
        expect(storeStatus(db, migrations).migrations.map((m) => m.state)).to.deep.equal([
          "applied",
          "edited",
          "pending",
        ]);
        expect(rowsOf(db)).to.deep.equal(before);
        expect(storeVersion(db)).to.equal(2);
        // An edit of a migration that is not applied yet is not refused.
        const laterEdit = replacing(3, (m) => ({ ...m, checksum: "0".repeat(64) }));
        migrateTo(db, 3, { migrations: laterEdit });
        expect(appliedMigrations(db)[2]!.checksum).to.equal("0".repeat(64));
      } finally {
        db.close();
      }
    });

    it("a store at a version this toolkit does not know is refused", function () {
      const db = v1Store();
      try {
        expect(storeErrorOf(() => migrateTo(db, 0, { migrations: [] }))).to.equal(
          "the store has schema version 1 (jobs-table), which this toolkit does not know; use the toolkit that wrote it",
        );
      } finally {
        db.close();
      }
    });

    it("an error in the middle of a step rolls the whole step back: the store keeps the version before", function () {
      const file = freshPath();
      const db = v1Store(file);
      try {
        migrateTo(db, 2);
        const atV2 = rowsOf(db);
        const applied = appliedMigrations(db);
        let calls = 0;
        const failing = replacing(3, (m) => ({
          ...m,
          up: (r) => {
            // The third record fails after two were converted (and, in the step, written).
            if (++calls === 3) throw new Error("disk on fire");
            return m.up(r);
          },
        }));
        expect(storeErrorOf(() => migrateTo(db, 3, { migrations: failing }))).to.equal(
          "job job-3: payment up: disk on fire",
        );
        expect(calls).to.equal(3);
        expect(storeVersion(db)).to.equal(2);
        expect(appliedMigrations(db)).to.deep.equal(applied);
        expect(rowsOf(db)).to.deep.equal(atV2);
        // The failure happened inside a write that had started: the rows of job-1 and job-2 were
        // rewritten before the error in the same transaction, so this checks the rollback.
        const throwingWrite = replacing(3, (m) => ({
          ...m,
          ddl: { up: ["CREATE TABLE scratch (x INTEGER)", "THIS IS NOT SQL"], down: [] },
        }));
        expect(() => migrateTo(db, 3, { migrations: throwingWrite })).to.throw(/syntax error/);
        expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'scratch'").get()).to.equal(undefined);
        expect(storeVersion(db)).to.equal(2);
        expect(rowsOf(db)).to.deep.equal(atV2);
        // A multi-step run keeps the steps that committed: 1 → 2 → 3 failing in 3 ends at 2.
        migrateTo(db, 1);
        calls = 0;
        expect(() => migrateTo(db, 3, { migrations: failing })).to.throw(StoreError);
        expect(storeVersion(db)).to.equal(2);
        expect(rowsOf(db)).to.deep.equal(atV2);
      } finally {
        db.close();
      }
      // What was committed is on disk for the next process too.
      const reopened = openStore(file);
      expect(storeVersion(reopened)).to.equal(2);
      reopened.close();
    });

    it("a process killed in the middle of a step's writes leaves the store at the version before", function () {
      const file = freshPath();
      const db = v1Store(file);
      migrateTo(db, 2);
      const atV2 = rowsOf(db);
      const applied = appliedMigrations(db);
      db.close();
      // The child runs the real migration 3 with a trigger that SIGKILLs the process when job-3's
      // row is rewritten: job-1 and job-2 are already updated inside the open transaction.
      const child = path.join(dir, `crash-${counter}.ts`);
      const lib = (name: string) => JSON.stringify(pathToFileURL(path.resolve("lib/store", name)).href);
      writeFileSync(
        child,
        `import { openStore } from ${lib("database.ts")};
import { migrateTo } from ${lib("migrate.ts")};
import { MIGRATIONS } from ${lib("migrations/index.ts")};
const db = openStore(${JSON.stringify(file)});
db.function("crash", () => process.kill(process.pid, "SIGKILL"));
const trigger = "CREATE TEMP TRIGGER crash AFTER UPDATE ON main.jobs WHEN NEW.id = 'job-3' BEGIN SELECT crash(); END";
const migrations = MIGRATIONS.map((m) => (m.version === 3 ? { ...m, ddl: { up: [trigger], down: [] } } : m));
migrateTo(db, 3, { migrations });
console.log("not killed");
`,
      );
      const result = spawnSync(process.execPath, ["--import", "tsx", child], { encoding: "utf8" });
      expect(result.signal).to.equal("SIGKILL");
      expect(result.stdout).to.equal("");
      const reopened = openStore(file);
      try {
        expect(storeVersion(reopened)).to.equal(2);
        expect(appliedMigrations(reopened)).to.deep.equal(applied);
        expect(rowsOf(reopened)).to.deep.equal(atV2);
        // And the store still migrates normally afterwards.
        migrateTo(reopened, 3);
        expect(storeVersion(reopened)).to.equal(3);
      } finally {
        reopened.close();
      }
    });

    it("validates every record before and after each step, naming the job and the path", function () {
      const db = v1Store();
      try {
        db.prepare("UPDATE jobs SET record = ? WHERE id = 'job-2'").run(
          canonicalJson({ ...SAMPLE[1], cost_wei: "-5" }),
        );
        const before = rowsOf(db);
        expect(storeErrorOf(() => migrateTo(db, 3))).to.equal(
          "job job-2 (before metadata up): not a valid version-1 job record: cost_wei: must be a decimal integer string without leading zeros",
        );
        expect(rowsOf(db)).to.deep.equal(before);
        expect(storeVersion(db)).to.equal(1);

        // An `up` that produces a bad record is caught after the step.
        db.prepare("UPDATE jobs SET record = ? WHERE id = 'job-2'").run(canonicalJson(SAMPLE[1]));
        const sloppy = replacing(2, (m) => ({ ...m, up: (r) => ({ ...m.up(r), extra: true }) }));
        expect(storeErrorOf(() => migrateTo(db, 2, { migrations: sloppy }))).to.equal(
          "job job-1 (after metadata up): not a valid version-2 job record: (record): Unrecognized key(s) in object: 'extra'",
        );
        db.prepare("UPDATE jobs SET record = 'not json' WHERE id = 'job-4'").run();
        expect(storeErrorOf(() => migrateTo(db, 2))).to.equal(
          "job job-4: the stored record is not JSON; the store is damaged",
        );
      } finally {
        db.close();
      }
    });

    it("refuses to go down where the older version cannot say it: another token, or deleting records", function () {
      const db = openStore(freshPath());
      try {
        migrateTo(db, 3);
        const usdc: JobRecordV3 = {
          id: "usdc-1",
          user: BOB,
          model: "sdxl",
          promptHash: HASH,
          status: "completed",
          payment: { amount: "2500000", token: USDC, usdValue: "2.5" },
          metadata: { createdAt: "2025-03-01T00:00:00.000Z", updatedAt: "2025-03-01T00:00:00.000Z", schemaVersion: 3 },
        };
        insertJobs(db, [usdc]);
        const before = rowsOf(db);
        expect(storeErrorOf(() => migrateTo(db, 1))).to.equal(
          `job usdc-1: payment down: payment.token: ${USDC} cannot be expressed in version 2 (costWei is wei of ETH); keep the store at version 3`,
        );
        expect(rowsOf(db)).to.deep.equal(before);
        expect(storeVersion(db)).to.equal(3);
      } finally {
        db.close();
      }
      const withJobs = v1Store();
      try {
        expect(storeErrorOf(() => migrateTo(withJobs, 0))).to.equal(
          "version 0 has no jobs table and the store holds 4 job record(s); going down to 0 would delete them",
        );
        expect(rowsOf(withJobs)).to.have.length(4);
      } finally {
        withJobs.close();
      }
      // An empty store goes down to 0 and the jobs table is gone.
      const empty = openStore(freshPath());
      migrateTo(empty, 3);
      migrateTo(empty, 0);
      expect(empty.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()).to.deep.equal([
        { name: "schema_migrations" },
      ]);
      empty.close();
    });

    it("refuses a retained record that was edited after the down migration that wrote it", function () {
      const db = openStore(freshPath());
      try {
        migrateTo(db, 2);
        const updated: JobRecordV2 = {
          id: "u",
          user: ALICE,
          model: "m",
          promptHash: HASH,
          costWei: "1",
          status: "running",
          metadata: { createdAt: "2025-01-01T00:00:00.000Z", updatedAt: "2025-01-02T00:00:00.000Z", schemaVersion: 2 },
        };
        insertJobs(db, [updated]);
        migrateTo(db, 1);
        const old = JSON.parse(rowsOf(db)[0]!.record) as JobRecordV1;
        db.prepare("UPDATE jobs SET record = ? WHERE id = 'u'").run(canonicalJson({ ...old, status: "completed" }));
        expect(storeErrorOf(() => migrateTo(db, 2))).to.equal(
          "job u (before metadata up): _retained: does not agree with the record (edited after a down migration); remove _retained to accept losing it",
        );
        expect(storeVersion(db)).to.equal(1);
      } finally {
        db.close();
      }
    });

    it("a dry run reports the steps, converts and validates, and writes nothing", function () {
      const file = freshPath();
      const db = v1Store(file);
      db.close();
      const before = filesOf(file);
      const reader = openStore(file, { readOnly: true });
      try {
        const result = migrateTo(reader, 3, { dryRun: true });
        expect(result).to.deep.equal({
          from: 1,
          to: 3,
          dryRun: true,
          steps: [
            { version: 2, name: "metadata", direction: "up", from: 1, to: 2, records: 4 },
            { version: 3, name: "payment", direction: "up", from: 2, to: 3, records: 4 },
          ],
        });
        expect(storeVersion(reader)).to.equal(1);
      } finally {
        reader.close();
      }
      expect(filesOf(file)).to.deep.equal(before);
      // A dry run on a writable handle writes nothing either, and finds the same errors as a real run.
      const writable = openStore(file);
      try {
        writable
          .prepare("UPDATE jobs SET record = ? WHERE id = 'job-1'")
          .run(canonicalJson({ ...SAMPLE[0], created: -1 }));
        const rows = rowsOf(writable);
        expect(storeErrorOf(() => migrateTo(writable, 3, { dryRun: true }))).to.match(
          /^job job-1 \(before metadata up\): not a valid version-1 job record: created: /,
        );
        expect(rowsOf(writable)).to.deep.equal(rows);
        expect(storeVersion(writable)).to.equal(1);
      } finally {
        writable.close();
      }
    });
  });

  describe("migrateTo in pages", function () {
    /** 23 v3 jobs (not a multiple of the page sizes used); every third is priced, every other updated. */
    const MANY: JobRecordV3[] = Array.from({ length: 23 }, (_, i) => ({
      id: `job-${String(i).padStart(2, "0")}`,
      user: i % 2 === 0 ? ALICE : BOB,
      model: "llama-3-8b",
      promptHash: HASH,
      status: "completed",
      payment: { amount: `${1000 + i}`, token: "ETH", usdValue: i % 3 === 0 ? "1.5" : null },
      metadata: {
        createdAt: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
        updatedAt: new Date(Date.UTC(2025, 0, 1 + (i % 2), 0, i)).toISOString(),
        schemaVersion: 3,
      },
    }));

    /** Every column of every row, indexed copies included. */
    function allOf(db: DatabaseSync): unknown[] {
      return db.prepare("SELECT id, user, created, status, record FROM jobs ORDER BY id").all();
    }

    it("a store larger than a page goes down to 1 and back up to 3 byte-identically, whatever the page size", function () {
      for (const pageSize of [1, 4, 23, 500]) {
        const db = openStore(freshPath());
        try {
          migrateTo(db, 3);
          insertJobs(db, MANY);
          const before = allOf(db);
          const dry = migrateTo(db, 1, { dryRun: true, pageSize });
          expect(dry.steps.map((s) => [s.version, s.records])).to.deep.equal([
            [3, 23],
            [2, 23],
          ]);
          expect(allOf(db)).to.deep.equal(before);
          const down = migrateTo(db, 1, { pageSize });
          expect(down.steps.map((s) => [s.direction, s.version, s.records])).to.deep.equal([
            ["down", 3, 23],
            ["down", 2, 23],
          ]);
          // Each record was converted once per step: what v1 cannot hold (a usdValue, an updatedAt
          // after createdAt) is retained, the rest is plain v1.
          const v1Rows = rowsOf(db).map((row) => JSON.parse(row.record) as JobRecordV1);
          expect(v1Rows.map((r) => r.id)).to.deep.equal(MANY.map((r) => r.id));
          expect(v1Rows.map((r) => r.created)).to.deep.equal(MANY.map((r) => Date.parse(r.metadata.createdAt) / 1000));
          expect(v1Rows.map((r) => r._retained?._retained ?? null)).to.deep.equal(
            MANY.map((r) => (r.payment.usdValue === null ? null : r)),
          );
          expect(v1Rows.map((r) => r._retained !== undefined)).to.deep.equal(
            MANY.map((r) => r.payment.usdValue !== null || r.metadata.updatedAt !== r.metadata.createdAt),
          );
          migrateTo(db, 3, { pageSize });
          expect(allOf(db)).to.deep.equal(before);
        } finally {
          db.close();
        }
      }
    });

    it("a record failing in the second page leaves the whole store at the version before, first page included", function () {
      const db = openStore(freshPath());
      try {
        migrateTo(db, 3);
        insertJobs(db, MANY);
        migrateTo(db, 2);
        const atV2 = allOf(db);
        const applied = appliedMigrations(db);
        // job-05 (the second page of 4) cannot go up: the step fails after the first page was rewritten.
        const failing = replacing(3, (m) => ({
          ...m,
          up: (r) => {
            if (r.id === "job-05") throw new Error("no price feed");
            return m.up(r);
          },
        }));
        let rewritten = 0;
        db.function("rewritten", () => {
          rewritten++;
          return null;
        });
        db.exec("CREATE TEMP TRIGGER counting AFTER UPDATE ON main.jobs BEGIN SELECT rewritten(); END");
        expect(storeErrorOf(() => migrateTo(db, 3, { migrations: failing, pageSize: 4 }))).to.equal(
          "job job-05: payment up: no price feed",
        );
        expect(rewritten).to.equal(4);
        expect(storeVersion(db)).to.equal(2);
        expect(appliedMigrations(db)).to.deep.equal(applied);
        expect(allOf(db)).to.deep.equal(atV2);
        // The same record fails a dry run, which writes nothing, and an invalid stored record is
        // named from the second page too.
        expect(storeErrorOf(() => migrateTo(db, 3, { migrations: failing, pageSize: 4, dryRun: true }))).to.equal(
          "job job-05: payment up: no price feed",
        );
        db.exec("DROP TRIGGER counting");
        const job09 = JSON.parse(rowsOf(db)[9]!.record) as JobRecordV2;
        db.prepare("UPDATE jobs SET record = ? WHERE id = 'job-09'").run(canonicalJson({ ...job09, costWei: "01" }));
        const damaged = allOf(db);
        expect(storeErrorOf(() => migrateTo(db, 1, { pageSize: 4 }))).to.equal(
          "job job-09 (before metadata down): not a valid version-2 job record: costWei: must be a decimal integer string without leading zeros",
        );
        expect(storeVersion(db)).to.equal(2);
        expect(allOf(db)).to.deep.equal(damaged);
      } finally {
        db.close();
      }
    });

    it("refuses a page size that is not a whole number above 0", function () {
      const db = v1Store();
      try {
        for (const pageSize of [0, -1, 1.5, Number.NaN]) {
          expect(storeErrorOf(() => migrateTo(db, 2, { pageSize }))).to.equal(
            `the migration page size must be a whole number of records above 0 (got ${pageSize})`,
          );
        }
        expect(storeVersion(db)).to.equal(1);
      } finally {
        db.close();
      }
    });
  });

  describe("insertJobs and jobsOfUser", function () {
    it("insert records of the store's version and return a user's jobs oldest first, whatever the address case", function () {
      const db = v1Store();
      try {
        expect(jobsOfUser(db, ALICE.toUpperCase().replace("0X", "0x")).jobs.map((j) => j.id)).to.deep.equal([
          "job-3",
          "job-1",
          "job-4",
        ]);
        expect(jobsOfUser(db, BOB.toLowerCase())).to.deep.equal({ version: 1, jobs: [SAMPLE[1]] });
        expect(jobsOfUser(db, ALICE, 1).jobs.map((j) => j.id)).to.deep.equal(["job-3"]);
        expect(jobsOfUser(db, "0x0000000000000000000000000000000000000001").jobs).to.deep.equal([]);
        migrateTo(db, 3);
        const latest = jobsOfUser(db, BOB);
        expect(latest.version).to.equal(3);
        expect((latest.jobs[0] as JobRecordV3).payment).to.deep.equal({ amount: "0", token: "ETH", usdValue: null });
        expect(storeErrorOf(() => jobsOfUser(db, "alice"))).to.equal(
          '--user must be a 0x-prefixed 20-byte address (got "alice")',
        );
      } finally {
        db.close();
      }
    });

    it("refuse the whole batch on a bad record, a duplicate id or the wrong version, naming the position", function () {
      const db = v1Store();
      try {
        const before = rowsOf(db);
        const fresh = v1("job-9");
        expect(
          storeErrorOf(() =>
            insertJobs(db, [fresh, { ...v1("job-10"), created: "yesterday" }], { source: "in.jsonl" }),
          ),
        ).to.equal(
          "in.jsonl[1] (job job-10): not a valid version-1 job record: created: Expected number, received string",
        );
        expect(storeErrorOf(() => insertJobs(db, [fresh, v1("job-11"), fresh]))).to.equal(
          "records[2]: duplicate job id job-9 (also at [0])",
        );
        expect(storeErrorOf(() => insertJobs(db, [fresh, v1("job-2")]))).to.equal(
          "records[1]: job job-2 is already in the store",
        );
        expect(storeErrorOf(() => insertJobs(db, [42]))).to.equal(
          "records[0]: not a valid version-1 job record: (record): Expected object, received number",
        );
        expect(storeErrorOf(() => insertJobs(db, [fresh], { version: 3, source: "bundle.json" }))).to.equal(
          "bundle.json holds version-3 job records but the store is at version 1; run `npx hardhat schema:migrate --to 3` first",
        );
        expect(rowsOf(db)).to.deep.equal(before);
        expect(insertJobs(db, [fresh], { version: 1 })).to.equal(1);
        expect(rowsOf(db)).to.have.length(5);
      } finally {
        db.close();
      }
      const empty = openStore(freshPath());
      expect(storeErrorOf(() => insertJobs(empty, [v1("a")]))).to.equal(
        "the store is at schema version 0 (no jobs table); run `npx hardhat schema:migrate --to 3`",
      );
      expect(storeErrorOf(() => jobsOfUser(empty, ALICE))).to.match(/schema version 0/);
      empty.close();
    });
  });

  describe("round trips (fast-check)", function () {
    const hex = (length: number) =>
      fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });
    const address = hex(40).map((h) => `0x${h}`);
    const status = fc.constantFrom("pending", "running", "completed", "failed", "cancelled" as const);
    const uint = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }).map(String);
    const common = {
      id: fc.string({ minLength: 1, maxLength: 30 }),
      user: fc.oneof(
        address,
        address.map((a) => a.toUpperCase().replace("0X", "0x")),
      ),
      model: fc.string({ minLength: 1, maxLength: 30 }),
      status,
    };
    const MAX_MS = 253_402_300_799_999;
    const times = fc
      .tuple(fc.integer({ min: 0, max: MAX_MS }), fc.integer({ min: 0, max: 10 ** 10 }))
      .map(([created, later]) => [
        new Date(created).toISOString(),
        new Date(Math.min(MAX_MS, created + later)).toISOString(),
      ]);
    const arbitraryV1: fc.Arbitrary<JobRecordV1> = fc.record({
      ...common,
      prompt_hash: hex(64).map((h) => `0x${h}`),
      created: fc.integer({ min: 0, max: 253_402_300_799 }),
      cost_wei: uint,
    });
    const arbitraryV3: fc.Arbitrary<JobRecordV3> = fc
      .record({
        ...common,
        promptHash: hex(64).map((h) => `0x${h}`),
        amount: uint,
        usdValue: fc.option(
          fc
            .tuple(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.option(fc.integer({ min: 0, max: 10 ** 9 })))
            .map(([whole, fraction]) => (fraction === null ? `${whole}` : `${whole}.${fraction}`)),
        ),
        times,
      })
      .map(({ amount, usdValue, times: [createdAt, updatedAt], ...rest }) => ({
        ...rest,
        payment: { amount, token: "ETH", usdValue },
        metadata: { createdAt: createdAt!, updatedAt: updatedAt!, schemaVersion: 3 as const },
      }));
    const arbitraryV2: fc.Arbitrary<JobRecordV2> = fc.oneof(
      fc
        .record({ ...common, promptHash: hex(64).map((h) => `0x${h}`), costWei: uint, times })
        .map(({ times: [createdAt, updatedAt], ...rest }) => ({
          ...rest,
          metadata: { createdAt: createdAt!, updatedAt: updatedAt!, schemaVersion: 2 as const },
        })),
      // v2 records that went down from v3 (carrying what v2 cannot hold).
      arbitraryV3.map((r) => JSON.parse(migrateRecord(r, 3, 2)) as JobRecordV2),
    );
    // Valid v1 records: the original shape, and ones that came down from v2 and v3.
    const anyV1 = fc.oneof(
      arbitraryV1,
      arbitraryV2.map((r) => JSON.parse(migrateRecord(r, 2, 1)) as JobRecordV1),
    );

    it("migrating any valid v1 record up to the latest version and back down gives the same bytes", function () {
      fc.assert(
        fc.property(anyV1, (record) => {
          const latest = migrateRecord(record, 1, LATEST_VERSION);
          expect(migrateRecord(JSON.parse(latest), LATEST_VERSION, 1)).to.equal(canonicalJson(record));
        }),
      );
    });

    const pairs: [number, fc.Arbitrary<unknown>, fc.Arbitrary<unknown>][] = [
      [1, anyV1, arbitraryV2],
      [2, arbitraryV2, arbitraryV3],
    ];
    for (const [version, older, newer] of pairs) {
      it(`any valid v${version} record up to v${version + 1} and back down gives the same bytes`, function () {
        fc.assert(
          fc.property(older, (record) => {
            const up = migrateRecord(record, version, version + 1);
            expect(migrateRecord(JSON.parse(up), version + 1, version)).to.equal(canonicalJson(record));
          }),
        );
      });
      it(`any valid v${version + 1} record (paid in ETH) down to v${version} and back up gives the same bytes`, function () {
        fc.assert(
          fc.property(newer, (record) => {
            const down = migrateRecord(record, version + 1, version);
            expect(migrateRecord(JSON.parse(down), version, version + 1)).to.equal(canonicalJson(record));
          }),
        );
      });
    }

    it("a store of any valid v1 records migrated up to the latest and back down holds the same bytes", function () {
      fc.assert(
        // Any ids (keyset pages order them as SQLite does) and pages of any size.
        fc.property(
          fc.uniqueArray(anyV1, { selector: (r) => r.id, maxLength: 8 }),
          fc.integer({ min: 1, max: 9 }),
          (records, pageSize) => {
            const db = openStore(":memory:");
            try {
              migrateTo(db, 1);
              insertJobs(db, records);
              const before = rowsOf(db);
              migrateTo(db, LATEST_VERSION, { pageSize });
              migrateTo(db, 1, { pageSize });
              expect(rowsOf(db)).to.deep.equal(before);
            } finally {
              db.close();
            }
          },
        ),
        { numRuns: 40 },
      );
    });

    it("migrateRecord refuses versions without job records", function () {
      expect(storeErrorOf(() => migrateRecord(SAMPLE[0], 0, 1))).to.equal(
        "schema version 0 has no job records: the versions are 1 to 3",
      );
      expect(migrateRecord(SAMPLE[0], 1, 1)).to.equal(canonicalJson(SAMPLE[0]));
    });
  });

  describe("npx hardhat schema:migrate and schema:status", function () {
    it("migrate a store end to end, report dry runs, refuse bad targets and foreign files", async function () {
      const store = freshPath();
      let run = await runTaskCapturing("schema:migrate", { to: "1", store, dryRun: true });
      expect(run).to.deep.equal({
        code: 0,
        lines: [
          "would apply up 1 jobs-table: version 0 → 1, 0 job record(s)",
          `${store}: dry run, nothing written (would go from version 0 to 1)`,
        ],
      });
      expect(existsSync(path.dirname(store))).to.equal(false);

      run = await runTaskCapturing("schema:migrate", { to: "1", store });
      expect(run.code).to.equal(0);
      expect(run.lines.at(-1)).to.equal(`${store}: schema version 0 → 1`);
      const db = openStore(store);
      insertJobs(db, SAMPLE);
      const v1Rows = rowsOf(db);
      db.close();

      run = await runTaskCapturing("schema:migrate", { to: "3", store, dryRun: true });
      expect(run.lines).to.deep.equal([
        "would apply up 2 metadata: version 1 → 2, 4 job record(s)",
        "would apply up 3 payment: version 2 → 3, 4 job record(s)",
        `${store}: dry run, nothing written (would go from version 1 to 3)`,
      ]);
      run = await runTaskCapturing("schema:migrate", { to: "3", store });
      expect(run.lines).to.deep.equal([
        "applied up 2 metadata: version 1 → 2, 4 job record(s)",
        "applied up 3 payment: version 2 → 3, 4 job record(s)",
        `${store}: schema version 1 → 3`,
      ]);
      run = await runTaskCapturing("schema:migrate", { to: "3", store });
      expect(run.lines).to.deep.equal([`${store}: already at schema version 3`]);

      run = await runTaskCapturing("schema:status", { store });
      expect(run.code).to.equal(0);
      expect(run.lines[0]).to.equal("schema version 3 of 3, 4 job record(s)");
      expect(run.lines.slice(1).map((line) => line.split(" ").slice(0, 5).join(" "))).to.deep.equal(
        MIGRATIONS.map((m) => `  ${m.version} ${m.name} applied`),
      );
      expect(run.lines[2]!.endsWith(MIGRATIONS[1]!.checksum)).to.equal(true);

      for (const [to, message] of [
        [
          "4",
          "Error: schema version 4 does not exist: the versions are 0 (empty store) to 3; a missing version is never skipped",
        ],
        ["two", 'Error: --to must be a schema version number, 0 to 3 (got "two")'],
        ["", "Error: pass --to <version> (the schema version to reach)"],
      ] as const) {
        run = await runTaskCapturing("schema:migrate", { to, store });
        expect(run).to.deep.equal({ code: 1, lines: [message] });
      }

      run = await runTaskCapturing("schema:migrate", { to: "1", store });
      expect(run.code).to.equal(0);
      const back = openStore(store);
      expect(rowsOf(back)).to.deep.equal(v1Rows);
      back.close();

      const text = path.join(dir, "readme.md");
      writeFileSync(text, "# not a store\n");
      run = await runTaskCapturing("schema:migrate", { to: "1", store: text });
      expect(run).to.deep.equal({
        code: 1,
        lines: [`Error: ${text} is not a Fabstir store (not an SQLite database); pass another --store path`],
      });
      run = await runTaskCapturing("schema:status", { store: path.join(dir, "missing.db") });
      expect(run.code).to.equal(1);
      expect(run.lines[0]).to.match(
        /^Error: no store at .*missing\.db; `npx hardhat schema:migrate --to <version>` creates it$/,
      );
    });

    it("schema:status flags an edited applied migration with exit code 1", async function () {
      const store = freshPath();
      const db = openStore(store);
      migrateTo(db, 2);
      db.prepare("UPDATE schema_migrations SET checksum = ? WHERE version = 2").run("f".repeat(64));
      db.close();
      const run = await runTaskCapturing("schema:status", { store });
      expect(run.code).to.equal(1);
      expect(run.lines[2]).to.match(/^ {2}2 metadata edited \S+ f{64}$/);
      const refused = await runTaskCapturing("schema:migrate", { to: "3", store });
      expect(refused.code).to.equal(1);
      expect(refused.lines[0]).to.match(/^Error: applied migration 2 \(metadata\) was edited after it was applied/);
    });
  });

  it("parseTargetVersion accepts plain version numbers only", function () {
    expect(parseTargetVersion(" 2 ")).to.equal(2);
    expect(() => parseTargetVersion("02")).to.throw(StoreError);
    expect(() => parseTargetVersion("-1")).to.throw(StoreError);
  });
});
