import { expect } from "chai";
import hre from "hardhat";
import { id } from "ethers";
import {
  UUPS_SURFACE,
  canonicalType,
  diffAbi,
  findSelectorClashes,
  mutabilityOf,
  selectorOf,
  type AbiDiff,
} from "../../lib/review/abiDiff.js";
import { loadProjectContract } from "../../lib/review/compiled.js";
import { contractOutput } from "../../lib/review/facts.js";
import type { AbiItem, AbiParameter, Change } from "../../lib/review/types.js";

// ---------------------------------------------------------------- hand-written ABIs

const p = (type: string, name = "", extra: Partial<AbiParameter> = {}): AbiParameter => ({ name, type, ...extra });

function fn(name: string, inputs: string[], outputs: string[] = [], stateMutability = "nonpayable"): AbiItem {
  return {
    type: "function",
    name,
    inputs: inputs.map((type, i) => p(type, `a${i}`)),
    outputs: outputs.map((type) => p(type)),
    stateMutability,
  };
}

function ev(name: string, inputs: Array<[string, boolean]>, anonymous = false): AbiItem {
  return {
    type: "event",
    name,
    anonymous,
    inputs: inputs.map(([type, indexed], i) => p(type, `a${i}`, { indexed })),
  };
}

const err = (name: string, inputs: string[]): AbiItem => ({
  type: "error",
  name,
  inputs: inputs.map((type, i) => p(type, `a${i}`)),
});

/** The changes as `severity subject` lines, the form every assertion below reads. */
const lines = (diff: AbiDiff): string[] => diff.changes.map((c: Change) => `${c.severity} ${c.subject}`);

describe("ABI diff (lib/review/abiDiff.ts)", () => {
  describe("functions", () => {
    it("reports nothing for identical ABIs", () => {
      const abi = [fn("a", ["uint256"], ["bool"]), ev("E", [["address", true]]), err("X", [])];
      const diff = diffAbi(abi, abi);
      expect(diff.changes).to.deep.equal([]);
      expect(diff.summary).to.deep.equal({ breaking: 0, compatible: 0, info: 0 });
      expect(diff.functions).to.deep.equal({ before: 1, after: 1, added: [], removed: [], modified: [] });
    });

    it("a removed function breaks its callers; an added one is compatible", () => {
      const diff = diffAbi([fn("keep", []), fn("gone", ["address"])], [fn("keep", []), fn("fresh", ["bytes32"])]);
      expect(lines(diff)).to.deep.equal([
        "breaking function gone(address): removed",
        "compatible function fresh(bytes32): added",
      ]);
      expect(diff.changes[0]!.reason).to.equal(`Callers of ${id("gone(address)").slice(0, 10)} revert.`);
      expect(diff.functions.removed).to.deep.equal(["gone(address)"]);
      expect(diff.functions.added).to.deep.equal(["fresh(bytes32)"]);
      expect(diff.summary).to.deep.equal({ breaking: 1, compatible: 1, info: 0 });
    });

    it("changed inputs of a unique name are one modified function, breaking (new selector)", () => {
      const diff = diffAbi([fn("register", ["string", "string[]"])], [fn("register", ["string", "bytes32[]"])]);
      expect(lines(diff)).to.deep.equal([
        "breaking function register(string,string[]) → register(string,bytes32[]): inputs changed",
      ]);
      expect(diff.changes[0]!.reason).to.contain(selectorOf("register(string,string[])"));
      expect(diff.changes[0]!.reason).to.contain(selectorOf("register(string,bytes32[])"));
      expect(diff.functions.modified).to.deep.equal(["register(string,string[]) → register(string,bytes32[])"]);
      expect(diff.functions.added).to.deep.equal([]);
    });

    it("a paired overload also reports its changed outputs and mutability", () => {
      const diff = diffAbi(
        [fn("quote", ["uint256"], ["uint256"], "view")],
        [fn("quote", ["uint128"], ["uint128"], "nonpayable")],
      );
      expect(lines(diff)).to.deep.equal([
        "breaking function quote(uint128): returns (uint256) → (uint128)",
        "breaking function quote(uint128): view → nonpayable",
        "breaking function quote(uint256) → quote(uint128): inputs changed",
      ]);
    });

    it("matches overloads by full signature first and pairs the rest only when unambiguous", () => {
      // get(uint256) is matched exactly; get(address) → get(bytes32) is the one remaining pair.
      const paired = diffAbi(
        [fn("get", ["uint256"]), fn("get", ["address"])],
        [fn("get", ["uint256"]), fn("get", ["bytes32"])],
      );
      expect(lines(paired)).to.deep.equal(["breaking function get(address) → get(bytes32): inputs changed"]);
      // Two removed and two added overloads of one name: any pairing is a guess, so none is made.
      const ambiguous = diffAbi(
        [fn("get", ["address"]), fn("get", ["string"])],
        [fn("get", ["bytes32"]), fn("get", ["bool"])],
      );
      expect(lines(ambiguous)).to.deep.equal([
        "breaking function get(address): removed",
        "breaking function get(string): removed",
        "compatible function get(bool): added",
        "compatible function get(bytes32): added",
      ]);
    });

    it("changed outputs break decoders", () => {
      const diff = diffAbi(
        [fn("node", ["address"], ["string", "uint256"], "view")],
        [fn("node", ["address"], ["bytes32", "uint256"], "view")],
      );
      expect(lines(diff)).to.deep.equal([
        "breaking function node(address): returns (string,uint256) → (bytes32,uint256)",
      ]);
      expect(diff.changes[0]!.reason).to.contain("decode");
      expect(diff.functions.modified).to.deep.equal([
        "node(address) returns (string,uint256) view → node(address) returns (bytes32,uint256) view",
      ]);
    });

    it("tuples are compared by their component types, names only as info", () => {
      const tuple = (names: [string, string], types: [string, string]): AbiItem => ({
        type: "function",
        name: "job",
        inputs: [p("uint256", "jobId")],
        outputs: [
          p("tuple[]", "jobs", {
            components: [p(types[0], names[0]), p(types[1], names[1])],
            internalType: "struct J[]",
          }),
        ],
        stateMutability: "view",
      });
      expect(canonicalType(tuple(["a", "b"], ["address", "uint96"]).outputs![0]!)).to.equal("(address,uint96)[]");
      const renamedOnly = diffAbi(
        [tuple(["a", "b"], ["address", "uint96"])],
        [tuple(["a", "b"], ["address", "uint96"])],
      );
      expect(renamedOnly.changes).to.deep.equal([]);
      const retyped = diffAbi([tuple(["a", "b"], ["address", "uint96"])], [tuple(["a", "b"], ["address", "uint256"])]);
      expect(lines(retyped)).to.deep.equal([
        "breaking function job(uint256): returns ((address,uint96)[]) → ((address,uint256)[])",
      ]);
      const before = fn("pay", ["address", "uint256"]);
      const after: AbiItem = { ...before, inputs: [p("address", "to"), p("uint256", "amount")] };
      expect(lines(diffAbi([before], [after]))).to.deep.equal([
        "info function pay(address,uint256): parameter names (a0,a1) → (to,amount), returns () → ()",
      ]);
    });

    it("a removed and an added function with identical types are reported as a likely rename", () => {
      const diff = diffAbi(
        [fn("withdraw", ["uint256"]), fn("ping", [])],
        [fn("withdrawFunds", ["uint256"]), fn("ping", [])],
      );
      expect(lines(diff)).to.deep.equal([
        "breaking function withdraw(uint256) → withdrawFunds(uint256): likely renamed",
      ]);
      expect(diff.renamed).to.deep.equal(["withdraw(uint256) → withdrawFunds(uint256)"]);
      expect(diff.changes[0]!.reason).to.contain(selectorOf("withdraw(uint256)"));
      expect(diff.functions.removed).to.deep.equal([]);
      expect(diff.functions.added).to.deep.equal([]);
    });

    it("does not guess a rename when two functions share the types", () => {
      const diff = diffAbi([fn("a", ["uint256"]), fn("b", ["uint256"])], [fn("c", ["uint256"])]);
      expect(diff.renamed).to.deep.equal([]);
      expect(lines(diff)).to.deep.equal([
        "breaking function a(uint256): removed",
        "breaking function b(uint256): removed",
        "compatible function c(uint256): added",
      ]);
      // Same types but another mutability is not a rename either.
      expect(diffAbi([fn("a", ["uint256"])], [fn("z", ["uint256"], [], "payable")]).renamed).to.deep.equal([]);
    });
  });

  describe("state mutability", () => {
    const change = (from: string, to: string) => lines(diffAbi([fn("f", [], [], from)], [fn("f", [], [], to)]));

    it("view or pure → state-changing breaks staticcall users", () => {
      expect(change("view", "nonpayable")).to.deep.equal(["breaking function f(): view → nonpayable"]);
      expect(change("pure", "payable")).to.deep.equal(["breaking function f(): pure → payable"]);
      expect(diffAbi([fn("f", [], [], "view")], [fn("f", [], [], "nonpayable")]).changes[0]!.reason).to.contain(
        "STATICCALL",
      );
    });

    it("payable → non-payable breaks senders of value", () => {
      expect(change("payable", "nonpayable")).to.deep.equal(["breaking function f(): payable → nonpayable"]);
      expect(change("payable", "view")).to.deep.equal(["breaking function f(): payable → view"]);
      expect(diffAbi([fn("f", [], [], "payable")], [fn("f", [], [], "nonpayable")]).changes[0]!.reason).to.contain(
        "send value",
      );
    });

    it("non-payable → payable and state-changing → read-only are compatible", () => {
      expect(change("nonpayable", "payable")).to.deep.equal(["compatible function f(): nonpayable → payable"]);
      expect(change("nonpayable", "view")).to.deep.equal(["compatible function f(): nonpayable → view"]);
      expect(change("view", "pure")).to.deep.equal(["compatible function f(): view → pure"]);
    });

    it("reads pre-0.5 constant/payable flags when stateMutability is absent", () => {
      expect(mutabilityOf({ type: "function", constant: true } as AbiItem)).to.equal("view");
      expect(mutabilityOf({ type: "function", payable: true } as AbiItem)).to.equal("payable");
      expect(mutabilityOf({ type: "function" })).to.equal("nonpayable");
    });

    it("receive() and fallback(): removed breaks, added is compatible, payability is compared", () => {
      const receive: AbiItem = { type: "receive", stateMutability: "payable" };
      const fallback: AbiItem = { type: "fallback", stateMutability: "nonpayable" };
      expect(lines(diffAbi([receive, fallback], []))).to.deep.equal([
        "breaking fallback(): removed",
        "breaking receive(): removed",
      ]);
      expect(lines(diffAbi([], [receive, fallback]))).to.deep.equal([
        "compatible fallback(): added",
        "compatible receive(): added",
      ]);
      expect(lines(diffAbi([{ ...fallback, stateMutability: "payable" }], [fallback]))).to.deep.equal([
        "breaking fallback(): payable → nonpayable",
      ]);
    });
  });

  describe("events", () => {
    it("a removed event and a changed signature break indexers; an added event is info", () => {
      const diff = diffAbi(
        [ev("Gone", [["address", true]]), ev("Moved", [["uint256", true]])],
        [
          ev("Moved", [
            ["uint256", true],
            ["address", false],
          ]),
          ev("Fresh", []),
        ],
      );
      expect(lines(diff)).to.deep.equal([
        "breaking event Gone(address): removed",
        "breaking event Moved(uint256) → Moved(uint256,address): signature changed",
        "info event Fresh(): added",
      ]);
      expect(diff.changes[1]!.reason).to.contain(id("Moved(uint256)").slice(0, 10));
      expect(diff.events.modified).to.deep.equal(["Moved(uint256 indexed) → Moved(uint256 indexed,address)"]);
    });

    it("changed indexed flags or anonymity break indexers (topics move)", () => {
      const diff = diffAbi(
        [
          ev("T", [
            ["address", true],
            ["uint256", false],
          ]),
          ev("A", [["uint256", false]]),
        ],
        [
          ev("T", [
            ["address", true],
            ["uint256", true],
          ]),
          ev("A", [["uint256", false]], true),
        ],
      );
      expect(lines(diff)).to.deep.equal([
        "breaking event A(uint256) → A(uint256) anonymous: indexed flags or anonymity changed",
        "breaking event T(address indexed,uint256) → T(address indexed,uint256 indexed): indexed flags or anonymity changed",
      ]);
      expect(diff.changes[0]!.reason).to.contain("topics");
    });

    it("an event repeated in the ABI (declared in two bases) counts once", () => {
      const e = ev("E", [["address", true]]);
      expect(diffAbi([e, e], [e]).events).to.deep.equal({ before: 1, after: 1, added: [], removed: [], modified: [] });
    });
  });

  describe("errors", () => {
    it("new, removed and changed errors are info, each with its reason", () => {
      const diff = diffAbi(
        [err("Old", []), err("Changed", ["uint256"]), err("Same", ["address"])],
        [err("New", ["address"]), err("Changed", ["uint256", "uint256"]), err("Same", ["address"])],
      );
      expect(lines(diff)).to.deep.equal([
        "info error Changed(uint256) → Changed(uint256,uint256): arguments changed",
        "info error New(address): added",
        "info error Old(): removed",
      ]);
      const removed = diff.changes.find((c) => c.subject.startsWith("error Old"))!;
      // Why it is only info: nothing can receive an error that is no longer raised.
      expect(removed.reason).to.contain("no caller can receive it");
      expect(diff.errors).to.deep.equal({
        before: 3,
        after: 3,
        added: ["New(address)"],
        removed: ["Old()"],
        modified: ["Changed(uint256) → Changed(uint256,uint256)"],
      });
    });
  });

  describe("selector clashes", () => {
    // Real colliding pair (both hash to 0x42966c68): solc refuses them in one contract, so such
    // an ABI only comes from hand-assembly or merged builds; the review checks anyway.
    const burn = fn("burn", ["uint256"]);
    const collate = fn("collate_propagate_storage", ["bytes16"]);

    it("two functions with one selector inside the new ABI are breaking", () => {
      expect(selectorOf("burn(uint256)")).to.equal(selectorOf("collate_propagate_storage(bytes16)"));
      const diff = diffAbi([burn], [burn, collate]);
      expect(diff.selectorClashes).to.deep.equal([
        {
          selector: "0x42966c68",
          signatures: ["burn(uint256)", "collate_propagate_storage(bytes16)"],
          against: "contract",
        },
      ]);
      expect(lines(diff)).to.include(
        "breaking selector 0x42966c68: burn(uint256) and collate_propagate_storage(bytes16) clash",
      );
    });

    it("a new function on a removed function's selector is breaking: old callers run it instead of reverting", () => {
      const diff = diffAbi([burn], [collate]);
      expect(lines(diff)).to.deep.equal([
        "breaking function burn(uint256): removed",
        "breaking selector 0x42966c68: burn(uint256) and collate_propagate_storage(bytes16) share it across the upgrade",
        "compatible function collate_propagate_storage(bytes16): added",
      ]);
      expect(diff.selectorClashes.map((c) => c.against)).to.deep.equal(["previous"]);
    });

    it("the UUPS surface itself is not a clash", () => {
      const surface = UUPS_SURFACE.map((signature) => {
        const name = signature.slice(0, signature.indexOf("("));
        const types = signature.slice(signature.indexOf("(") + 1, -1);
        return fn(name, types === "" ? [] : types.split(","));
      });
      expect(
        surface.map((item) => selectorOf(`${item.name}(${(item.inputs ?? []).map((i) => i.type).join(",")})`)),
      ).to.deep.equal(["0xad3cb1cc", "0x52d1902d", "0x4f1ef286"]);
      expect(findSelectorClashes(surface)).to.deep.equal([]);
    });

    it("removing the UUPS surface is breaking and says the proxy can no longer be upgraded", () => {
      const diff = diffAbi([fn("upgradeToAndCall", ["address", "bytes"], [], "payable")], []);
      expect(lines(diff)).to.deep.equal(["breaking function upgradeToAndCall(address,bytes): removed"]);
      expect(diff.changes[0]!.reason).to.contain("never be upgraded again");
    });
  });

  describe("fixture pairs (test/fixtures/upgrades, compiled by the project build)", () => {
    const artifacts = hre.config.paths.artifacts;
    async function fixture(dir: string, name: string): Promise<AbiDiff> {
      const source = `test/fixtures/upgrades/${dir}/${name}.sol`;
      const before = await loadProjectContract(artifacts, `${source}:${name}V1`);
      const after = await loadProjectContract(artifacts, `${source}:${name}V2`);
      return diffAbi(contractOutput(before).abi, contractOutput(after).abi);
    }

    it("renamed-function: one breaking change, a likely rename", async () => {
      const diff = await fixture("renamed-function", "RenamedFunction");
      expect(lines(diff)).to.deep.equal([
        "breaking function withdraw(uint256) → withdrawFunds(uint256): likely renamed",
      ]);
      expect(diff.summary).to.deep.equal({ breaking: 1, compatible: 0, info: 0 });
    });

    it("changed-mutability: view → nonpayable and payable → nonpayable break, nonpayable → payable does not", async () => {
      const diff = await fixture("changed-mutability", "ChangedMutability");
      expect(lines(diff)).to.deep.equal([
        "breaking function deposit(): payable → nonpayable",
        "breaking function price(): view → nonpayable",
        "compatible function ping(): nonpayable → payable",
        "compatible function reads(): added",
      ]);
    });

    it("removed-event: the removed event breaks indexers; the new error is info", async () => {
      const diff = await fixture("removed-event", "RemovedEvent");
      expect(lines(diff)).to.deep.equal([
        "breaking event Withdrawn(address,uint256): removed",
        "info error InsufficientBalance(uint256,uint256): added",
      ]);
    });

    it("selector-clash: V2 gives burn(uint256)'s selector to another function; old callers run it", async () => {
      const diff = await fixture("selector-clash", "SelectorClash");
      expect(lines(diff)).to.deep.equal([
        "breaking function burn(uint256): removed",
        "breaking selector 0x42966c68: burn(uint256) and collate_propagate_storage(bytes16) share it across the upgrade",
        "compatible function collate_propagate_storage(bytes16): added",
        "compatible function lastTag(): added",
      ]);
    });
  });
});
