import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { Interface, keccak256, toUtf8Bytes } from "ethers";
import { buildActions, recordedAddress, type ActionContext } from "../../lib/governance/actions/index.js";
import { decodeCalls } from "../../lib/governance/decode.js";
import {
  TX_BUILDER_VERSION,
  buildSafeBatch,
  canonicalJson,
  safeBatchChecksum,
  validateSafeBatch,
  type SafeBatchFile,
} from "../../lib/governance/safeBatch.js";
import type { ProposalCall } from "../../lib/governance/types.js";
import { upgradesPreparer } from "../../deploy/preparer.js";
import { ethers, networkHelpers, upgradesApi } from "../helpers/fixtures.js";
import { governedStack, type GovernedFixture } from "../helpers/governedStack.js";

const FIXTURE = path.join("test", "fixtures", "safe", "tx-builder-1.18.2-approve.json");

/** The calls of the open-migration proposal plus a finalize (arrays), decoded as the task does. */
async function proposalCalls(f: GovernedFixture): Promise<ProposalCall[]> {
  const record = f.ctx.store.record;
  const ctx: ActionContext = {
    provider: ethers.provider,
    chainId: f.ctx.chainId,
    record,
    preparer: upgradesPreparer({ ethers, upgrades: upgradesApi, signer: f.signers[0]!, artifacts: hre.artifacts }),
  };
  const built = await buildActions(["pause-v1", "upgrade", "grant-migrator"], { operator: f.signers[2]!.address }, ctx);
  const finalize = new Interface([
    "function finalizeMigration(bytes32 expectedCommitment, uint256 expectedCount, address[] tokens, uint256[] expectedFunds)",
  ]).encodeFunctionData("finalizeMigration", [
    `0x${"ab".repeat(32)}`,
    3n,
    [f.signers[3]!.address, f.signers[4]!.address],
    [2n ** 200n, 7n],
  ]);
  return decodeCalls(
    [...built.calls, { target: recordedAddress(record, "PaymentEscrowV2")!, value: 0n, data: finalize }],
    { record, upgrades: built.upgrades, root: hre.config.paths.root },
  );
}

/** What the builder would send for a transaction that has no raw data: its method encoded from the input fields. */
function encodeFromInputs(tx: SafeBatchFile["transactions"][number]): string {
  const method = tx.contractMethod!;
  const abi = new Interface([
    {
      type: "function",
      name: method.name,
      inputs: method.inputs,
      outputs: [],
      stateMutability: method.payable ? "payable" : "nonpayable",
    },
  ]);
  const values = method.inputs.map(({ name, type }) => {
    const text = tx.contractInputsValues![name]!;
    if (type.endsWith("]") || type.startsWith("tuple")) return JSON.parse(text) as unknown;
    if (type === "bool") return text === "true";
    return text;
  });
  return abi.encodeFunctionData(method.name, values);
}

describe("Safe Transaction Builder batch", function () {
  this.timeout(300_000);

  describe("the batch upgrade:propose writes", () => {
    let batch: SafeBatchFile;
    let calls: ProposalCall[];

    before(async () => {
      const f = await networkHelpers.loadFixture(governedStack);
      calls = await proposalCalls(f);
      batch = buildSafeBatch({
        chainId: f.ctx.chainId,
        name: "Open the migration",
        description: "Pause V1, upgrade it to V1.1, grant the migrator roles.",
        calls,
        safe: f.signers[5]!.address,
        createdAt: 1_767_225_600_000,
      });
    });

    it("has every field the builder writes, with the builder's types", () => {
      expect(Object.keys(batch)).to.deep.equal(["version", "chainId", "createdAt", "meta", "transactions"]);
      expect(batch.version).to.equal("1.0");
      expect(batch.chainId).to.equal("31337");
      expect(batch.createdAt).to.equal(1_767_225_600_000);
      expect(Object.keys(batch.meta)).to.deep.equal([
        "name",
        "description",
        "txBuilderVersion",
        "createdFromSafeAddress",
        "createdFromOwnerAddress",
        "checksum",
      ]);
      expect(batch.meta.txBuilderVersion).to.equal(TX_BUILDER_VERSION);
      expect(batch.transactions).to.have.length(calls.length);
      for (const tx of batch.transactions) {
        expect(Object.keys(tx)).to.deep.equal(["to", "value", "data", "contractMethod", "contractInputsValues"]);
        expect(tx.contractMethod, tx.to).to.not.equal(null);
        for (const input of tx.contractMethod!.inputs) {
          expect(Object.keys(input)).to.deep.equal(["internalType", "name", "type"]);
        }
      }
    });

    it("writes every number as a string (values, integers, arrays of integers)", () => {
      for (const tx of batch.transactions) {
        expect(tx.value).to.be.a("string");
        for (const value of Object.values(tx.contractInputsValues!)) expect(value).to.be.a("string");
      }
      const finalize = batch.transactions.at(-1)!;
      expect(finalize.contractInputsValues).to.deep.equal({
        expectedCommitment: `0x${"ab".repeat(32)}`,
        expectedCount: "3",
        tokens: JSON.stringify([calls.at(-1)!.args.tokens].flat()),
        expectedFunds: JSON.stringify([(2n ** 200n).toString(), "7"]),
      });
    });

    it("carries the exact calldata, and its method and inputs encode to the same bytes", () => {
      batch.transactions.forEach((tx, i) => {
        expect(tx.to).to.equal(calls[i]!.target);
        expect(tx.value).to.equal(calls[i]!.value);
        expect(tx.data).to.equal(calls[i]!.data);
        expect(encodeFromInputs(tx), `${tx.contractMethod!.name} at ${i}`).to.equal(tx.data);
      });
      expect(batch.transactions[3]!.contractMethod).to.deep.equal({
        inputs: [
          { internalType: "address", name: "newImplementation", type: "address" },
          { internalType: "bytes", name: "data", type: "bytes" },
        ],
        name: "upgradeToAndCall",
        payable: true,
      });
    });

    it("has a checksum the builder accepts, which no longer matches once a transaction changes", () => {
      expect(validateSafeBatch(batch)).to.deep.equal({ valid: true, problems: [], checksum: batch.meta.checksum });
      // JSON round trip: what the file on disk holds is what was checked.
      expect(validateSafeBatch(JSON.parse(JSON.stringify(batch))).valid).to.equal(true);
      const changed = structuredClone(batch);
      changed.transactions[0]!.to = batch.transactions[1]!.to;
      const result = validateSafeBatch(changed);
      expect(result.valid).to.equal(false);
      expect(result.problems).to.deep.equal([
        `meta.checksum is ${batch.meta.checksum} but the batch's checksum is ${result.checksum}: the file was changed`,
      ]);
    });
  });

  describe("against the Transaction Builder itself", () => {
    it("accepts a batch the builder exported (test/fixtures/safe), and rejects it once a byte changes", async () => {
      const text = await readFile(FIXTURE, "utf8");
      const exported = JSON.parse(text) as SafeBatchFile;
      expect(validateSafeBatch(exported)).to.deep.equal({
        valid: true,
        problems: [],
        checksum: "0x8b5032f716845c8b08bab3d63dbd9ba92e056f3557793cd041e59b84e16aa989",
      });

      const oneByte = text.replace('"value": "100000000000"', '"value": "100000000001"');
      expect(oneByte).to.not.equal(text);
      const result = validateSafeBatch(JSON.parse(oneByte));
      expect(result.valid).to.equal(false);
      expect(result.problems).to.have.length(1);
      expect(result.problems[0]).to.match(/^meta\.checksum is 0x8b5032.* the file was changed$/);

      // The builder leaves the name out of the checksum, so that renaming a batch keeps it valid.
      expect(validateSafeBatch({ ...exported, meta: { ...exported.meta, name: "Renamed" } }).valid).to.equal(true);
    });

    it("computes the builder's published test vector, step by step", () => {
      // safe-react-apps apps/tx-builder/src/lib/checksum.test.js: this batch (with meta.checksum
      // "" as the test writes it) has the checksum 0x4ecbfd…, so the serialization below is the
      // builder's: sorted keys as a JSON array, then each value and a comma, name set to null.
      const vector = {
        version: "1.0",
        chainId: "4",
        createdAt: 1646321521061,
        meta: {
          name: "test batch file",
          txBuilderVersion: "1.4.0",
          checksum: "",
          createdFromSafeAddress: "0xDF8a1Ce35c9a6ACE153B4e0767942f1E2291a1Aa",
          createdFromOwnerAddress: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
        },
        transactions: [
          {
            to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
            value: "0",
            contractMethod: {
              inputs: [{ internalType: "address", name: "paramAddress", type: "address" }],
              name: "testAddress",
              payable: false,
            },
            contractInputsValues: { paramAddress: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6" },
          },
          {
            to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
            value: "0",
            contractMethod: {
              inputs: [{ internalType: "bool", name: "paramBool", type: "bool" }],
              name: "testBool",
              payable: false,
            },
            contractInputsValues: { paramAddress: "", paramBool: "false" },
          },
          {
            to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
            value: "2000000000000000000",
            data: "0x42f4579000000000000000000000000049d4450977e2c95362c13d3a31a09311e0ea26a6",
          },
        ],
      };
      const a = "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6";
      const serialized =
        '{["chainId","createdAt","meta","transactions","version"]"4",1646321521061,' +
        '{["checksum","createdFromOwnerAddress","createdFromSafeAddress","name","txBuilderVersion"]' +
        `"","${a}","0xDF8a1Ce35c9a6ACE153B4e0767942f1E2291a1Aa",null,"1.4.0",},` +
        "[" +
        `{["contractInputsValues","contractMethod","to","value"]{["paramAddress"]"${a}",},` +
        '{["inputs","name","payable"][{["internalType","name","type"]"address","paramAddress","address",}],"testAddress",false,},' +
        `"${a}","0",},` +
        `{["contractInputsValues","contractMethod","to","value"]{["paramAddress","paramBool"]"","false",},` +
        '{["inputs","name","payable"][{["internalType","name","type"]"bool","paramBool","bool",}],"testBool",false,},' +
        `"${a}","0",},` +
        `{["data","to","value"]"0x42f4579000000000000000000000000049d4450977e2c95362c13d3a31a09311e0ea26a6","${a}","2000000000000000000",}` +
        '],"1.0",}';
      const published = "0x4ecbfd364aa6759983915644e73f8bd411e85a2dc306f252a387c2728c4db64c";
      expect(canonicalJson({ ...vector, meta: { ...vector.meta, name: null } })).to.equal(serialized);
      expect(keccak256(toUtf8Bytes(serialized))).to.equal(published);
      // On import the builder drops meta.checksum before hashing; so does safeBatchChecksum.
      const { checksum, ...meta } = vector.meta;
      expect(checksum).to.equal("");
      expect(safeBatchChecksum(vector)).to.equal(
        keccak256(toUtf8Bytes(canonicalJson({ ...vector, meta: { ...meta, name: null } }))),
      );
      expect(safeBatchChecksum(vector)).to.not.equal(published);
    });
  });

  describe("validateSafeBatch", () => {
    const base = (): Record<string, unknown> => ({
      version: "1.0",
      chainId: "8453",
      createdAt: 1,
      meta: {
        name: "n",
        description: "",
        txBuilderVersion: TX_BUILDER_VERSION,
        createdFromSafeAddress: "",
        createdFromOwnerAddress: "",
      },
      transactions: [{ to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6", value: "0", data: "0x8456cb59" }],
    });
    const withChecksum = (batch: Record<string, unknown>) => ({
      ...batch,
      meta: {
        ...(batch.meta as Record<string, unknown>),
        checksum: safeBatchChecksum(batch as { meta: Record<string, unknown> }),
      },
    });

    it("accepts a minimal batch of raw calldata", () => {
      expect(validateSafeBatch(withChecksum(base())).valid).to.equal(true);
    });

    it("refuses numbers where the builder wants strings, naming the field", () => {
      const batch = base();
      batch.chainId = 8453;
      (batch.transactions as Record<string, unknown>[])[0]!.value = 0;
      (batch.transactions as Record<string, unknown>[]).push({
        to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
        value: "0",
        data: null,
        contractMethod: {
          inputs: [{ internalType: "uint256", name: "amount", type: "uint256" }],
          name: "f",
          payable: false,
        },
        contractInputsValues: { amount: 5 },
      });
      expect(validateSafeBatch(withChecksum(batch)).problems).to.deep.equal([
        "chainId must be a decimal string, got 8453",
        "transactions[0].value must be wei as a decimal string, got 0",
        "transactions[1].contractInputsValues.amount must be a string (numbers above 2^53 lose digits), got 5",
      ]);
    });

    it("refuses missing and malformed fields", () => {
      expect(validateSafeBatch([]).problems).to.deep.equal(["the batch is not a JSON object"]);
      expect(validateSafeBatch({}).problems).to.deep.equal([
        'version must be "1.0", got undefined',
        "chainId must be a decimal string, got undefined",
        "createdAt must be milliseconds since the epoch, got undefined",
        "meta is missing",
        "transactions must be a non-empty array",
      ]);
      const batch = base();
      batch.meta = { name: 1, createdFromSafeAddress: "0x12", createdFromOwnerAddress: "", description: 2 };
      batch.transactions = [
        7,
        { to: "nope", value: "1", data: "xyz" },
        { to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6", value: "0" },
        {
          to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
          value: "0",
          contractMethod: { inputs: [{ name: "a", type: "address" }, {}], name: 3, payable: "no" },
          contractInputsValues: [],
        },
        {
          to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
          value: "0",
          contractMethod: { inputs: "x", name: "g", payable: false },
        },
      ];
      expect(validateSafeBatch(batch).problems).to.deep.equal([
        "meta.name must be a string",
        "meta.txBuilderVersion must be a string",
        "meta.description must be a string",
        'meta.createdFromSafeAddress must be an address or empty, got "0x12"',
        "meta.checksum must be a 0x-prefixed keccak256 hash, got undefined",
        "transactions[0] must be an object",
        "transactions[1].to must be an address",
        "transactions[1].data must be 0x-prefixed hex or null",
        "transactions[2] has neither data nor a contractMethod: the builder cannot encode it",
        "transactions[3].contractMethod.name must be a string",
        "transactions[3].contractMethod.payable must be true or false",
        "transactions[3].contractInputsValues.a is missing",
        "transactions[3].contractMethod.inputs[1] needs a name and a type",
        "transactions[3].contractInputsValues must be an object of strings or null",
        "transactions[4].contractMethod.inputs must be an array",
      ]);
    });
  });
});
