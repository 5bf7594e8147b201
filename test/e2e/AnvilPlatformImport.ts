import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { applyCreditPlan } from "../../lib/credits/apply.js";
import { grantIdOf } from "../../lib/credits/plan.js";
import { MIGRATION_CREDIT_LIFETIME_SECONDS, type CreditPlan } from "../../lib/credits/types.js";
import type { ImportBundle } from "../../lib/platforms/bundle.js";
import type { CreditOutcome } from "../../lib/platforms/platformImport.js";
import type { PaymentEscrowV2, TestPriceFeed } from "../../typechain-types/index.js";
import { runTask, startAnvil, type AnvilNode } from "../helpers/anvil.js";

const DIR = "test/fixtures/platforms";
const ETH = "0x0000000000000000000000000000000000000000";
const POOL = 10n ** 18n;
const USERS = {
  openai: "0x00000000000000000000000000000000000A11cE",
  replicate: "0x0000000000000000000000000000000000000B0b",
  huggingface: "0x000000000000000000000000000000000000CAFE",
  recovery: "0x000000000000000000000000000000000000dEaD",
} as const;
const INPUTS = {
  openai: "openai-batch-output.jsonl",
  replicate: "replicate-predictions.json",
  huggingface: "huggingface-chat-log.jsonl",
} as const;

interface Printed {
  bundle: ImportBundle;
  store: { inserted: number } | null;
  credit: CreditOutcome;
}

/** A store file's content hash ("none" when it does not exist). */
function storeBytes(file: string): string {
  return existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex") : "none";
}

describe("end to end on anvil: platform:import --apply grants the credits, then writes the store", function () {
  this.timeout(120_000);
  let anvil: AnvilNode;
  let connection: NetworkConnection;
  let escrow: PaymentEscrowV2;
  let feed: TestPriceFeed;
  let dir: string;
  let base: string[];
  const printed: Partial<Record<keyof typeof INPUTS, Printed>> = {};

  const importRun = (from: keyof typeof INPUTS, user: string, store: string, extra: string[] = []) =>
    runTask(anvil.url, [
      "platform:import",
      ...["--from", from, "--input", path.join(DIR, INPUTS[from]), "--user", user],
      ...["--store", path.join(dir, store), "--apply", "--json", ...base, ...extra],
    ]);
  /** What a refusal must leave alone: block number, pool, the user's credits. */
  const chain = async (user: string) => ({
    block: await connection.ethers.provider.getBlockNumber(),
    pool: await escrow.creditPool(ETH),
    credits: await escrow.liveCreditsOf(user, ETH),
  });
  const latest = async () => (await connection.ethers.provider.getBlock("latest"))!.timestamp;

  before(async () => {
    anvil = await startAnvil();
    dir = mkdtempSync(path.join(tmpdir(), "anvil-import-"));
    connection = await hre.network.create({ network: "localhost", override: { url: anvil.url } });
    const { ethers } = connection;
    // The operator is the node's first account: the one the task signs with.
    const [operator, treasury] = await ethers.getSigners();
    // A finalized V2 escrow is all the credits need: deployed as deploy/v2.ts does (UUPS proxy), with
    // an empty migration finalized, CREDITS_ROLE granted to the operator and the pool funded.
    escrow = (await (
      await upgrades(hre, connection)
    ).deployProxy(
      await ethers.getContractFactory("PaymentEscrowV2"),
      [operator!.address, operator!.address, treasury!.address, 250n],
      { kind: "uups", initializer: "initialize" },
    )) as unknown as PaymentEscrowV2;
    await escrow.waitForDeployment();
    await (await escrow.finalizeMigration(ethers.ZeroHash, 0n, [ETH], [0n])).wait();
    await (await escrow.grantRole(await escrow.CREDITS_ROLE(), operator!.address)).wait();
    await (await escrow.fundCreditPool(ETH, POOL, { value: POOL })).wait();
    feed = await ethers.deployContract("TestPriceFeed", [8, "ETH / USD"]);
    await (await feed.setRound(1, 2_500n * 10n ** 8n, await latest(), 1)).wait();
    base = ["--price-feed", await feed.getAddress(), "--escrow", await escrow.getAddress()];
  });
  after(async () => {
    await connection?.close();
    await anvil?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("every platform: the grant is on chain with the plan's amount and expiry, 10% of the priced spend", async () => {
    // The three users' imports are independent: run as three processes at once.
    const froms = Object.keys(INPUTS) as (keyof typeof INPUTS)[];
    const runs = await Promise.all(froms.map((from) => importRun(from, USERS[from], `${from}.db`)));
    let granted = 0n;
    for (const [i, from] of froms.entries()) {
      const run = runs[i]!;
      expect(run.code, run.stderr).to.equal(0);
      const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as Printed;
      printed[from] = out;
      const { bundle, credit } = out;
      const amount = BigInt(bundle.totals.costWei) / 10n;
      expect(bundle.credits.amountWei).to.equal(amount.toString());
      expect(bundle.conversion).to.deep.include({ kind: "price-feed", answer: "250000000000", roundId: "1" });
      if (from === "huggingface") {
        // Nothing in the Hugging Face log is priced: no grant, the store is still written.
        expect(amount).to.equal(0n);
        expect(credit).to.deep.equal({ status: "nothing-priced" });
      } else {
        expect(amount > 0n).to.equal(true);
        const grant = await escrow.grantOf(bundle.credits.grantId);
        expect([grant.user, grant.token, grant.amount, grant.expiresAt]).to.deep.equal([
          USERS[from],
          ETH,
          amount,
          BigInt(bundle.createdAt + MIGRATION_CREDIT_LIFETIME_SECONDS),
        ]);
        expect(await escrow.liveCreditsOf(USERS[from], ETH)).to.equal(amount);
        expect(credit).to.deep.include({ status: "granted", amountWei: amount.toString() });
        const { txHash, blockNumber } = credit as { txHash: string; blockNumber: number };
        expect((await connection.ethers.provider.getTransactionReceipt(txHash))!.blockNumber).to.equal(blockNumber);
        granted += amount;
      }
    }
    expect(await escrow.creditPool(ETH)).to.equal(POOL - granted);
    expect(printed.openai!.store!.inserted).to.equal(3);

    const history = await runTask(anvil.url, [
      "platform:history",
      ...["--user", USERS.openai, "--store", path.join(dir, "openai.db"), "--json"],
      ...["--escrow", await escrow.getAddress()],
    ]);
    expect(history.code, history.stderr).to.equal(0);
    const { rows, totals, credits } = JSON.parse(history.stdout.trim().split("\n").at(-1)!) as {
      rows: { platform: string; costWei: string }[];
      totals: { jobs: number; costWei: string };
      credits: { liveWei: string; expiresAt: number };
    };
    expect(credits).to.deep.include({
      liveWei: printed.openai!.bundle.credits.amountWei,
      expiresAt: printed.openai!.bundle.credits.expiresAt,
    });
    expect(rows.map((r) => r.platform)).to.deep.equal(["openai", "openai", "openai"]);
    expect(totals).to.deep.include({ jobs: 3, costWei: printed.openai!.bundle.totals.costWei });
  });

  it("a second run is refused as already imported, with no new grant", async () => {
    const before = await chain(USERS.openai);
    const bytes = storeBytes(path.join(dir, "openai.db"));
    const again = await importRun("openai", USERS.openai, "openai.db");
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include("is already imported for this user");
    expect(await chain(USERS.openai)).to.deep.equal(before);
    expect(storeBytes(path.join(dir, "openai.db"))).to.equal(bytes);
  });

  it("recovery: a grant made by a run that died before its store write; the re-run completes without a second grant", async () => {
    // The dead run's grant: the same import (user, platform, request ids), so the same grant id.
    const first = printed.openai!.bundle;
    const plan: CreditPlan = {
      ...first.credits,
      grantId: grantIdOf({ user: USERS.recovery, platform: "openai", sourceIds: first.jobs.map((j) => j.sourceId) }),
      user: USERS.recovery,
      expiresAt: (await latest()) + MIGRATION_CREDIT_LIFETIME_SECONDS - 60,
    };
    const [operator] = await connection.ethers.getSigners();
    const dead = await applyCreditPlan(escrow.connect(operator!), plan);
    expect(dead.status).to.equal("granted");
    const before = await chain(USERS.recovery);

    const run = await runTask(anvil.url, [
      "platform:import",
      ...["--from", "openai", "--input", path.join(DIR, INPUTS.openai), "--user", USERS.recovery],
      ...["--store", path.join(dir, "recovery.db"), "--apply", ...base],
    ]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include(
      `Already granted in tx ${dead.txHash}, block ${dead.blockNumber} on PaymentEscrowV2 ${await escrow.getAddress()} (${plan.amountWei} wei, expires ${new Date(plan.expiresAt * 1000).toISOString()}); live credits of the user now ${plan.amountWei} wei`,
    );
    expect(run.stdout).to.include("3 job record(s) written");
    expect(await chain(USERS.recovery)).to.deep.equal(before);
  });

  it("a stale feed is refused with nothing changed", async () => {
    await (await feed.setRound(2, 2_500n * 10n ** 8n, (await latest()) - 7_200, 2)).wait();
    const before = await chain(USERS.openai);
    const run = await importRun("replicate", USERS.openai, "stale.db");
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/round 2: updated \d+ s ago .* older than --max-age 3600 s/);
    expect(await chain(USERS.openai)).to.deep.equal(before);
    expect(existsSync(path.join(dir, "stale.db"))).to.equal(false);
    await (await feed.setRound(3, 2_500n * 10n ** 8n, await latest(), 3)).wait();
  });

  it("a signer without CREDITS_ROLE is refused with what to ask for, and nothing changed", async () => {
    const [operator] = await connection.ethers.getSigners();
    await (await escrow.revokeRole(await escrow.CREDITS_ROLE(), operator!.address)).wait();
    const before = await chain(USERS.openai);
    const run = await importRun("replicate", USERS.openai, "no-role.db");
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include(`ask governance to grant CREDITS_ROLE to ${operator!.address}`);
    expect(await chain(USERS.openai)).to.deep.equal(before);
    expect(existsSync(path.join(dir, "no-role.db"))).to.equal(false);
  });
});
