import { expect } from "chai";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { grantIdOf } from "../../lib/credits/plan.js";
import { MIGRATION_CREDIT_LIFETIME_SECONDS } from "../../lib/credits/types.js";
import { bundleDigest, parseBundle, readBundle, type ImportBundle } from "../../lib/platforms/bundle.js";
import { ImportError } from "../../lib/platforms/importError.js";
import { recordIdOf } from "../../lib/platforms/records.js";
import { canonicalJson } from "../../lib/store/canonical.js";
import { openStore } from "../../lib/store/database.js";
import { insertJobs, jobsOfUser } from "../../lib/store/jobs.js";
import { migrateTo } from "../../lib/store/migrate.js";
import { ETH, openCreditsEscrow, type CreditsSetup } from "../helpers/creditsEscrow.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { importLib, inProcessChain, storeFiles } from "../helpers/importChain.js";
import { runTaskCapturing } from "../helpers/taskOutput.js";

const FIXTURE = "test/fixtures/platforms/openai-batch-output.jsonl";
const ALICE = "0x00000000000000000000000000000000000A11cE";
const ALICE_LOWER = ALICE.toLowerCase();

let dir: string;
let n = 0;
const fresh = (name: string) => path.join(dir, `${++n}-${name}`);

/** A finalized escrow whose ETH credit pool holds 1 ETH; its creditor holds CREDITS_ROLE. */
async function fundedEscrow(): Promise<CreditsSetup> {
  const s = await openCreditsEscrow();
  await (await s.escrow.connect(s.sponsor).fundCreditPool(ETH, 10n ** 18n, { value: 10n ** 18n })).wait();
  return s;
}

async function importTask(args: Record<string, unknown>) {
  const run = await runTaskCapturing("platform:import", { from: "openai", input: FIXTURE, ...args });
  return { ...run, text: run.lines.join("\n") };
}

describe("PlatformImport", () => {
  before(() => (dir = mkdtempSync(path.join(tmpdir(), "platform-import-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("imports the OpenAI fixture end to end: bundle, report per model, store rows via platform:history", async () => {
    const out = fresh("bundle.json");
    const store = fresh("store.db");
    // --apply grants on chain: through the library on the shared chain, where the escrow is.
    const s = await networkHelpers.loadFixture(fundedEscrow);
    // With --apply the import is dated by the chain (credits expire by block.timestamp).
    const before = await networkHelpers.time.latest();
    const chain = inProcessChain(s);
    const run = await importLib(
      { from: "openai", input: FIXTURE, user: ALICE, rate: "0.00031", out, store, apply: true },
      chain,
    );
    expect(run.code, run.text).to.equal(0);
    expect(run.text).to.include("gpt-4o-mini-2024-07-18 → llama-3.1-8b-instruct: 2 job(s), 0.00001425 USD");
    expect(run.text).to.include("gpt-4o-2024-08-06 → llama-3.3-70b-instruct: 1 job(s), 0.00041 USD");
    expect(run.text).to.include("(none) → (the export names no model): 2 job(s), 0 USD = 0.0 ETH, 2 unpriced");
    expect(run.text).to.include(`Left out of the store: openai/${ALICE_LOWER}/request-3 (no timestamp in the export)`);
    expect(run.text).to.include("3 job record(s) written (new store, created at the latest schema version)");
    expect(run.text).to.match(
      new RegExp(`Granted 13151750000 wei in tx 0x[0-9a-f]{64}, block \\d+ on PaymentEscrowV2 ${s.escrowAddress}`),
    );
    expect(await s.escrow.liveCreditsOf(ALICE, ETH)).to.equal(13151750000n);

    const bundle = readBundle(out);
    expect(bundle.source).to.deep.equal({
      platform: "openai",
      file: "openai-batch-output.jsonl",
      sha256: createHash("sha256").update(readFileSync(FIXTURE)).digest("hex"),
    });
    expect(bundle.conversion).to.deep.equal({ kind: "rate", ethPerUsd: "0.00031" });
    expect(bundle.jobs[0]).to.deep.include({
      id: `openai/${ALICE_LOWER}/request-1`,
      sourceId: "request-1",
      sourceModel: "gpt-4o-mini-2024-07-18",
      model: "llama-3.1-8b-instruct",
      mapping: "mapped",
      promptHash: null,
      createdAt: 1731522978,
      costUsd: "0.0000084", // 20 × 0.15/1M + 9 × 0.60/1M
      costWei: "2604000000", // × 0.00031 ETH/USD
      pricing: "list-price",
    });
    expect(bundle.jobs[0]).to.not.have.property("content");
    expect(bundle.jobs[4]).to.deep.include({ status: "failed", mapping: "unstated", costUsd: null, costWei: "0" });
    expect(bundle.models.map((m) => [m.source, m.target, m.jobs])).to.deep.equal([
      ["gpt-4o-mini-2024-07-18", "llama-3.1-8b-instruct", 2],
      ["gpt-4o-2024-08-06", "llama-3.3-70b-instruct", 1],
      [null, null, 2],
    ]);
    expect(bundle.totals).to.deep.equal({
      jobs: 5,
      mapped: 3,
      noEquivalent: 0,
      unknown: 0,
      unstated: 2,
      priced: 3,
      unpriced: 2,
      costUsd: "0.00042425",
      costWei: "131517500000",
    });
    expect(bundle.credits).to.deep.include({
      grantId: grantIdOf({ user: ALICE, platform: "openai", sourceIds: bundle.jobs.map((job) => job.sourceId) }),
      user: ALICE,
      basisWei: "131517500000",
      bonusBps: 1000,
      amountWei: "13151750000",
      expiresAt: bundle.createdAt + MIGRATION_CREDIT_LIFETIME_SECONDS,
    });
    expect(bundle.createdAt).to.be.within(before, before + 60);
    const { digest: _d, credits: _c, ...content } = bundle;
    expect(bundle.digest).to.equal(keccak256(toUtf8Bytes(canonicalJson(content))));

    const history = await runTaskCapturing("platform:history", { user: ALICE, store, json: true });
    const { rows, totals } = JSON.parse(history.lines.join("")) as {
      rows: { time: string; platform: string; sourceModel: string; fabstirModel: string; costWei: string }[];
      totals: { jobs: number; costWei: string };
    };
    expect(rows.map((r) => [r.time, r.platform, r.sourceModel, r.fabstirModel, r.costWei])).to.deep.equal([
      ["2024-11-13T18:36:18.000Z", "openai", "gpt-4o-mini-2024-07-18", "llama-3.1-8b-instruct", "2604000000"],
      ["2024-11-13T18:36:21.000Z", "openai", "gpt-4o-2024-08-06", "llama-3.3-70b-instruct", "127100000000"],
      ["2024-11-13T18:36:30.000Z", "openai", "gpt-4o-mini-2024-07-18", "llama-3.1-8b-instruct", "1813500000"],
    ]);
    expect(totals).to.deep.include({ jobs: 3, costWei: "131517500000" });
    const table = await runTaskCapturing("platform:history", { user: ALICE, store, limit: "1" });
    expect(table.lines[2]).to.match(
      /^2024-11-13T18:36:18\.000Z\s+openai\s+gpt-4o-mini-2024-07-18 → llama-3\.1-8b-instruct\s+completed/,
    );
    expect(table.lines.at(-1)).to.include("1 job(s)");

    const db = openStore(store, { readOnly: true });
    const stored = jobsOfUser(db, ALICE).jobs[0];
    db.close();
    expect(stored).to.deep.include({
      id: `openai/${ALICE_LOWER}/request-1`,
      model: "gpt-4o-mini-2024-07-18",
      promptHash: `0x${"0".repeat(64)}`, // no prompt in the export
      payment: { amount: "2604000000", token: "ETH", usdValue: "0.0000084" },
    });

    // Re-import: refused, naming the first id; the store is unchanged.
    const files = storeFiles(store);
    const again = await importLib(
      { from: "openai", input: FIXTURE, user: ALICE, rate: "0.00031", store, apply: true },
      chain,
    );
    expect(again.code).to.equal(1);
    expect(again.text).to.include(
      `already imported for this user: job openai/${ALICE_LOWER}/request-1 is in the store`,
    );
    expect(storeFiles(store)).to.deep.equal(files);
  });

  it("without --apply writes nothing but --out; --include-content copies outputs; --user defaults to the first account", async () => {
    const store = fresh("store.db");
    const out = fresh("bundle.json");
    const run = await importTask({ rate: "0.0004", store, out, includeContent: true, json: true });
    expect(run.code, run.text).to.equal(0);
    expect(existsSync(store)).to.equal(false);
    const printed = JSON.parse(run.text) as { bundle: ImportBundle; store: null };
    const [first] = await ethers.getSigners();
    expect(printed.bundle.user).to.equal(first!.address);
    expect(printed.store).to.equal(null);
    expect(printed.bundle.jobs[0]!.content).to.deep.equal({ output: ["Hello! How can I help you today?"] });
    expect(readBundle(out).digest).to.equal(printed.bundle.digest);
  });

  it("reports unknown models without mapping them to anything", async () => {
    const input = fresh("unknown.jsonl");
    writeFileSync(input, readFileSync(FIXTURE, "utf8").replaceAll("gpt-4o-2024-08-06", "gpt-9-preview"));
    const run = await importTask({ input, user: ALICE, rate: "0.0003", json: true });
    const bundle = (JSON.parse(run.text) as { bundle: ImportBundle }).bundle;
    expect(bundle.jobs[1]).to.deep.include({
      sourceModel: "gpt-9-preview",
      model: null,
      mapping: "unknown",
      pricing: "unpriced",
    });
    expect(bundle.totals).to.deep.include({ unknown: 1, mapped: 2 });
    const text = await importTask({ input, user: ALICE, rate: "0.0003" });
    expect(text.text).to.include("gpt-9-preview → (unknown: not in the model map): 1 job(s), 0 USD");
  });

  it("an edited bundle is refused by readBundle", async () => {
    const out = fresh("bundle.json");
    await importTask({ user: ALICE, rate: "0.00031", out });
    const bundle = JSON.parse(readFileSync(out, "utf8")) as ImportBundle;
    bundle.jobs[0]!.costWei = "999999999999";
    expect(() => parseBundle(JSON.stringify(bundle), "b.json")).to.throw(
      ImportError,
      /\$\.digest: .* the bundle was edited/,
    );
    bundle.digest = bundleDigest(bundle);
    expect(() => parseBundle(JSON.stringify(bundle), "b.json")).to.throw(
      ImportError,
      /\$\.models does not follow from the jobs/,
    );
    expect(() => parseBundle('{"format":"x"}', "b.json")).to.throw(
      ImportError,
      /b\.json: not an import bundle: \$\.format/,
    );
  });

  describe("refusals change nothing: the store's bytes and the chain's block number", () => {
    // Malformed exports of every platform, through the task with --apply: test/offchain/PlatformImportApply.ts.

    it("a store below the latest schema version is refused with the schema:migrate command", async () => {
      const store = fresh("store.db");
      const db = openStore(store);
      migrateTo(db, 2);
      db.close();
      const files = storeFiles(store);
      const run = await importTask({ user: ALICE, rate: "0.0003", store, apply: true });
      expect(run.code).to.equal(1);
      expect(run.text).to.include(
        `is at schema version 2, the import writes version 3; run \`npx hardhat schema:migrate --to 3 --store ${store}\``,
      );
      expect(storeFiles(store)).to.deep.equal(files);
    });

    it("bad options are refused before anything is read from the chain", async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ from: "bedrock" }, "--from must be one of openai, huggingface, replicate"],
        [{ user: ALICE }, "pass --rate <ETH per USD> or --price-feed"],
        [{ user: ALICE, rate: "0.1", priceFeed: ALICE }, "not both"],
        [{ user: "0x12", rate: "0.1" }, "--user must be a 0x-prefixed 20-byte address"],
        [{ user: ALICE, rate: "0,1" }, "--rate (ETH per USD) must be a decimal number"],
        [{ user: ALICE, rate: "0.1", maxAge: "60" }, "--max-age applies to --price-feed only"],
        [{ user: ALICE, rate: "0.1", out: "/no/such/dir/b.json" }, "does not exist"],
        [{ user: ALICE, priceFeed: ALICE }, "no contract at that address on this network"],
      ];
      for (const [args, message] of cases) {
        const run = await importTask(args);
        expect(run.code, JSON.stringify(args)).to.equal(1);
        expect(run.text).to.include(message);
      }
    });

    it("a store id above 200 characters is refused, and ids differ across users and platforms", () => {
      expect(recordIdOf("openai", ALICE, "x")).to.not.equal(recordIdOf("replicate", ALICE, "x"));
      expect(recordIdOf("openai", ALICE, "x")).to.not.equal(recordIdOf("openai", ALICE.replace("A11cE", "B0B0B"), "x"));
      expect(() => recordIdOf("openai", ALICE, "x".repeat(200))).to.throw(ImportError, /above the store's 200/);
    });

    it("platform:history refuses a bad user and a missing store, and lists other records as native", async () => {
      expect((await runTaskCapturing("platform:history", { user: "0x1" })).lines.join()).to.include("--user must be");
      expect(
        (await runTaskCapturing("platform:history", { user: ALICE, store: fresh("none.db") })).lines.join(),
      ).to.include("no store at");
      const store = fresh("store.db");
      const db = openStore(store);
      migrateTo(db, 3);
      insertJobs(db, [
        {
          id: "job-1",
          user: ALICE,
          model: "llama-3.1-8b-instruct",
          promptHash: `0x${"ab".repeat(32)}`,
          status: "completed",
          payment: { amount: "5", token: "ETH", usdValue: null },
          metadata: { createdAt: "2025-01-01T00:00:00.000Z", updatedAt: "2025-01-01T00:00:00.000Z", schemaVersion: 3 },
        },
      ]);
      db.close();
      const run = await runTaskCapturing("platform:history", { user: ALICE, store });
      expect(run.lines[2]).to.match(
        /fabstir\s+llama-3\.1-8b-instruct → llama-3\.1-8b-instruct\s+completed\s+unpriced USD\s+5 wei/,
      );
    });
  });
});
