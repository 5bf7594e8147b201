import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Interface, getAddress } from "ethers";
import { loadProposalFile, ProposalFileError } from "../../lib/governance/proposalFile.js";
import type { ProposalFile } from "../../lib/governance/types.js";
import { handProposal } from "../helpers/handProposal.js";
import { expectRejection } from "../helpers/rejections.js";

const GOVERNOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const TIMELOCK = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const PROPOSER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const OTHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const REGISTRY = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
const ESCROW = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9";

const pausable = new Interface(["function pause()", "function upgradeToAndCall(address,bytes)"]);

function sample(): ProposalFile {
  return handProposal({
    chainId: 31337,
    governor: GOVERNOR,
    timelock: TIMELOCK,
    proposer: PROPOSER,
    title: "Pause V1",
    body: "Pauses the V1 registry and escrow before the migration.",
    calls: [
      {
        target: REGISTRY,
        data: pausable.encodeFunctionData("pause"),
        contract: "NodeRegistryV1",
        signature: "pause()",
      },
      { target: ESCROW, data: pausable.encodeFunctionData("pause"), value: 5n, contract: "PaymentEscrowV1" },
    ],
    action: "pause-v1",
  });
}

describe("governance: the proposal file (loadProposalFile)", function () {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "proposal-file-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes `content` (an object, or raw text) and loads it back. */
  async function load(content: unknown, name = "proposal.json"): Promise<ProposalFile> {
    const file = path.join(dir, name);
    await writeFile(file, typeof content === "string" ? content : JSON.stringify(content, null, 2));
    return loadProposalFile(file);
  }

  /** Loading `content` fails with a ProposalFileError whose message matches every pattern. */
  async function refused(content: unknown, ...patterns: RegExp[]): Promise<string> {
    try {
      await load(content);
    } catch (error) {
      expect(error).to.be.instanceOf(ProposalFileError);
      const message = (error as Error).message;
      for (const pattern of patterns) expect(message).to.match(pattern);
      return message;
    }
    expect.fail("the proposal file was accepted");
  }

  it("round-trips a valid file", async () => {
    const file = sample();
    expect(await load(file)).to.deep.equal(file);
  });

  it("accepts lower-case addresses and returns them checksummed", async () => {
    const file = sample();
    const lower = { ...file, governor: GOVERNOR.toLowerCase(), targets: file.targets.map((t) => t.toLowerCase()) };
    const loaded = await load(lower);
    expect(loaded.governor).to.equal(getAddress(GOVERNOR));
    expect(loaded.targets).to.deep.equal(file.targets);
  });

  it("names the file when it is not JSON, or missing", async () => {
    await refused("{ not json", /proposal\.json is not valid JSON/, /regenerate it with `npx hardhat upgrade:propose`/);
    await expectRejection(
      loadProposalFile(path.join(dir, "missing.json")),
      ProposalFileError,
      /missing\.json: cannot read the proposal file/,
    );
  });

  it("refuses another format, an unknown action and a bad chain id", async () => {
    await refused(
      { ...sample(), format: "fabstir-proposal/0" },
      /format is "fabstir-proposal\/0", not "fabstir-proposal\/1"/,
    );
    await refused({ ...sample(), action: "drain" }, /action is "drain", not one of upgrade, pause-v1/);
    await refused({ ...sample(), chainId: "31337" }, /chainId is not a positive integer/);
  });

  it("refuses mistyped fields, naming each", async () => {
    const file = sample();
    await refused({ ...file, governor: "0x1234" }, /governor is not an address \("0x1234"\)/);
    await refused({ ...file, values: [0, 5] }, /values\[0\] is not a decimal string \(0\)/);
    await refused(
      { ...file, calldatas: ["0x8456cb5", file.calldatas[1]] },
      /calldatas\[0\] is not 0x-prefixed hex bytes/,
    );
    await refused({ ...file, descriptionHash: "0x12" }, /descriptionHash is not a 32-byte hex string/);
    await refused({ ...file, calls: "none" }, /calls is not an array/);
    await refused(
      { ...file, calls: [{ ...file.calls[0], summary: 1 }, file.calls[1]] },
      /calls\[0\]\.summary is not a string/,
    );
    await refused(
      { ...file, calls: [{ ...file.calls[0], signature: 7 }, file.calls[1]] },
      /calls\[0\]\.signature is neither/,
    );
    await refused({ ...file, upgrades: [{ name: "NodeRegistryV1" }] }, /upgrades\[0\]\.proxy is not an address/);
    await refused(
      { ...file, targets: [], values: [], calldatas: [], calls: [] },
      /targets is empty \(the Governor refuses a proposal without calls\)/,
    );
  });

  it("refuses a changed proposal id", async () => {
    const file = sample();
    await refused(
      { ...file, proposalId: (BigInt(file.proposalId) + 1n).toString() },
      new RegExp(`proposalId is ${BigInt(file.proposalId) + 1n} but the calls and description give ${file.proposalId}`),
      /regenerate it with `npx hardhat upgrade:propose`/,
    );
  });

  it("refuses a changed description hash and timelock operation id", async () => {
    const file = sample();
    const wrong = `0x${"ab".repeat(32)}`;
    await refused(
      { ...file, descriptionHash: wrong },
      new RegExp(`descriptionHash is ${wrong} but the description hashes to ${file.descriptionHash}`),
    );
    await refused(
      { ...file, timelockOperationId: wrong },
      /timelockOperationId is 0xabab.* but the calls, Governor and description give/,
    );
    // Another Governor gives another timelock salt, hence another operation id.
    await refused(
      { ...file, governor: OTHER },
      /timelockOperationId is .* but the calls, Governor and description give/,
    );
  });

  it("refuses calls that differ from the Governor's arrays", async () => {
    const file = sample();
    const [first, second] = file.calls;
    await refused(
      { ...file, calls: [{ ...first, data: "0x3f4ba83a" }, second] },
      /calls\[0\]\.data differs from calldatas\[0\]/,
    );
    await refused(
      { ...file, calls: [first, { ...second, value: "6" }] },
      /calls\[1\]\.value is 6 but values\[1\] is 5/,
    );
    await refused({ ...file, calls: [second, first] }, /calls\[0\]\.target is .* but targets\[0\] is/);
    await refused(
      { ...file, calls: [first] },
      /targets\/values\/calldatas\/calls have different lengths \(2, 2, 2, 1\)/,
    );
    // The arrays changed along with the calls still change the id.
    const data = [pausable.encodeFunctionData("upgradeToAndCall", [OTHER, "0x"]), file.calldatas[1]!];
    await refused(
      { ...file, calldatas: data, calls: [{ ...first, data: data[0] }, second] },
      /proposalId is .* but the calls and description give/,
    );
  });

  it("refuses a proposer the description is not bound to", async () => {
    await refused(
      { ...sample(), proposer: OTHER },
      new RegExp(`proposer is ${OTHER} but the description is bound to ${PROPOSER}`),
    );
  });

  it("refuses a description with text after the proposer suffix, or without one", async () => {
    const file = sample();
    await refused(
      { ...file, description: `${file.description}\n` },
      /description: The description has text after "#proposer=<address>"/,
      /anyone could front-run the proposal/,
      /regenerate it with `npx hardhat upgrade:propose`/,
    );
    await refused(
      { ...file, description: "# Pause V1\n" },
      /description: The description does not end in "#proposer=<address>"/,
    );
  });
});
