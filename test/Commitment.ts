import { expect } from "chai";
import { AbiCoder, getAddress, hexlify, keccak256, toUtf8Bytes } from "ethers";
import {
  CommitmentAccumulator,
  DEPOSIT_RECORD_TUPLE,
  EMPTY_COMMITMENT,
  JOB_RECORD_TUPLE,
  MarketplaceNotDrainedError,
  NODE_RECORD_TUPLE,
  RecordError,
  commitmentOf,
  depositLeaf,
  depositRecordsFromV1,
  encodeDepositRecord,
  encodeJobRecord,
  encodeNodeRecord,
  fold,
  jobLeaf,
  jobRecordFromV1,
  keccak256Into,
  modelId,
  nodeLeaf,
  nodeRecordFromV1,
  type DepositRecord,
  type JobRecord,
  type NodeRecord,
  type V1Job,
  type V1Node,
} from "../lib/commitment.js";
import { SeededRandom } from "../lib/fixtures/random.js";
import type { CommitmentHarness } from "../typechain-types/index.js";
import { ethers } from "./helpers/fixtures.js";

const coder = AbiCoder.defaultAbiCoder();
const RECORDS_PER_TYPE = 1_000;
const CHUNK = 100;
const ZERO_ADDRESS = `0x${"00".repeat(20)}`;
const MAX_ADDRESS = getAddress(`0x${"ff".repeat(20)}`);
const ONES_32 = `0x${"ff".repeat(32)}`;
const ZERO_32 = `0x${"00".repeat(32)}`;
const max = (bits: number) => (1n << BigInt(bits)) - 1n;

// ---------------------------------------------------------------- fuzzed records

/** Strings that sit on encoding edges: empty, word boundaries, multi-byte and astral characters. */
const EDGE_STRINGS = [
  "",
  "a",
  "é",
  "東京 ap-northeast-1",
  "🚀",
  "👩‍💻 ZWJ sequence",
  "e\u0301 combining",
  "nul\u0000inside",
  "x".repeat(31),
  "y".repeat(32),
  "z".repeat(33),
  "€".repeat(11), // 33 bytes of 3-byte characters
  "🙂".repeat(8), // exactly 32 bytes of 4-byte characters
  "12D3KooW".padEnd(256, "Q"),
];

/** A random code point of 1 to 4 UTF-8 bytes, never a surrogate. */
function codePoint(random: SeededRandom): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e],
    [0x80, 0x7ff],
    [0x800, 0xd7ff],
    [0xe000, 0xfffd],
    [0x1f300, 0x1faff],
    [0x10000, 0x10ffff],
  ];
  const [low, high] = random.pick(ranges);
  return String.fromCodePoint(random.int(low, high));
}

function randomString(random: SeededRandom): string {
  if (random.chance(0.3)) return random.pick(EDGE_STRINGS);
  const length = random.int(0, 70);
  let text = "";
  const unicode = random.chance(0.5);
  for (let i = 0; i < length; i++) text += unicode ? codePoint(random) : String.fromCharCode(random.int(0x20, 0x7e));
  return text;
}

/** A uint of `bits` bits: 0, 1, the maximum, one below it, or uniform over the whole range. */
function randomUint(random: SeededRandom, bits: number): bigint {
  const roll = random.next();
  if (roll < 0.1) return 0n;
  if (roll < 0.15) return 1n;
  if (roll < 0.25) return max(bits);
  if (roll < 0.3) return max(bits) - 1n;
  let value = 0n;
  for (let i = 0; i < bits; i += 32) value = (value << 32n) | BigInt(random.nextUint32());
  return value & max(bits);
}

function randomAddress(random: SeededRandom): string {
  const roll = random.next();
  if (roll < 0.1) return ZERO_ADDRESS;
  if (roll < 0.15) return MAX_ADDRESS;
  const address = random.bytes32().slice(0, 42);
  // Lowercase is valid input too (it carries no checksum); most records are checksummed.
  return roll < 0.25 ? address : getAddress(address);
}

function randomBytes32(random: SeededRandom): string {
  const roll = random.next();
  if (roll < 0.1) return ZERO_32;
  if (roll < 0.2) return ONES_32;
  return random.bytes32();
}

function randomNode(random: SeededRandom): NodeRecord {
  const roll = random.next();
  const modelCount = roll < 0.15 ? 0 : roll < 0.3 ? 32 : random.int(0, 32);
  return {
    operator: randomAddress(random),
    stake: randomUint(random, 96),
    registeredAt: randomUint(random, 64),
    unstakeRequestedAt: randomUint(random, 64),
    reputation: randomUint(random, 16),
    active: random.chance(0.5),
    peerId: randomString(random),
    region: randomString(random),
    models: Array.from({ length: modelCount }, () => randomBytes32(random)),
  };
}

function randomJob(random: SeededRandom): JobRecord {
  return {
    jobId: randomUint(random, 256),
    renter: randomAddress(random),
    host: randomAddress(random),
    token: randomAddress(random),
    amount: randomUint(random, 256),
    modelId: randomBytes32(random),
    inputHash: randomBytes32(random),
    resultHash: randomBytes32(random),
    postedAt: randomUint(random, 64),
    deadline: randomUint(random, 64),
    completedAt: randomUint(random, 64),
    status: randomUint(random, 8),
  };
}

function randomDeposit(random: SeededRandom): DepositRecord {
  return { user: randomAddress(random), token: randomAddress(random), amount: randomUint(random, 256) };
}

function generate<R>(seed: string, make: (random: SeededRandom) => R): R[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: RECORDS_PER_TYPE }, () => make(random));
}

/** Splits `items` into consecutive chunks of random sizes from 1 to `largest`. */
function randomChunks<T>(random: SeededRandom, items: T[], largest: number): T[][] {
  const chunks: T[][] = [];
  for (let at = 0; at < items.length;) {
    const size = random.int(1, largest);
    chunks.push(items.slice(at, at + size));
    at += size;
  }
  return chunks;
}

// ---------------------------------------------------------------- the twin against Solidity

type LeavesCall<R> = (start: string, records: R[]) => Promise<[string[], string] & { leaves: string[] }>;

interface RecordType<R> {
  name: string;
  tuple: string;
  records: R[];
  encode: (record: R) => Uint8Array;
  leaf: (record: R) => string;
  add: (accumulator: CommitmentAccumulator, record: R) => void;
  solidity: (harness: CommitmentHarness) => LeavesCall<R>;
}

const nodeType: RecordType<NodeRecord> = {
  name: "node",
  tuple: NODE_RECORD_TUPLE,
  records: generate("twin:nodes", randomNode),
  encode: encodeNodeRecord,
  leaf: nodeLeaf,
  add: (accumulator, record) => accumulator.addNode(record),
  solidity: (harness) => (start, records) => harness.nodeLeaves(start, records),
};
const jobType: RecordType<JobRecord> = {
  name: "job",
  tuple: JOB_RECORD_TUPLE,
  records: generate("twin:jobs", randomJob),
  encode: encodeJobRecord,
  leaf: jobLeaf,
  add: (accumulator, record) => accumulator.addJob(record),
  solidity: (harness) => (start, records) => harness.jobLeaves(start, records),
};
const depositType: RecordType<DepositRecord> = {
  name: "deposit",
  tuple: DEPOSIT_RECORD_TUPLE,
  records: generate("twin:deposits", randomDeposit),
  encode: encodeDepositRecord,
  leaf: depositLeaf,
  add: (accumulator, record) => accumulator.addDeposit(record),
  solidity: (harness) => (start, records) => harness.depositLeaves(start, records),
};

describe("commitment twin: TypeScript against Solidity", () => {
  let harness: CommitmentHarness;

  before(async () => {
    harness = (await ethers.deployContract("CommitmentHarness")) as unknown as CommitmentHarness;
  });

  it("covers the edge cases it claims to", () => {
    const nodes = nodeType.records;
    expect(nodes.some((n) => n.models.length === 0) && nodes.some((n) => n.models.length === 32)).to.equal(true);
    expect(nodes.some((n) => n.stake === max(96)) && nodes.some((n) => n.reputation === max(16))).to.equal(true);
    expect(nodes.some((n) => n.operator === ZERO_ADDRESS) && nodes.some((n) => n.peerId === "")).to.equal(true);
    expect(nodes.some((n) => /\p{Extended_Pictographic}/u.test(n.region))).to.equal(true);
    expect(nodes.some((n) => n.models.includes(ONES_32))).to.equal(true);
    const jobs = jobType.records;
    expect(jobs.some((j) => j.amount === max(256)) && jobs.some((j) => j.completedAt === max(64))).to.equal(true);
    expect(jobs.some((j) => j.host === ZERO_ADDRESS) && jobs.some((j) => j.resultHash === ONES_32)).to.equal(true);
    expect(depositType.records.some((d) => d.amount === max(256))).to.equal(true);
  });

  for (const type of [nodeType, jobType, depositType] as RecordType<unknown>[]) {
    describe(`${type.name} records (${RECORDS_PER_TYPE} fuzzed)`, () => {
      it("encode byte for byte as ethers' AbiCoder encodes the Solidity tuple", () => {
        for (const [i, record] of type.records.entries()) {
          expect(hexlify(type.encode(record)), `record ${i}`).to.equal(coder.encode([type.tuple], [record]));
        }
      });

      it("have the leaves and the commitment MigrationRecords.leaf and StateCommitment.fold compute", async () => {
        const call = type.solidity(harness);
        const accumulator = new CommitmentAccumulator();
        let onChain = await harness.empty();
        for (let at = 0; at < type.records.length; at += CHUNK) {
          const chunk = type.records.slice(at, at + CHUNK);
          const [leaves, commitment] = await call(onChain, chunk);
          expect(chunk.map(type.leaf), `leaves ${at}..${at + chunk.length}`).to.deep.equal([...leaves]);
          for (const record of chunk) type.add(accumulator, record);
          expect(accumulator.commitment, `commitment after ${at + chunk.length}`).to.equal(commitment);
          onChain = commitment;
        }
        expect(accumulator.count).to.equal(type.records.length);
        expect(commitmentOf(type.records.map(type.leaf))).to.equal(onChain);
      });

      it("fold to the same commitment however they are split into chunks", () => {
        const leaves = type.records.map(type.leaf);
        const whole = commitmentOf(leaves);
        const random = new SeededRandom(`twin:chunks:${type.name}`);
        for (let trial = 0; trial < 5; trial++) {
          // Each chunk resumes from the previous chunk's stored commitment and count, as V2 batches do.
          let stored = { commitment: EMPTY_COMMITMENT, count: 0 };
          for (const chunk of randomChunks(random, leaves, 1 + 50 * trial)) {
            const accumulator = new CommitmentAccumulator(stored.commitment, stored.count);
            for (const leaf of chunk) accumulator.add(leaf);
            stored = { commitment: accumulator.commitment, count: accumulator.count };
          }
          expect(stored).to.deep.equal({ commitment: whole, count: leaves.length });
        }
      });
    });
  }

  it("starts from StateCommitment.EMPTY and folds two words as StateCommitment.fold does", async () => {
    expect(EMPTY_COMMITMENT).to.equal(await harness.empty());
    expect(commitmentOf([])).to.equal(EMPTY_COMMITMENT);
    expect(new CommitmentAccumulator().commitment).to.equal(EMPTY_COMMITMENT);
    const random = new SeededRandom("twin:fold");
    for (let i = 0; i < 20; i++) {
      const [acc, leaf] = [randomBytes32(random), randomBytes32(random)];
      expect(fold(acc, leaf)).to.equal(await harness.fold(acc, leaf));
      expect(fold(acc, leaf)).to.equal(keccak256(coder.encode(["bytes32", "bytes32"], [acc, leaf])));
    }
  });
});

// ---------------------------------------------------------------- building blocks

describe("commitment twin: keccak and model ids", () => {
  it("hashes every length across several 136-byte blocks as ethers does", () => {
    const random = new SeededRandom("twin:keccak");
    const data = new Uint8Array(700);
    for (let i = 0; i < data.length; i++) data[i] = random.int(0, 255);
    const out = new Uint8Array(40);
    for (let length = 0; length <= 560; length++) {
      keccak256Into(data, 3, 3 + length, out, 8);
      expect(hexlify(out.subarray(8, 40)), `length ${length}`).to.equal(keccak256(data.subarray(3, 3 + length)));
    }
  });

  it("may write the hash over its own input", () => {
    const buffer = new Uint8Array(64).fill(7);
    const expected = keccak256(buffer);
    keccak256Into(buffer, 0, 64, buffer, 0);
    expect(hexlify(buffer.subarray(0, 32))).to.equal(expected);
  });

  it("names a model by keccak256 of its UTF-8 bytes", () => {
    for (const name of ["llama-3.1-8b-instruct", "", "模型-🚀", "x".repeat(300)]) {
      expect(modelId(name)).to.equal(keccak256(toUtf8Bytes(name)));
    }
  });
});

describe("commitment twin: refusing what abi.encode would not encode", () => {
  const random = new SeededRandom("twin:invalid");
  const node = (): NodeRecord => ({ ...randomNode(random), operator: getAddress(random.bytes32().slice(0, 42)) });
  const job = randomJob(random);
  const deposit = randomDeposit(random);
  const checksummed = getAddress("0x52908400098527886e0f7030069857d2e4169ee7");
  // One hex letter's case flipped: still the same bytes, but no longer the EIP-55 form.
  const letter = checksummed.search(/[a-fA-F]/);
  const flipped = checksummed[letter]!;
  const badChecksum = `${checksummed.slice(0, letter)}${
    flipped === flipped.toUpperCase() ? flipped.toLowerCase() : flipped.toUpperCase()
  }${checksummed.slice(letter + 1)}`;

  const cases: [string, () => unknown, RegExp][] = [
    ["a stake above uint96", () => nodeLeaf({ ...node(), stake: 1n << 96n }), /NodeRecord\.stake must be a uint96/],
    ["a negative stake", () => nodeLeaf({ ...node(), stake: -1n }), /NodeRecord\.stake must be a uint96/],
    [
      "a reputation above uint16",
      () => nodeLeaf({ ...node(), reputation: 65_536n }),
      /NodeRecord\.reputation must be a uint16/,
    ],
    ["a number for a bigint", () => nodeLeaf({ ...node(), registeredAt: 5 as unknown as bigint }), /got 5$/],
    ["a time above uint64", () => jobLeaf({ ...job, deadline: 1n << 64n }), /JobRecord\.deadline must be a uint64/],
    ["a status above uint8", () => jobLeaf({ ...job, status: 256n }), /JobRecord\.status must be a uint8/],
    ["an amount above uint256", () => depositLeaf({ ...deposit, amount: 1n << 256n }), /must be a uint256/],
    ["a short address", () => depositLeaf({ ...deposit, user: "0x1234" }), /DepositRecord\.user must be an address/],
    ["an address without 0x", () => jobLeaf({ ...job, host: "00".repeat(21) }), /JobRecord\.host must be an address/],
    ["a non-hex address", () => jobLeaf({ ...job, renter: `0x${"g".repeat(40)}` }), /JobRecord\.renter must be/],
    ["a bad checksum", () => jobLeaf({ ...job, token: badChecksum }), /bad EIP-55 checksum/],
    ["a short bytes32", () => jobLeaf({ ...job, inputHash: "0x1234" }), /JobRecord\.inputHash must be 32 bytes/],
    ["a non-hex bytes32", () => jobLeaf({ ...job, modelId: `0x${"zz".repeat(32)}` }), /JobRecord\.modelId must be/],
    ["a bad model id", () => nodeLeaf({ ...node(), models: [ONES_32, "0x12"] }), /NodeRecord\.models\[1\]/],
    ["models that are not a list", () => nodeLeaf({ ...node(), models: "0x" as never }), /must be an array/],
    ["a lone surrogate", () => nodeLeaf({ ...node(), peerId: "ab\ud800c" }), /peerId is not well-formed Unicode/],
    ["a non-string region", () => nodeLeaf({ ...node(), region: 7 as never }), /NodeRecord\.region must be a string/],
    ["a non-boolean active flag", () => nodeLeaf({ ...node(), active: 1 as never }), /active must be a boolean/],
    ["no record at all", () => depositLeaf(null as never), /a DepositRecord must be an object/],
    ["a malformed leaf", () => new CommitmentAccumulator().add("0x00"), /leaf must be 32 bytes/],
    ["a malformed start", () => new CommitmentAccumulator("0x"), /starting commitment must be 32 bytes/],
    ["a fractional count", () => new CommitmentAccumulator(EMPTY_COMMITMENT, 1.5), /count must be a non-negative/],
    ["a lone surrogate model", () => modelId("\udc00"), /model name is not well-formed/],
  ];
  for (const [what, run, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(run).to.throw(RecordError, message);
    });
  }

  it("accepts lowercase and checksummed addresses alike (same bytes)", () => {
    expect(jobLeaf({ ...job, token: checksummed })).to.equal(jobLeaf({ ...job, token: checksummed.toLowerCase() }));
  });
});

// ---------------------------------------------------------------- conversions from V1

describe("commitment twin: records from V1's getters", () => {
  const operator = "0x52908400098527886e0f7030069857d2e4169ee7";
  const v1Node: V1Node = {
    operator,
    peerId: "12D3KooWabc",
    stake: 10n ** 18n,
    active: true,
    models: ["llama-3.1-8b", "東京-model"],
    region: "ap-northeast-1",
    registeredAt: 1_700_000_000n,
    unstakeRequestedAt: 0n,
  };
  const v1Job: V1Job = {
    renter: operator,
    status: 3n,
    assignedHost: ZERO_ADDRESS,
    maxPrice: 5n,
    deadline: 1_700_100_000n,
    postedAt: 1_700_000_000n,
    completedAt: 1_700_000_500n,
    modelId: "llama-3.1-8b",
    inputHash: ONES_32.toUpperCase().replace("0X", "0x"),
    resultHash: ZERO_32,
    paymentToken: ZERO_ADDRESS,
  };

  it("maps a node: checksummed operator, model names to ids, reputation as given", () => {
    const record = nodeRecordFromV1(v1Node, 1000n);
    expect(record).to.deep.equal({
      operator: getAddress(operator),
      stake: 10n ** 18n,
      registeredAt: 1_700_000_000n,
      unstakeRequestedAt: 0n,
      reputation: 1000n,
      active: true,
      peerId: "12D3KooWabc",
      region: "ap-northeast-1",
      models: [modelId("llama-3.1-8b"), modelId("東京-model")],
    });
  });

  it("refuses a node whose stake or reputation V2's packed layout cannot hold", () => {
    expect(() => nodeRecordFromV1({ ...v1Node, stake: 1n << 96n }, 0n)).to.throw(
      RecordError,
      /stake must fit a uint96/,
    );
    expect(() => nodeRecordFromV1(v1Node, 1n << 16n)).to.throw(RecordError, /reputation must fit a uint16/);
    expect(() => nodeRecordFromV1({ ...v1Node, operator: "0x12" }, 0n)).to.throw(RecordError, /V1 node operator/);
    expect(() => nodeRecordFromV1({ ...v1Node, models: [7 as never] }, 0n)).to.throw(RecordError, /model 0/);
    expect(() => nodeRecordFromV1({ ...v1Node, region: 7 as never }, 0n)).to.throw(RecordError, /must be strings/);
    expect(() => nodeRecordFromV1({ ...v1Node, active: 0 as never }, 0n)).to.throw(RecordError, /boolean/);
  });

  it("maps a finished job: V1 fields to record fields, model name to id, hashes in lowercase", () => {
    for (const status of [3n, 4n, 5n, 4]) {
      expect(jobRecordFromV1({ ...v1Job, status }, 7n)).to.deep.equal({
        jobId: 7n,
        renter: getAddress(operator),
        host: ZERO_ADDRESS,
        token: ZERO_ADDRESS,
        amount: 5n,
        modelId: modelId("llama-3.1-8b"),
        inputHash: ONES_32,
        resultHash: ZERO_32,
        postedAt: 1_700_000_000n,
        deadline: 1_700_100_000n,
        completedAt: 1_700_000_500n,
        status: BigInt(status),
      });
    }
  });

  it("refuses an open job, saying the marketplace must drain first", () => {
    for (const [status, name] of [
      [1n, "Posted"],
      [2n, "Claimed"],
    ] as const) {
      const read = () => jobRecordFromV1({ ...v1Job, status }, 9n);
      expect(read).to.throw(MarketplaceNotDrainedError, `Job 9 is ${name}: the marketplace must drain first`);
      try {
        read();
      } catch (error) {
        expect(error).to.include({ jobId: 9n, status: Number(status) });
      }
    }
  });

  it("refuses a job that is not one: status None, id 0, times beyond uint64, bad hashes", () => {
    expect(() => jobRecordFromV1({ ...v1Job, status: 0n }, 1n)).to.throw(RecordError, /does not exist/);
    expect(() => jobRecordFromV1({ ...v1Job, status: 6n }, 1n)).to.throw(RecordError, /status must be a V1 JobStatus/);
    expect(() => jobRecordFromV1(v1Job, 0n)).to.throw(RecordError, /ids start at 1/);
    expect(() => jobRecordFromV1({ ...v1Job, deadline: 1n << 64n }, 1n)).to.throw(RecordError, /deadline must fit/);
    expect(() => jobRecordFromV1({ ...v1Job, resultHash: "0x" }, 1n)).to.throw(RecordError, /resultHash/);
  });

  it("maps a user's balances to one record per nonzero balance, in tokens() order", () => {
    const usdc = getAddress("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48");
    expect(depositRecordsFromV1(operator, [ZERO_ADDRESS, usdc], [0n, 3n])).to.deep.equal([
      { user: getAddress(operator), token: usdc, amount: 3n },
    ]);
    expect(depositRecordsFromV1(operator, [ZERO_ADDRESS, usdc], [max(256), 1n]).map((r) => r.token)).to.deep.equal([
      ZERO_ADDRESS,
      usdc,
    ]);
    expect(depositRecordsFromV1(operator, [ZERO_ADDRESS], [0n])).to.deep.equal([]);
    expect(() => depositRecordsFromV1(operator, [ZERO_ADDRESS], [])).to.throw(RecordError, /1 tokens but 0 amounts/);
    expect(() => depositRecordsFromV1(operator, [ZERO_ADDRESS], [-1n])).to.throw(RecordError, /amount 0 must fit/);
  });
});
