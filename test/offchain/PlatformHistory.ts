import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ImportError } from "../../lib/platforms/importError.js";
import {
  platformHistory,
  platformHistoryJson,
  platformHistoryLines,
  type HistoryChain,
  type PlatformHistoryOptions,
} from "../../lib/platforms/history.js";
import { recordIdOf } from "../../lib/platforms/records.js";
import { openStore } from "../../lib/store/database.js";
import { insertJobs } from "../../lib/store/jobs.js";
import { migrateTo } from "../../lib/store/migrate.js";
import { LATEST_VERSION } from "../../lib/store/migrations/index.js";
import type { JobRecordV3 } from "../../lib/store/records.js";
import { ETH, openCreditsEscrow } from "../helpers/creditsEscrow.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";

const ALICE = "0x00000000000000000000000000000000000A11cE";
const BOB = "0x0000000000000000000000000000000000000B0b";

/** A v3 record of `user`; `platform` makes it an imported one (its id names the platform). */
function job(user: string, n: number, amount: string, usdValue: string | null, platform?: "openai"): JobRecordV3 {
  const time = `2025-01-0${n}T00:00:00.000Z`;
  return {
    id: platform === undefined ? `job-${user}-${n}` : recordIdOf(platform, user, `req-${n}`),
    user,
    model: platform === undefined ? "llama-3.1-8b-instruct" : "gpt-4o-mini-2024-07-18",
    promptHash: `0x${"ab".repeat(32)}`,
    status: "completed",
    payment: { amount, token: "ETH", usdValue },
    metadata: { createdAt: time, updatedAt: time, schemaVersion: 3 },
  };
}

describe("PlatformHistory (lib/platforms/history.ts)", () => {
  let dir: string;
  let n = 0;
  const fresh = (name: string) => path.join(dir, `${++n}-${name}`);
  const options = (store: string, more: Partial<PlatformHistoryOptions> = {}): PlatformHistoryOptions => ({
    user: ALICE,
    store,
    models: "",
    limit: "",
    escrow: "",
    root: process.cwd(),
    ...more,
  });
  /** A store at `version` holding `records`. */
  const storeWith = (records: JobRecordV3[], version = LATEST_VERSION) => {
    const file = fresh("store.db");
    const db = openStore(file);
    migrateTo(db, version);
    if (records.length > 0) insertJobs(db, records);
    db.close();
    return file;
  };
  const refusal = async (run: Promise<unknown>) => {
    const error = await run.then(
      () => expect.fail("expected a refusal"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ImportError);
    return (error as ImportError).message;
  };

  before(() => (dir = mkdtempSync(path.join(tmpdir(), "platform-history-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a missing or malformed user and a bad --limit, saying what to pass", async () => {
    const store = storeWith([]);
    expect(await refusal(platformHistory(options(store, { user: "" })))).to.equal(
      "pass --user 0x… (whose jobs to list)",
    );
    expect(await refusal(platformHistory(options(store, { user: "0x1" })))).to.equal(
      '--user must be a 0x-prefixed 20-byte address with a valid checksum (got "0x1")',
    );
    // A mixed-case address with a wrong checksum is a typo, not another user.
    const badChecksum = ALICE.replace("A11cE", "A11Ce");
    expect(await refusal(platformHistory(options(store, { user: badChecksum })))).to.include("valid checksum");
    for (const limit of ["0", "-1", "1.5", "ten", "1234567890"]) {
      expect(await refusal(platformHistory(options(store, { limit })))).to.equal(
        `--limit must be a whole number above 0 (got "${limit}")`,
      );
    }
  });

  it("refuses a missing store, an empty one and an old one, naming the command that fixes it", async () => {
    const missing = fresh("none.db");
    expect(await refusal(platformHistory(options(missing)))).to.equal(
      `no store at ${missing}; \`npx hardhat platform:import --apply\` creates it`,
    );
    for (const version of [0, LATEST_VERSION - 1]) {
      const store = storeWith([], version);
      expect(await refusal(platformHistory(options(store)))).to.equal(
        `the store ${store} is at schema version ${version}; run \`npx hardhat schema:migrate --to ${LATEST_VERSION} --store ${store}\` first`,
      );
    }
    expect(await refusal(platformHistory(options(storeWith([]), { models: "no-such-map.json" })))).to.include(
      "cannot read the model map; pass --models <file>",
    );
  });

  it("a user without jobs gets no rows, zero totals and a line saying so", async () => {
    const store = storeWith([job(BOB, 1, "7", "0.5")]);
    const history = await platformHistory(options(store));
    expect(history).to.deep.include({ user: ALICE, store, rows: [], credits: null });
    expect(history.totals).to.deep.equal({ jobs: 0, costUsd: "0", costWei: "0", unpriced: 0 });
    expect(platformHistoryLines(history)).to.deep.equal([`No jobs for ${ALICE} in ${store}`]);
    // The user is matched in any case.
    expect((await platformHistory(options(store, { user: BOB.toLowerCase() }))).totals.jobs).to.equal(1);
  });

  it("totals the user's jobs (unpriced ones add wei, not USD), oldest first, and --limit keeps the oldest", async () => {
    const store = storeWith([
      job(ALICE, 3, "5", null),
      job(ALICE, 1, "1000", "0.25", "openai"),
      job(ALICE, 2, "20", "1.000000000000000001"),
      job(BOB, 4, "999", "9"),
    ]);
    const history = await platformHistory(options(store));
    expect(history.rows.map((r) => [r.time, r.platform, r.fabstirModel, r.costWei])).to.deep.equal([
      ["2025-01-01T00:00:00.000Z", "openai", "llama-3.1-8b-instruct", "1000"],
      ["2025-01-02T00:00:00.000Z", "fabstir", "llama-3.1-8b-instruct", "20"],
      ["2025-01-03T00:00:00.000Z", "fabstir", "llama-3.1-8b-instruct", "5"],
    ]);
    expect(history.totals).to.deep.equal({ jobs: 3, costUsd: "1.250000000000000001", costWei: "1025", unpriced: 1 });
    const lines = platformHistoryLines(history);
    expect(lines).to.have.length(6);
    expect(lines.at(-1)).to.equal(`3 job(s) for ${ALICE}: 1.250000000000000001 USD, 1025 wei (1 unpriced)`);
    expect(JSON.parse(platformHistoryJson(history))).to.deep.equal({
      user: ALICE,
      rows: history.rows,
      totals: history.totals,
      credits: null,
    });

    const oldest = await platformHistory(options(store, { limit: "2" }));
    expect(oldest.totals).to.deep.equal({ jobs: 2, costUsd: "1.250000000000000001", costWei: "1020", unpriced: 0 });
    expect(platformHistoryLines(oldest).at(-1)).to.equal(`2 job(s) for ${ALICE}: 1.250000000000000001 USD, 1020 wei`);
  });

  describe("with --escrow", () => {
    let asked = 0;
    const chain: HistoryChain = {
      provider: async () => {
        asked++;
        return ethers.provider;
      },
    };

    it("asks for the network only with an escrow, and only after the store's checks", async () => {
      asked = 0;
      await platformHistory(options(storeWith([])), chain);
      await refusal(platformHistory(options(fresh("none.db"), { escrow: ALICE }), chain));
      expect(asked).to.equal(0);
      expect(await refusal(platformHistory(options(storeWith([]), { escrow: ALICE })))).to.equal(
        "--escrow reads PaymentEscrowV2: it needs a network connection",
      );
    });

    it("refuses an escrow that is not an address or has no code", async () => {
      const store = storeWith([]);
      expect(await refusal(platformHistory(options(store, { escrow: "0x12" }), chain))).to.equal(
        '--escrow must be a 0x-prefixed 20-byte address (got "0x12")',
      );
      expect(await refusal(platformHistory(options(store, { escrow: BOB }), chain))).to.equal(
        `--escrow ${BOB}: no contract at that address on this network; check --network`,
      );
    });

    it("adds the user's live credits and their expiry, and says when they have expired", async () => {
      const s = await networkHelpers.loadFixture(openCreditsEscrow);
      const user = s.alice.address;
      const store = storeWith([job(user, 1, "3", "0.1")]);
      const none = await platformHistory(options(store, { user, escrow: s.escrowAddress }), chain);
      expect(none.credits).to.deep.equal({ escrow: s.escrowAddress, liveWei: "0", expiresAt: 0 });
      expect(platformHistoryLines(none).at(-1)).to.equal(`Live credits on PaymentEscrowV2 ${s.escrowAddress}: 0 wei`);

      await (await s.escrow.connect(s.sponsor).fundCreditPool(ETH, 1000n, { value: 1000n })).wait();
      const expiresAt = (await networkHelpers.time.latest()) + 3600;
      await (await s.escrow.connect(s.creditor).grantCredits(ethers.id("history"), user, ETH, 600n, expiresAt)).wait();
      const live = await platformHistory(options(store, { user, escrow: s.escrowAddress }), chain);
      const at = new Date(expiresAt * 1000).toISOString();
      expect(live.credits).to.deep.equal({ escrow: s.escrowAddress, liveWei: "600", expiresAt });
      expect(platformHistoryLines(live).at(-1)).to.equal(
        `Live credits on PaymentEscrowV2 ${s.escrowAddress}: 600 wei (expires ${at})`,
      );

      await networkHelpers.time.increaseTo(expiresAt + 1);
      const expired = await platformHistory(options(store, { user, escrow: s.escrowAddress }), chain);
      expect(platformHistoryLines(expired).at(-1)).to.equal(
        `Live credits on PaymentEscrowV2 ${s.escrowAddress}: 0 wei (expired ${at})`,
      );
    });
  });
});
