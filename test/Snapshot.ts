import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { commitmentOf, depositLeaf, jobLeaf, nodeLeaf } from "../lib/commitment.js";
import { planSeed } from "../lib/fixtures/plan.js";
import { seedV1 } from "../lib/fixtures/seed.js";
import { ensureMulticall3 } from "../lib/multicall.js";
import {
  SNAPSHOT_FORMAT,
  SnapshotError,
  readSnapshot,
  readSnapshotHeader,
  readSnapshotRecords,
  snapshotSourceFromState,
  v1SnapshotSource,
  verifySnapshot,
  writeSnapshot,
  type SnapshotSource,
} from "../lib/snapshot.js";
import { readV1State, streamV1Records, type V1ReadSummary, type V1RecordPage } from "../lib/v1State.js";
import { ethers, networkHelpers, v1Stack } from "./helpers/fixtures.js";
import { expectRejection, rejectionOf } from "./helpers/rejections.js";

const CHAIN_ID = 31337;

/** A drained V1 (every job finished) with Multicall3 installed, pinned at a block. */
async function snapshotV1() {
  const fixture = await networkHelpers.loadFixture(v1Stack);
  const limits = {
    minimumStake: await fixture.registry.minimumStake(),
    maxModels: Number(await fixture.registry.MAX_MODELS()),
  };
  const plan = planSeed({ nodes: 5, jobs: 20, users: 4, seed: "snapshot" }, limits);
  for (const job of plan.jobs) {
    if (job.status === "Posted") job.status = "Cancelled";
    if (job.status === "Claimed") job.status = "Completed";
  }
  const [admin] = fixture.signers;
  const summary = await seedV1({ provider: ethers.provider, funder: admin!, stack: fixture, devChain: true }, plan);
  expect(summary.mismatches).to.deep.equal([]);
  await ensureMulticall3(ethers.provider, { devChain: true });
  await networkHelpers.mine();
  const block = await ethers.provider.getBlockNumber();
  const contracts = { registry: fixture.registry, marketplace: fixture.marketplace, escrow: fixture.escrow };
  const addresses = {
    registry: await fixture.registry.getAddress(),
    marketplace: await fixture.marketplace.getAddress(),
    escrow: await fixture.escrow.getAddress(),
  };
  return { contracts, addresses, block };
}

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "fabstir-snapshot-"));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Writes the fixture's snapshot to `name` in the test directory and returns its path. */
async function written(name = "v1.ndjson") {
  const { contracts, block } = await networkHelpers.loadFixture(snapshotV1);
  const file = path.join(directory, name);
  const info = await writeSnapshot(file, await v1SnapshotSource(contracts, { blockTag: block, createdBy: "test" }));
  return { file, info };
}

async function lines(file: string): Promise<string[]> {
  return (await readFile(file, "utf8")).split("\n").slice(0, -1);
}

async function writeLines(file: string, content: string[]): Promise<void> {
  await writeFile(file, `${content.join("\n")}\n`);
}

/** The index of the first line holding a record of `kind` (0 is the header). */
function firstOf(content: string[], kind: string): number {
  return content.findIndex((line) => line.startsWith(`{"kind":"${kind}"`));
}

/** Asserts that reading `file` is refused with a SnapshotError whose message includes `message`. */
async function expectRefused(file: string, message: string, options = {}): Promise<SnapshotError> {
  return expectRejection(readSnapshot(file, options), SnapshotError, message);
}

async function tempFiles(): Promise<string[]> {
  return (await readdir(directory)).filter((name) => name.endsWith(".tmp"));
}

describe("V1 snapshot file", () => {
  it("round-trips V1 read at a block: header, records, commitments and hash", async () => {
    const { contracts, addresses, block } = await networkHelpers.loadFixture(snapshotV1);
    const { file, info } = await written();
    const state = await readV1State(contracts, { blockTag: block });

    const loaded = await readSnapshot(file, { expect: { chainId: CHAIN_ID, addresses } });
    expect(loaded.state).to.deep.equal({ ...state, calls: 0 });
    expect(loaded.header).to.deep.equal(info.header);
    expect(loaded.header).to.deep.equal({
      format: SNAPSHOT_FORMAT,
      version: 1,
      chainId: CHAIN_ID,
      blockNumber: block,
      blockHash: state.blockHash,
      addresses,
      counts: { nodes: state.nodes.count, jobs: state.jobs.count, deposits: state.deposits.count },
      commitments: {
        nodes: state.nodes.commitment,
        jobs: state.jobs.commitment,
        deposits: state.deposits.commitment,
      },
      totalStake: state.nodes.totalStake,
      tokens: state.deposits.tokens,
      totals: state.deposits.totals,
      modelNames: state.modelNames,
      createdBy: "test",
    });
    expect(state.jobs.count).to.equal(20);
    expect(state.deposits.count).to.be.greaterThan(4);

    const bytes = await readFile(file);
    expect(info.sha256).to.equal(createHash("sha256").update(bytes).digest("hex"));
    expect(loaded.sha256).to.equal(info.sha256);
    expect(info.bytes).to.equal(bytes.length);
    expect(await readSnapshotHeader(file, { expect: { chainId: CHAIN_ID } })).to.deep.equal(info.header);
    expect(await verifySnapshot(file)).to.deep.equal(info);

    // Line 1 is the header with bigints as decimal strings, then one record per line in migration order.
    const content = await lines(file);
    const header = JSON.parse(content[0]!);
    expect(header.totalStake).to.equal(state.nodes.totalStake.toString());
    expect(header.totals).to.deep.equal(state.deposits.totals.map(String));
    expect(content.length).to.equal(1 + state.nodes.count + state.jobs.count + state.deposits.count);
    const kinds = content.slice(1).map((line) => JSON.parse(line).kind);
    expect(kinds).to.deep.equal([
      ...Array(state.nodes.count).fill("node"),
      ...Array(state.jobs.count).fill("job"),
      ...Array(state.deposits.count).fill("deposit"),
    ]);
    const deposit = state.deposits.records[0]!;
    expect(JSON.parse(content[firstOf(content, "deposit")]!)).to.deep.equal({
      kind: "deposit",
      user: deposit.user,
      token: deposit.token,
      amount: deposit.amount.toString(),
    });
  });

  it("writes the same bytes from a state in memory, whatever the page size", async () => {
    const { contracts, addresses, block } = await networkHelpers.loadFixture(snapshotV1);
    const { file, info } = await written();
    const state = await readV1State(contracts, { blockTag: block });
    const again = path.join(directory, "again.ndjson");
    const fromState = await writeSnapshot(
      again,
      snapshotSourceFromState(state, { chainId: CHAIN_ID, addresses, createdBy: "test" }, 3),
    );
    expect(fromState.sha256).to.equal(info.sha256);
    expect(await readFile(again)).to.deep.equal(await readFile(file));
    const paged = path.join(directory, "paged.ndjson");
    const small = await v1SnapshotSource(contracts, { blockTag: block, pageSize: 2, createdBy: "test" });
    expect((await writeSnapshot(paged, small)).sha256).to.equal(info.sha256);
  });

  it("streams records back in pages with running commitments, and verifies only at the end", async () => {
    const { file, info } = await written();
    const stream = readSnapshotRecords(file, { pageSize: 4 });
    const pages: V1RecordPage[] = [];
    let next = await stream.next();
    while (next.done !== true) {
      pages.push(next.value);
      next = await stream.next();
    }
    expect(next.value).to.deep.equal(info);
    const leaves = { node: nodeLeaf, job: jobLeaf, deposit: depositLeaf } as const;
    const seen: Record<string, unknown[]> = { node: [], job: [], deposit: [] };
    for (const page of pages) {
      expect(page.records.length).to.be.within(1, 4);
      seen[page.kind]!.push(...page.records);
      expect(page.count).to.equal(seen[page.kind]!.length);
      const leaf = leaves[page.kind] as (record: unknown) => string;
      expect(page.commitment).to.equal(commitmentOf(seen[page.kind]!.map(leaf)));
    }
    expect(seen.job!.length).to.equal(info.header.counts.jobs);
    await rejectionOf(readSnapshotRecords(file, { pageSize: 0 }).next()).then((error) =>
      expect(error.message).to.equal("pageSize must be a positive integer (got 0)."),
    );
  });

  describe("refuses a tampered file, naming what is wrong", () => {
    it("an edited amount", async () => {
      const { file } = await written();
      const content = await lines(file);
      const at = firstOf(content, "deposit");
      const record = JSON.parse(content[at]!);
      record.amount = (BigInt(record.amount) + 1n).toString();
      content[at] = JSON.stringify(record);
      await writeLines(file, content);
      await expectRefused(file, "commitments.deposits is ");
      await expectRefused(file, "in the header but the deposit records fold to 0x");
    });

    it("a deleted line", async () => {
      const { file, info } = await written();
      const content = await lines(file);
      content.splice(firstOf(content, "node") + 1, 1);
      await writeLines(file, content);
      await expectRefused(
        file,
        `the header counts ${info.header.counts.nodes} nodes but there are ${info.header.counts.nodes - 1} node records`,
      );
      // A job line: the next job's id is out of sequence.
      const jobs = await written("jobs.ndjson");
      const jobLines = await lines(jobs.file);
      const at = firstOf(jobLines, "job") + 2;
      jobLines.splice(at, 1);
      await writeLines(jobs.file, jobLines);
      await expectRefused(jobs.file, `line ${at + 1}: job id 4 is out of sequence (expected 3)`);
    });

    it("an extra line", async () => {
      const { file, info } = await written();
      const content = await lines(file);
      content.push(content.at(-1)!);
      await writeLines(file, content);
      const error = await expectRefused(
        file,
        `line ${content.length}: there are more deposit records than the header's counts.deposits (${info.header.counts.deposits})`,
      );
      expect(error.line).to.equal(content.length);
    });

    it("a header whose commitment was changed", async () => {
      const { file, info } = await written();
      const content = await lines(file);
      const header = JSON.parse(content[0]!);
      header.commitments.jobs = `0x${"ab".repeat(32)}`;
      content[0] = JSON.stringify(header);
      await writeLines(file, content);
      await expectRefused(
        file,
        `commitments.jobs is 0x${"ab".repeat(32)} in the header but the job records fold to ${info.header.commitments.jobs}`,
      );
    });

    it("a truncated file", async () => {
      const { file, info } = await written();
      const bytes = await readFile(file);
      const content = await lines(file);
      // Cut inside the last line.
      await writeFile(file, bytes.subarray(0, bytes.length - 10));
      await expectRefused(file, `line ${content.length}: malformed JSON`);
      // Cut after a whole line: a record is missing.
      await writeFile(file, bytes.subarray(0, bytes.length - content.at(-1)!.length - 1));
      await expectRefused(
        file,
        `the header counts ${info.header.counts.deposits} deposits but there are ${info.header.counts.deposits - 1}`,
      );
      // Only the final newline is missing.
      await writeFile(file, bytes.subarray(0, bytes.length - 1));
      await expectRefused(file, `line ${content.length}: the file does not end with a newline: it was cut short`);
      // Nothing at all.
      await writeFile(file, "");
      await expectRefused(file, "is empty: it has no header line");
      await rejectionOf(readSnapshotHeader(file)).then((error) => expect(error.message).to.include("is empty"));
    });

    it("a snapshot of another chain or other contracts", async () => {
      const { file, info } = await written();
      await expectRefused(file, "refused: it was taken on chain 31337, not on chain 8453", {
        expect: { chainId: 8453 },
      });
      const other = ethers.Wallet.createRandom().address;
      await expectRefused(file, `refused: its escrow is ${info.header.addresses.escrow}, not ${other}`, {
        expect: { chainId: CHAIN_ID, addresses: { escrow: other } },
      });
      await rejectionOf(readSnapshotHeader(file, { expect: { chainId: 1 } })).then((error) =>
        expect(error.message).to.include("not on chain 1"),
      );
      // Addresses compare without regard to case.
      const lower = info.header.addresses.registry.toLowerCase();
      expect((await readSnapshot(file, { expect: { addresses: { registry: lower } } })).header).to.deep.equal(
        info.header,
      );
    });

    it("lines that are not records: malformed JSON, unknown kinds, wrong types, values out of range", async () => {
      const { file } = await written();
      const original = await lines(file);
      const node = firstOf(original, "node");
      const job = firstOf(original, "job");
      const edits: [number, (record: Record<string, unknown>) => unknown, string][] = [
        [node, () => "{not json", "malformed JSON"],
        [node, () => "", "the line is empty"],
        [node, () => [1, 2], "a record must be a JSON object, got [1,2]"],
        [
          node,
          (r) => ({ ...r, kind: "validator" }),
          'unknown kind "validator" (a record is a "node", "job" or "deposit")',
        ],
        [node, (r) => ({ ...r, stake: 5 }), 'field "stake" must be a decimal string, got 5'],
        [node, (r) => ({ ...r, stake: "-5" }), 'field "stake" must be a decimal string of an unsigned integer'],
        [node, (r) => ({ ...r, stake: "1".repeat(79) }), 'field "stake" must be a decimal string of an unsigned'],
        [node, (r) => ({ ...r, active: "yes" }), 'field "active" must be true or false, got "yes"'],
        [node, (r) => ({ ...r, models: [1] }), 'field "models" must be an array of 0x-prefixed 32-byte hex strings'],
        [node, (r) => ({ ...r, peerId: 7 }), 'field "peerId" must be a string, got 7'],
        [node, (r) => ({ ...r, operator: 7 }), 'field "operator" must be a 0x-prefixed address, got 7'],
        [node, (r) => ({ ...r, reputation: "70000" }), "NodeRecord.reputation must be a uint16"],
        [node, (r) => ({ ...r, stake: (1n << 96n).toString() }), "NodeRecord.stake must be a uint96"],
        [node, (r) => ({ ...r, operator: "0x12" }), "NodeRecord.operator must be an address"],
        [node, (r) => ({ ...r, extra: 1 }), 'a node record has no field "extra"'],
        [node, ({ region: _region, ...r }) => r, 'field "region" of the node record is missing'],
        [job, (r) => ({ ...r, status: "256" }), "JobRecord.status must be a uint8"],
        [job, (r) => ({ ...r, inputHash: "0x1234" }), "JobRecord.inputHash must be 32 bytes"],
        [job, (r) => ({ ...r, kind: "node" }), "a node record has no field"],
        [
          firstOf(original, "deposit"),
          (r) => ({ ...r, token: ethers.Wallet.createRandom().address }),
          "is not among the header's tokens",
        ],
        [job + 1, () => original[node], "a node record after jobs: records go nodes, then jobs, then deposits"],
      ];
      for (const [at, edit, message] of edits) {
        const content = [...original];
        const edited = edit(JSON.parse(original[at]!));
        content[at] = typeof edited === "string" ? edited : JSON.stringify(edited);
        await writeLines(file, content);
        const error = await expectRefused(file, message);
        expect(error.message, message).to.include(`, line ${at + 1}: `);
      }
    });

    it("headers that are not a V1 snapshot's", async () => {
      const { file } = await written();
      const original = await lines(file);
      const header = JSON.parse(original[0]!);
      const edits: [Record<string, unknown> | string, string][] = [
        ["{", "line 1: the header is not valid JSON"],
        [{ ...header, format: "other" }, 'this is not a Fabstir V1 snapshot (format is "other"'],
        [{ ...header, version: 2 }, "snapshot version 2 is not supported (this toolkit reads version 1)"],
        [{ ...header, chainId: "31337" }, 'chainId must be an integer of at least 1, got "31337"'],
        [{ ...header, blockHash: "0x00" }, "blockHash must be 32 bytes of 0x-prefixed hex"],
        [{ ...header, addresses: { ...header.addresses, escrow: "0xabc" } }, "addresses.escrow must be an address"],
        [{ ...header, counts: { ...header.counts, jobs: -1 } }, "counts.jobs must be an integer of at least 0"],
        [{ ...header, totalStake: 1 }, "totalStake must be a decimal string"],
        [{ ...header, totals: ["1"] }, "totals has 1 entries for 2 tokens"],
        [{ ...header, tokens: [header.tokens[0], header.tokens[0]] }, "tokens lists a token twice"],
        [{ ...header, modelNames: [5] }, "modelNames[0] must be a string, got 5"],
        [{ ...header, modelNames: [] }, "is used by a record but the header names no model with that id"],
        [{ ...header, totalStake: "1" }, "totalStake is 1 in the header but the node records' stakes sum to"],
        [{ ...header, totals: ["1", header.totals[1]] }, "in the header but its deposit records sum to"],
        [{ ...header, createdBy: 1 }, "createdBy must be a string, got 1"],
        [{ ...header, signature: "x" }, 'the header has no field "signature"'],
      ];
      for (const [edited, message] of edits) {
        await writeLines(file, [typeof edited === "string" ? edited : JSON.stringify(edited), ...original.slice(1)]);
        await expectRefused(file, message);
      }
      await rejectionOf(readSnapshot(path.join(directory, "missing.ndjson"))).then((error) => {
        expect(error).to.be.instanceOf(SnapshotError);
        expect(error.message).to.include("cannot be read: ENOENT");
      });
    });
  });

  describe("writes atomically", () => {
    /** The fixture's stream, failing with `error` after `pages` pages. */
    async function failingSource(pages: number, error: Error): Promise<SnapshotSource> {
      const { contracts, block } = await networkHelpers.loadFixture(snapshotV1);
      const source = await v1SnapshotSource(contracts, { blockTag: block, pageSize: 4 });
      const inner = source.records;
      async function* records(): AsyncGenerator<V1RecordPage, V1ReadSummary> {
        for (let i = 0; ; i++) {
          if (i === pages) throw error;
          const next = await inner.next();
          if (next.done === true) return next.value;
          yield next.value;
        }
      }
      return { ...source, records: records() };
    }

    it("leaves the previous snapshot intact and no temporary files when the read fails midway", async () => {
      const { file } = await written();
      const before = await readFile(file);
      const failure = new Error("connection reset by peer");
      const error = await rejectionOf(writeSnapshot(file, await failingSource(3, failure)));
      expect(error).to.equal(failure);
      expect(await readFile(file)).to.deep.equal(before);
      expect(await tempFiles()).to.deep.equal([]);
      expect((await readSnapshot(file)).sha256).to.equal(createHash("sha256").update(before).digest("hex"));
    });

    it("never touches the target before the rename", async () => {
      const { file } = await written();
      const before = await readFile(file);
      const { contracts, block } = await networkHelpers.loadFixture(snapshotV1);
      const source = await v1SnapshotSource(contracts, { blockTag: block, pageSize: 4, createdBy: "second" });
      const inner = source.records;
      let checked = 0;
      async function* records(): AsyncGenerator<V1RecordPage, V1ReadSummary> {
        for (;;) {
          // At every step of the write, a crash would leave the previous snapshot.
          expect(await readFile(file)).to.deep.equal(before);
          checked++;
          const next = await inner.next();
          if (next.done === true) return next.value;
          yield next.value;
        }
      }
      const info = await writeSnapshot(file, { ...source, records: records() });
      expect(checked).to.be.greaterThan(5);
      expect(info.header.createdBy).to.equal("second");
      expect((await readSnapshotHeader(file)).createdBy).to.equal("second");
      expect(await tempFiles()).to.deep.equal([]);
    });

    it("refuses a source whose records or summary do not add up, before replacing anything", async () => {
      const { file } = await written();
      const before = await readFile(file);
      const { contracts, addresses, block } = await networkHelpers.loadFixture(snapshotV1);
      const state = await readV1State(contracts, { blockTag: block });
      const where = { chainId: CHAIN_ID, addresses };

      // A record out of range: refused by the source's own fold, or by the writer's.
      const outOfRange = structuredClone(state);
      outOfRange.nodes.records[0]!.reputation = 70_000n;
      await rejectionOf(writeSnapshot(file, snapshotSourceFromState(outOfRange, where))).then((refused) =>
        expect(refused.message).to.include("NodeRecord.reputation must be a uint16"),
      );
      async function* unchecked(): AsyncGenerator<V1RecordPage, V1ReadSummary> {
        yield { kind: "node", records: outOfRange.nodes.records, count: 0, commitment: "" };
        throw new Error("unreachable: the writer refuses the page first");
      }
      const error = await rejectionOf(writeSnapshot(file, { ...where, records: unchecked() }));
      expect(error).to.be.instanceOf(SnapshotError);
      expect(error.message).to.include("cannot write a node record: NodeRecord.reputation must be a uint16");

      const wrongTotal = structuredClone(state);
      wrongTotal.deposits.totals[0] = wrongTotal.deposits.totals[0]! + 1n;
      await rejectionOf(writeSnapshot(file, snapshotSourceFromState(wrongTotal, where))).then((refused) =>
        expect(refused.message).to.include("in the source's summary but its deposit records sum to"),
      );

      const wrongCommitment = structuredClone(state);
      wrongCommitment.jobs.commitment = `0x${"cd".repeat(32)}`;
      await rejectionOf(writeSnapshot(file, snapshotSourceFromState(wrongCommitment, where))).then((refused) =>
        expect(refused.message).to.include(`commitments.jobs is 0x${"cd".repeat(32)} in the source's summary`),
      );

      // A page whose running commitment is not its records'.
      const lying = streamV1Records(contracts, { blockTag: block });
      async function* records(): AsyncGenerator<V1RecordPage, V1ReadSummary> {
        for (;;) {
          const next = await lying.next();
          if (next.done === true) return next.value;
          yield { ...next.value, commitment: `0x${"00".repeat(32)}` };
        }
      }
      await rejectionOf(writeSnapshot(file, { ...where, records: records() })).then((refused) =>
        expect(refused.message).to.include("the source's running node commitment"),
      );

      for (const [bad, message] of [
        [{ ...where, chainId: 0 }, "cannot write: chainId must be an integer of at least 1, got 0"],
        [
          { ...where, addresses: { ...addresses, registry: "0x1" } },
          "cannot write: addresses.registry must be an address",
        ],
        [
          { ...where, addresses: { ...addresses, escrow: addresses.escrow.toLowerCase().replace("0x", "0X") } },
          "cannot write: addresses.escrow must be an address",
        ],
      ] as const) {
        await rejectionOf(writeSnapshot(file, snapshotSourceFromState(state, bad))).then((refused) =>
          expect(refused.message).to.include(message),
        );
      }
      expect(await readFile(file)).to.deep.equal(before);
      expect(await tempFiles()).to.deep.equal([]);
    });
  });
});
