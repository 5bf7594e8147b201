import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { applyCreditPlan } from "../../lib/credits/apply.js";
import { MIGRATION_CREDIT_LIFETIME_SECONDS } from "../../lib/credits/types.js";
import { recordedEscrow } from "../../lib/platforms/platformImport.js";
import { ETH, openCreditsEscrow, type CreditsSetup } from "../helpers/creditsEscrow.js";
import { ethers, networkHelpers } from "../helpers/fixtures.js";
import { chainState, importLib, inProcessChain, storeFiles } from "../helpers/importChain.js";
import { runTaskCapturing } from "../helpers/taskOutput.js";

const DIR = "test/fixtures/platforms";
const read = (name: string) => readFileSync(path.join(DIR, name), "utf8");
const ALICE = "0x00000000000000000000000000000000000A11cE";
const BOB = "0x0000000000000000000000000000000000000B0b";
const ONE_ETH = 10n ** 18n;

let dir: string;
let n = 0;
const fresh = (name: string) => path.join(dir, `${++n}-${name}`);

async function importTask(args: Record<string, unknown>) {
  const run = await runTaskCapturing("platform:import", args);
  return { ...run, text: run.lines.join("\n") };
}

/** The fixtures, with the jobs per source model each import reports and the rows it stores. */
const PLATFORMS: {
  name: string;
  from: string;
  input: () => string;
  models: [string, number][];
  stored: number;
}[] = [
  {
    name: "openai (output file)",
    from: "openai",
    input: () => path.join(DIR, "openai-batch-output.jsonl"),
    models: [
      ["gpt-4o-mini-2024-07-18 → llama-3.1-8b-instruct", 2],
      ["gpt-4o-2024-08-06 → llama-3.3-70b-instruct", 1],
      ["(none) → (the export names no model)", 2],
    ],
    stored: 3,
  },
  {
    // The input file followed by the output file (`cat in out`): prompts and models of failed requests.
    name: "openai (input + output)",
    from: "openai",
    input: () => {
      const file = path.join(dir, "openai-in-out.jsonl");
      writeFileSync(file, read("openai-batch-input.jsonl") + read("openai-batch-output.jsonl"));
      return file;
    },
    models: [
      ["gpt-4o-mini-2024-07-18 → llama-3.1-8b-instruct", 2],
      ["gpt-4o-2024-08-06 → llama-3.3-70b-instruct", 1],
      ["gpt-4o → llama-3.3-70b-instruct", 1],
      ["gpt-4o-mini → llama-3.1-8b-instruct", 1],
    ],
    stored: 3,
  },
  {
    // The stored chat completions list (dashboard Logs), two of its completions with their messages joined.
    name: "openai (stored chat completions)",
    from: "openai",
    input: () => path.join(DIR, "openai-stored-completions.json"),
    models: [
      ["gpt-4o-mini-2024-07-18 → llama-3.1-8b-instruct", 2],
      ["gpt-4o-2024-08-06 → llama-3.3-70b-instruct", 1],
      ["gpt-3.5-turbo-0125 → mistral-7b-instruct-v0.3", 1],
    ],
    stored: 4,
  },
  {
    name: "replicate",
    from: "replicate",
    input: () => path.join(DIR, "replicate-predictions.json"),
    models: [
      ["meta/meta-llama-3-8b-instruct → llama-3.1-8b-instruct", 2],
      ["black-forest-labs/flux-schnell → flux.1-schnell", 1],
      ["stability-ai/sdxl → stable-diffusion-xl-base-1.0", 1],
      ["meta/meta-llama-3-70b-instruct → llama-3.1-70b-instruct", 1],
    ],
    stored: 5,
  },
  {
    name: "huggingface",
    from: "huggingface",
    input: () => path.join(DIR, "huggingface-chat-log.jsonl"),
    models: [
      ["meta-llama/Llama-3.1-8B-Instruct → llama-3.1-8b-instruct", 2],
      ["deepseek-ai/DeepSeek-V3-0324:novita → (unknown: not in the model map)", 1],
      ["Qwen/Qwen2.5-72B-Instruct → qwen2.5-72b-instruct", 1],
    ],
    stored: 3,
  },
];

/** models/map.json without prices: every job unpriced, so --apply writes the store and grants nothing. */
function unpricedMap(): string {
  const map = JSON.parse(readFileSync("models/map.json", "utf8")) as {
    platforms: Record<string, Record<string, { price?: unknown }>>;
  };
  for (const models of Object.values(map.platforms)) for (const entry of Object.values(models)) delete entry.price;
  const file = fresh("map-unpriced.json");
  writeFileSync(file, JSON.stringify(map));
  return file;
}

/** Per platform: truncated, wrong types, huge numbers, empty, duplicate ids; each with its line or path. */
function malformed(from: string): [string, string, RegExp][] {
  if (from === "openai-stored") {
    const text = read("openai-stored-completions.json");
    return [
      ["truncated", text.slice(0, 900), /:\d+: the file is truncated \(it ends inside the JSON\)/],
      [
        "types",
        text.replace('"model": "gpt-4o-2024-08-06"', '"model": 4'),
        /\$\[0\]\.data\[1\]\.model: Expected string/,
      ],
      [
        "huge",
        text.replace('"completion_tokens": 20', '"completion_tokens": 18446744073709551616'),
        /\$\[1\]\.data\[1\]\.usage\.completion_tokens: is above 2\^53 - 1/,
      ],
      ["empty", " \n", /: the file is empty/],
      [
        "duplicate",
        text.replaceAll("chatcmpl-BNxU1Vx3zA4c5d6e7f8g9h0i1k-1", "chatcmpl-BNxU1Vx3zA4c5d6e7f8g9h0i1k-0"),
        /message id "chatcmpl-BNxU1Vx3zA4c5d6e7f8g9h0i1k-0" at \$\[1\]\.data\[0\]\.messages\[1\]\.data\[0\] repeats/,
      ],
    ];
  }
  if (from === "openai") {
    const text = read("openai-batch-output.jsonl");
    return [
      ["truncated", text.slice(0, 400), /:1: the last line is truncated/],
      ["types", '{"id":"a","custom_id":5,"response":null,"error":null}\n', /:1: .*\$\.custom_id/],
      [
        "huge",
        text.split("\n")[0]!.replace('"prompt_tokens": 20', '"prompt_tokens": 90071992547409930') + "\n",
        /:1: .*prompt_tokens: is above 2\^53 - 1/,
      ],
      ["empty", "", /: the file is empty/],
      ["duplicate", text.replace("request-2", "request-1"), /:2: .*repeats line 1/],
    ];
  }
  if (from === "replicate") {
    const text = read("replicate-predictions.json");
    return [
      ["truncated", text.slice(0, 400), /:\d+: the file is truncated \(it ends inside the JSON\)/],
      ["types", text.replace('"status": "succeeded"', '"status": 5'), /\$\.results\[0\]\.status/],
      [
        "huge",
        text.replace('"input_token_count": 14', '"input_token_count": 9007199254740993'),
        /\$\.results\[0\]\.metrics\.input_token_count: is above 2\^53 - 1/,
      ],
      ["empty", "", /: the file is empty/],
      [
        "duplicate",
        text.replaceAll("7kz3m1f0gsrj00cm4r9a2b1c5d", "q8h7x2k3vnrj20cm4r8bxzq9m4"),
        /prediction id "q8h7x2k3vnrj20cm4r8bxzq9m4" at \$\.results\[1\] repeats \$\.results\[0\]/,
      ],
    ];
  }
  const text = read("huggingface-chat-log.jsonl");
  return [
    ["truncated", text.trimEnd().slice(0, -30), /:4: the last line is truncated/],
    ["types", text.replace('"id": "call-0001"', '"id": 1'), /:1: .*\$\.id/],
    [
      "huge",
      text.replace('"completion_tokens": 8', '"completion_tokens": 18446744073709551616'),
      /:1: .*completion_tokens: is above 2\^53 - 1/,
    ],
    ["empty", "\n", /: the file is empty/],
    ["duplicate", text.replaceAll("call-0002", "call-0001"), /:2: call id "call-0001" repeats line 1/],
  ];
}

/** A finalized escrow whose ETH credit pool holds 1 ETH; its creditor holds CREDITS_ROLE. */
async function fundedEscrow(): Promise<CreditsSetup> {
  const s = await openCreditsEscrow();
  await (await s.escrow.connect(s.sponsor).fundCreditPool(ETH, ONE_ETH, { value: ONE_ETH })).wait();
  return s;
}

describe("PlatformImport --apply", () => {
  before(() => (dir = mkdtempSync(path.join(tmpdir(), "platform-apply-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("every platform's fixture through the task", () => {
    for (const p of PLATFORMS) {
      it(`${p.name}, ${p.models.length} models: the report without --apply, then the store with --apply`, async () => {
        const input = p.input();
        const store = fresh("store.db");
        const dry = await importTask({ from: p.from, input, user: ALICE, rate: "0.0004", store });
        expect(dry.code, dry.text).to.equal(0);
        for (const [model, jobs] of p.models) expect(dry.text).to.include(`  ${model}: ${jobs} job(s)`);
        expect(dry.text.match(/^ {2}\S.* job\(s\)/gm)).to.have.length(p.models.length);
        expect(dry.text).to.include("Nothing written to the store and nothing granted");
        expect(existsSync(store)).to.equal(false);

        // Unpriced, the plan is 0 wei: --apply writes the store and sends nothing (no escrow needed).
        const applied = await importTask({
          from: p.from,
          input,
          user: ALICE,
          rate: "0.0004",
          store,
          models: unpricedMap(),
          apply: true,
        });
        expect(applied.code, applied.text).to.equal(0);
        for (const [model, jobs] of p.models) expect(applied.text).to.include(`  ${model}: ${jobs} job(s)`);
        expect(applied.text).to.include("No credit: nothing priced (a plan of 0 wei sends nothing).");
        expect(applied.text).to.include(`${p.stored} job record(s) written (new store`);
        const history = await runTaskCapturing("platform:history", { user: ALICE, store, json: true });
        const { rows } = JSON.parse(history.lines.join("")) as { rows: { platform: string }[] };
        expect(rows.map((r) => r.platform)).to.deep.equal(Array(p.stored).fill(p.from));
      });
    }
  });

  describe("malformed exports of every platform leave the store byte-identical", () => {
    for (const label of ["openai", "openai-stored", "replicate", "huggingface"]) {
      const from = label === "openai-stored" ? "openai" : label;
      for (const [kind, content, message] of malformed(label)) {
        it(`${label}: ${kind}`, async () => {
          const store = fresh("store.db");
          const seed = await importTask({
            from: "huggingface",
            input: path.join(DIR, "huggingface-chat-log.jsonl"),
            user: ALICE,
            rate: "0.0004",
            store,
            apply: true,
          });
          expect(seed.code, seed.text).to.equal(0);
          const files = storeFiles(store);
          const input = fresh(`${kind}.${["replicate", "openai-stored"].includes(label) ? "json" : "jsonl"}`);
          writeFileSync(input, content);
          const out = fresh("never.json");
          const run = await importTask({ from, input, user: ALICE, rate: "0.0004", store, out, apply: true });
          expect(run.code).to.equal(1);
          expect(run.text).to.match(message);
          expect(run.text).to.include(path.basename(input));
          expect(storeFiles(store)).to.deep.equal(files);
          expect(existsSync(out)).to.equal(false);
        });
      }
    }
  });

  describe("on the shared in-process chain (the library the task calls)", () => {
    const OPENAI = path.join(DIR, "openai-batch-output.jsonl");

    it("grants 10% of the priced spend with the plan's expiry, then writes the store; a re-run grants nothing", async () => {
      const s = await networkHelpers.loadFixture(fundedEscrow);
      const store = fresh("store.db");
      const run = await importLib(
        {
          from: "replicate",
          input: path.join(DIR, "replicate-predictions.json"),
          user: BOB,
          rate: "0.0004",
          store,
          apply: true,
        },
        inProcessChain(s),
      );
      expect(run.code, run.text).to.equal(0);
      const { bundle, credit } = run.result!;
      const amount = BigInt(bundle.totals.costWei) / 10n;
      expect(bundle.credits.amountWei).to.equal(amount.toString());
      const grant = await s.escrow.grantOf(bundle.credits.grantId);
      expect([grant.user, grant.token, grant.amount, grant.expiresAt]).to.deep.equal([
        BOB,
        ETH,
        amount,
        BigInt(bundle.createdAt + MIGRATION_CREDIT_LIFETIME_SECONDS),
      ]);
      expect(await s.escrow.liveCreditsOf(BOB, ETH)).to.equal(amount);
      expect(await s.escrow.creditPool(ETH)).to.equal(ONE_ETH - amount);
      expect(credit).to.deep.include({ status: "granted", liveCreditsWei: amount.toString() });
      const receipt = await ethers.provider.getTransactionReceipt((credit as { txHash: string }).txHash);
      expect(receipt!.blockNumber).to.equal((credit as { blockNumber: number }).blockNumber);
      expect(run.text).to.include(`expires ${new Date(bundle.credits.expiresAt * 1000).toISOString()}`);
      expect(run.text).to.include("5 job record(s) written");

      const before = await chainState(s, BOB);
      const files = storeFiles(store);
      const again = await importLib(
        {
          from: "replicate",
          input: path.join(DIR, "replicate-predictions.json"),
          user: BOB,
          rate: "0.0004",
          store,
          apply: true,
        },
        inProcessChain(s),
      );
      expect(again.code).to.equal(1);
      expect(again.text).to.include("is already imported for this user");
      expect(await chainState(s, BOB)).to.deep.equal(before);
      expect(storeFiles(store)).to.deep.equal(files);
    });

    it("recovers a run that died after the grant: the re-run writes the store and sends no second grant", async () => {
      const s = await networkHelpers.loadFixture(fundedEscrow);
      const store = fresh("store.db");
      // The first run (--apply, so dated by the chain): its plan granted, then the process "died"
      // before the store write.
      const first = await importLib(
        { from: "openai", input: OPENAI, user: ALICE, rate: "0.0004", now: await networkHelpers.time.latest() },
        inProcessChain(s),
      );
      const plan = first.result!.bundle.credits;
      const granted = await applyCreditPlan(s.escrow.connect(s.creditor), plan);
      expect(existsSync(store)).to.equal(false);

      // Run again later, at another rate: the grant id names the import, so the grant is adopted.
      const before = await chainState(s, ALICE);
      const run = await importLib(
        { from: "openai", input: OPENAI, user: ALICE, rate: "0.0005", store, apply: true, now: plan.expiresAt - 1e6 },
        inProcessChain(s),
      );
      expect(run.code, run.text).to.equal(0);
      expect(run.text).to.include(
        `Already granted in tx ${granted.txHash}, block ${granted.blockNumber} on PaymentEscrowV2 ${s.escrowAddress} (${plan.amountWei} wei, expires ${new Date(plan.expiresAt * 1000).toISOString()})`,
      );
      expect(run.text).to.include("3 job record(s) written");
      expect(await chainState(s, ALICE)).to.deep.equal(before);
      expect(await s.escrow.liveCreditsOf(ALICE, ETH)).to.equal(BigInt(plan.amountWei));
    });

    it("refusals at the escrow check leave the store uncreated and the chain unchanged", async () => {
      const s = await networkHelpers.loadFixture(fundedEscrow);
      const args = { from: "openai", input: OPENAI, user: ALICE, rate: "0.0004", apply: true };
      const cases: [Parameters<typeof inProcessChain>, Record<string, unknown>, string][] = [
        [
          [s, s.stranger],
          {},
          `${s.stranger.address} lacks CREDITS_ROLE on ${s.escrowAddress}: ask governance to grant CREDITS_ROLE`,
        ],
        [
          [undefined],
          {},
          "no PaymentEscrowV2 is recorded for this network (deployments/<chainId>.json): pass --escrow <address>",
        ],
        [[undefined], { escrow: ALICE }, `--escrow ${ALICE}: no contract at that address`],
        [[undefined], { escrow: "0x12" }, "--escrow must be a 0x-prefixed 20-byte address"],
      ];
      for (const [chainArgs, extra, message] of cases) {
        const before = await chainState(s, ALICE);
        const store = fresh("store.db");
        const run = await importLib({ ...args, store, ...extra }, inProcessChain(...chainArgs));
        expect(run.code, run.text).to.equal(1);
        expect(run.text).to.include(message);
        expect(existsSync(store)).to.equal(false);
        expect(await chainState(s, ALICE)).to.deep.equal(before);
      }
      // A short pool and a paused escrow: refused the same way, with what to do.
      const empty = await openCreditsEscrow();
      const store = fresh("store.db");
      const short = await importLib({ ...args, store }, inProcessChain(empty));
      expect(short.text).to.match(/the credit pool of 0x0{40} holds 0, \d+ short of \d+: fund it with fundCreditPool/);
      await (await s.escrow.connect(s.admin).pause()).wait();
      const paused = await importLib({ ...args, store }, inProcessChain(s));
      expect(paused.text).to.include("is paused: apply the plan after it is unpaused");
      expect(existsSync(store)).to.equal(false);
      const noApply = await importLib({ ...args, apply: false, escrow: s.escrowAddress }, inProcessChain(s));
      expect(noApply.text).to.include("--escrow applies to --apply only");
    });

    it("prices with the feed; a stale feed is refused with nothing written or sent", async () => {
      const s = await networkHelpers.loadFixture(fundedEscrow);
      const feed = await ethers.deployContract("TestPriceFeed", [8, "ETH / USD"]);
      const now = await networkHelpers.time.latest();
      await (await feed.setRound(1, 2_500n * 10n ** 8n, now - 7_200, 1)).wait();
      const store = fresh("store.db");
      const args = {
        from: "openai",
        input: OPENAI,
        user: ALICE,
        priceFeed: await feed.getAddress(),
        store,
        apply: true,
      };
      const before = await chainState(s, ALICE);
      const stale = await importLib(args, inProcessChain(s));
      expect(stale.text).to.match(/older than --max-age 3600 s; the feed has stopped/);
      expect(existsSync(store)).to.equal(false);
      expect(await chainState(s, ALICE)).to.deep.equal(before);

      await (await feed.setRound(2, 2_500n * 10n ** 8n, await networkHelpers.time.latest(), 2)).wait();
      const run = await importLib(args, inProcessChain(s));
      expect(run.code, run.text).to.equal(0);
      // 0.00042425 USD at 2,500 USD per ETH: 169,700,000,000 wei; the credit is 10% of it.
      expect(run.result!.bundle.totals.costWei).to.equal("169700000000");
      expect(await s.escrow.liveCreditsOf(ALICE, ETH)).to.equal(16970000000n);
    });

    it("a plan of 0 wei sends nothing and needs no escrow", async () => {
      const block = await ethers.provider.getBlockNumber();
      const store = fresh("store.db");
      const run = await importLib(
        {
          from: "huggingface",
          input: path.join(DIR, "huggingface-chat-log.jsonl"),
          user: ALICE,
          rate: "0.0004",
          store,
          apply: true,
        },
        inProcessChain(undefined),
      );
      expect(run.code, run.text).to.equal(0);
      expect(run.result!.credit).to.deep.equal({ status: "nothing-priced" });
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
    });

    it("finds the escrow recorded in deployments/<chainId>.json, and none for a throwaway chain", async () => {
      const deployments = fresh("deployments");
      mkdirSync(deployments);
      writeFileSync(
        path.join(deployments, "31337.json"),
        JSON.stringify({ chainId: 31337, contracts: { PaymentEscrowV2: { proxy: BOB, implementation: ALICE } } }),
      );
      expect(await recordedEscrow(31337, deployments)).to.equal(BOB);
      expect(await recordedEscrow(8453, deployments)).to.equal(undefined);
      expect(await recordedEscrow(31337, undefined)).to.equal(undefined);
    });
  });
});
