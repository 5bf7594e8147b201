import { expect } from "chai";
import fc from "fast-check";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { runHostileKind } from "../../lib/reliability/hostile/core.js";
import { VALID_RECORD } from "../../lib/reliability/hostile/store.js";
import { storeFileKind } from "../../lib/reliability/hostile/storeFile.js";
import { openStore, storeVersion, type OpenStoreOptions } from "../../lib/store/database.js";
import { runTaskCapturing } from "../helpers/taskOutput.js";
import { StoreError } from "../../lib/store/errors.js";
import { insertJobs, jobsOfUser } from "../../lib/store/jobs.js";
import { migrateTo, storeStatus } from "../../lib/store/migrate.js";

const DAMAGED_ADVICE =
  "restore it from a backup, or move it away to start a new store (re-import the jobs), or pass another --store path";

/**
 * openStore on hostile store files (issue 10): each one is refused with a StoreError that says
 * what to do, before anything is written (the file's bytes and its directory's listing stay as
 * they were, read-only and read-write), or opened and read back when it is in fact usable.
 */
describe("openStore on damaged and wrong store files", function () {
  let dir: string;
  let valid: Buffer;

  before(function () {
    const scratch = mkdtempSync(path.join(tmpdir(), "fabstir-store-file-valid-"));
    const file = path.join(scratch, "store.db");
    const db = openStore(file);
    migrateTo(db, 3);
    insertJobs(
      db,
      Array.from({ length: 40 }, (_, i) => ({ ...VALID_RECORD, id: `${VALID_RECORD.id}-${i}` })),
    );
    db.close();
    valid = readFileSync(file);
    rmSync(scratch, { recursive: true, force: true });
    // Several pages, so that truncation and noise land past the first one.
    expect(valid.length).to.be.greaterThan(4 * 4096);
  });

  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), "fabstir-store-file-"));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  function snapshot(file: string): string {
    let bytes = "(none)";
    try {
      bytes = readFileSync(file).toString("base64");
    } catch {
      // a directory or nothing
    }
    return JSON.stringify({ bytes, listing: (readdirSync(dir, { recursive: true }) as string[]).sort() });
  }

  /** The StoreError message of a refused open, in both modes, checking that nothing changed. */
  function refusal(file: string, readOnly: boolean, options: OpenStoreOptions = {}): string {
    const before = snapshot(file);
    let thrown: unknown;
    try {
      openStore(file, { ...options, readOnly }).close();
    } catch (error) {
      thrown = error;
    }
    expect(thrown, "the open was not refused").to.be.instanceOf(StoreError);
    expect(snapshot(file)).to.equal(before);
    return (thrown as StoreError).message;
  }

  it("refuses a truncated store, naming its size and the pages its header counts", function () {
    const file = path.join(dir, "store.db");
    writeFileSync(file, valid.subarray(0, 3 * 4096 + 17));
    const pages = valid.readUInt32BE(28);
    const message = `${file} is damaged: truncated to ${3 * 4096 + 17} bytes, its header counts ${pages} pages of 4096; ${DAMAGED_ADVICE}`;
    expect(refusal(file, true)).to.equal(message);
    expect(refusal(file, false)).to.equal(message);
  });

  it("refuses a store whose pages after the header are noise, before any raw SQLite error", function () {
    const file = path.join(dir, "store.db");
    const noise = Buffer.alloc(valid.length - 100, 0xa5);
    writeFileSync(file, Buffer.concat([valid.subarray(0, 100), noise]));
    for (const readOnly of [true, false]) {
      const message = refusal(file, readOnly);
      expect(message.startsWith(`${file} is damaged (`)).to.equal(true, message);
      expect(message.endsWith(`; ${DAMAGED_ADVICE}`)).to.equal(true, message);
    }
  });

  it("refuses a store with one damaged page deep inside (quick_check)", function () {
    const file = path.join(dir, "store.db");
    const bytes = Buffer.from(valid);
    // The last page holds job records: break its b-tree page header.
    bytes.fill(0xff, bytes.length - 4096, bytes.length - 4096 + 12);
    writeFileSync(file, bytes);
    expect(refusal(file, false)).to.match(/is damaged \(.+\); restore it from a backup/);
  });

  it("reads a store with a damaged page through a checked structure, and the read that meets the page refuses it", function () {
    const file = path.join(dir, "store.db");
    const bytes = Buffer.from(valid);
    bytes.fill(0xff, bytes.length - 4096, bytes.length - 4096 + 12);
    writeFileSync(file, bytes);
    const before = snapshot(file);
    const message = `${file} is damaged (database disk image is malformed); ${DAMAGED_ADVICE}`;
    // A read-only open does not read every page (that is linear in the store): it opens, and each
    // read-only command ends in the damaged-store refusal, not a raw SQLite error.
    const reader = openStore(file, { readOnly: true });
    try {
      expect(storeVersion(reader)).to.equal(3);
      const commands: [string, () => unknown][] = [
        ["platform:history", () => jobsOfUser(reader, VALID_RECORD.user)],
        ["schema:migrate --dry-run", () => migrateTo(reader, 1, { dryRun: true })],
        ["a statement's iterator", () => [...reader.prepare("SELECT record FROM jobs").iterate()]],
      ];
      for (const [command, body] of commands) {
        let thrown: unknown;
        try {
          body();
        } catch (error) {
          thrown = error;
        }
        expect(thrown, command).to.be.instanceOf(StoreError);
        expect((thrown as StoreError).message, command).to.equal(message);
      }
    } finally {
      reader.close();
    }
    // On request, and before any write, every page is checked at the open.
    expect(refusal(file, true, { fullCheck: true })).to.match(/is damaged \(.+\); restore it from a backup/);
    expect(refusal(file, false)).to.match(/is damaged \(.+\); restore it from a backup/);
    expect(snapshot(file)).to.equal(before);
  });

  it("schema:status answers on a store with a damaged page; with --check it reads every page and refuses it", async function () {
    const file = path.join(dir, "store.db");
    const intact = path.join(dir, "intact.db");
    writeFileSync(intact, valid);
    const bytes = Buffer.from(valid);
    bytes.fill(0xff, bytes.length - 4096, bytes.length - 4096 + 12);
    writeFileSync(file, bytes);
    const before = snapshot(file);
    const checked = await runTaskCapturing("schema:status", { store: intact, check: true });
    expect(checked.code).to.equal(0);
    expect(checked.lines).to.include("every page checked (quick_check): ok");
    // Without --check the status reads the schema tables and the id index only.
    expect((await runTaskCapturing("schema:status", { store: file, check: false })).code).to.equal(0);
    const refused = await runTaskCapturing("schema:status", { store: file, check: true });
    expect(refused.code).to.equal(1);
    expect(refused.lines[0]).to.match(/^Error: .* is damaged \(.+\); restore it from a backup/);
    expect(snapshot(file)).to.equal(before);
  });

  it("refuses a store without its schema-version table, or at a version without its jobs table", function () {
    for (const [drop, problem] of [
      ["DROP TABLE schema_migrations", "it has no schema_migrations table"],
      ["DROP TABLE jobs", "it is at schema version 3 and has no jobs table"],
    ]) {
      const file = path.join(dir, "store.db");
      writeFileSync(file, valid);
      const raw = new DatabaseSync(file);
      raw.exec(drop!);
      raw.close();
      const message = `${file} is damaged (${problem}); ${DAMAGED_ADVICE}`;
      expect(refusal(file, true)).to.equal(message);
      expect(refusal(file, false)).to.equal(message);
      rmSync(file);
    }
  });

  it("read-only commands on randomly overwritten stores end in a result or the damaged-store refusal", function () {
    const file = path.join(dir, "store.db");
    fc.assert(
      fc.property(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 }), (at, noise) => {
        const bytes = Buffer.from(valid);
        Buffer.from(noise).copy(bytes, 100 + (at % (bytes.length - 100)));
        writeFileSync(file, bytes);
        const before = snapshot(file);
        for (const read of [
          (db: DatabaseSync) => jobsOfUser(db, VALID_RECORD.user),
          (db: DatabaseSync) => storeStatus(db),
          (db: DatabaseSync) => migrateTo(db, 1, { dryRun: true }),
        ]) {
          try {
            const db = openStore(file, { readOnly: true });
            try {
              read(db);
            } finally {
              db.close();
            }
          } catch (error) {
            // A refusal the tasks print as one line (a damaged file, a damaged record, a damaged
            // version table); anything else, a raw SQLite error included, fails the property.
            if (!(error instanceof StoreError)) throw error;
          }
        }
        expect(snapshot(file)).to.equal(before);
      }),
      { numRuns: 150 },
    );
  });

  it("refuses an SQLite database of another application", function () {
    const file = path.join(dir, "store.db");
    const other = new DatabaseSync(file);
    other.exec("PRAGMA application_id = 1234");
    other.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)");
    other.close();
    const message = `${file} is an SQLite database but not a Fabstir store (application_id 0x4d2); pass another --store path`;
    expect(refusal(file, true)).to.equal(message);
    expect(refusal(file, false)).to.equal(message);
  });

  it("refuses a directory, and a path under a regular file, without creating anything", function () {
    const folder = path.join(dir, "store.db");
    mkdirSync(folder);
    const message = `${folder} is a directory, not a Fabstir store; pass the path of a store file (or a new one)`;
    expect(refusal(folder, true)).to.equal(message);
    expect(refusal(folder, false)).to.equal(message);

    const plain = path.join(dir, "plain.txt");
    writeFileSync(plain, "x");
    const under = path.join(plain, "store.db");
    expect(refusal(under, false)).to.match(
      new RegExp(
        `^${under.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} cannot be created: EEXIST.*; pass a --store path to a file in a directory$`,
      ),
    );
  });

  it("treats a zero-byte file as a new store, and refuses to read one", function () {
    const file = path.join(dir, "store.db");
    writeFileSync(file, "");
    expect(refusal(file, true)).to.equal(`no store at ${file}`);
    const db = openStore(file);
    expect(storeVersion(db)).to.equal(0);
    db.close();
  });

  it("refuses to write a read-only store (even as root) and still reads it", function () {
    const file = path.join(dir, "store.db");
    writeFileSync(file, valid);
    chmodSync(file, 0o444);
    expect(refusal(file, false)).to.equal(
      `${file} is read-only (mode 444); make it writable (chmod u+w) to change the store, or use a command that only reads`,
    );
    const reader = openStore(file, { readOnly: true });
    expect(storeVersion(reader)).to.equal(3);
    reader.close();
    expect(readdirSync(dir)).to.deep.equal(["store.db"]);
  });

  it("the hostile kind 'store file': 150 damaged files each end in a readable store or a clean refusal", async function () {
    const result = await runHostileKind(storeFileKind(), 150, "store-file-test");
    expect({ failed: result.failed, why: result.counterexample }).to.deep.equal({ failed: 0, why: undefined });
  });
});
