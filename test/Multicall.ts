import { expect } from "chai";
import hre from "hardhat";
import { readFile } from "node:fs/promises";
import { Interface, JsonRpcProvider, type Provider } from "ethers";
import {
  CallFailedError,
  MULTICALL3_ADDRESS,
  MULTICALL3_RUNTIME_BYTECODE,
  MulticallError,
  Multicall3MissingError,
  aggregate3,
  call3,
  callEach,
  decodeCall3,
  describeRevert,
  ensureMulticall3,
  errorMessage,
  multicall3Interface,
  type Call3,
  type DevChainProvider,
} from "../lib/multicall.js";
import type { Multicall3, TestUSDC } from "../typechain-types/index.js";
import { startAnvil } from "./helpers/anvil.js";
import { ethers, networkHelpers } from "./helpers/fixtures.js";
import { expectRejection, rejectionOf } from "./helpers/rejections.js";

const TOO_MUCH = 10n ** 12n;
const usdcAbi = new Interface([
  "function balanceOf(address) view returns (uint256)",
  "function decimals() view returns (uint8)",
  "function transfer(address to, uint256 amount) returns (bool)",
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
]);

/** A TestUSDC with a known balance, and Multicall3 both deployed normally and installed at its address. */
async function multicallFixture() {
  const [holder, other] = await ethers.getSigners();
  const usdc = (await ethers.deployContract("TestUSDC")) as unknown as TestUSDC;
  await (await usdc.mint(holder!.address, 1_234_567n)).wait();
  const deployed = (await ethers.deployContract("Multicall3")) as unknown as Multicall3;
  expect(await ensureMulticall3(ethers.provider, { devChain: true })).to.equal("installed");
  await networkHelpers.mine();
  return { usdc, usdcAt: await usdc.getAddress(), deployed, holder: holder!, other: other! };
}

/** A provider of a chain that is not a development chain: it has (or lacks) code and refuses dev methods. */
function stubChain(code: string, send: (method: string) => unknown = () => undefined) {
  const sent: string[] = [];
  const provider: DevChainProvider = {
    send: async (method) => {
      if (method === "eth_getCode") return code;
      sent.push(method);
      return send(method);
    },
  };
  return { provider, sent };
}

describe("Multicall3", () => {
  describe("the contract", () => {
    it("returns every call's result in order, and runs in the block it is called at", async () => {
      const { usdc, usdcAt, deployed, holder, other } = await networkHelpers.loadFixture(multicallFixture);
      const results = await deployed.aggregate3.staticCall([
        { target: usdcAt, allowFailure: false, callData: usdcAbi.encodeFunctionData("balanceOf", [holder.address]) },
        { target: usdcAt, allowFailure: false, callData: usdcAbi.encodeFunctionData("decimals") },
        { target: usdcAt, allowFailure: true, callData: usdcAbi.encodeFunctionData("balanceOf", [other.address]) },
      ]);
      expect(results.map((result) => result.success)).to.deep.equal([true, true, true]);
      expect(usdcAbi.decodeFunctionResult("balanceOf", results[0]!.returnData)[0]).to.equal(1_234_567n);
      expect(usdcAbi.decodeFunctionResult("decimals", results[1]!.returnData)[0]).to.equal(6n);
      expect(usdcAbi.decodeFunctionResult("balanceOf", results[2]!.returnData)[0]).to.equal(0n);
      expect(await deployed.aggregate3.staticCall([])).to.deep.equal([]);
      expect(await usdc.balanceOf(holder.address)).to.equal(1_234_567n);

      const block = await ethers.provider.getBlockNumber();
      expect(await deployed.getBlockNumber({ blockTag: block - 1 })).to.equal(BigInt(block - 1));
      // A call to an account without code succeeds with no data, as in the canonical Multicall3.
      const [empty] = await deployed.aggregate3.staticCall([
        { target: ethers.Wallet.createRandom().address, allowFailure: false, callData: "0x12345678" },
      ]);
      expect([empty!.success, empty!.returnData]).to.deep.equal([true, "0x"]);
    });

    it("returns a failed call's revert data when it allows failure, and reverts like Multicall3 when not", async () => {
      const { usdcAt, deployed, other } = await networkHelpers.loadFixture(multicallFixture);
      const deployedAt = await deployed.getAddress();
      // Multicall3 holds no USDC: its transfer reverts with the token's custom error.
      const transfer = usdcAbi.encodeFunctionData("transfer", [other.address, 5n]);
      const [failed, ok] = await deployed.aggregate3.staticCall([
        { target: usdcAt, allowFailure: true, callData: transfer },
        { target: usdcAt, allowFailure: true, callData: usdcAbi.encodeFunctionData("decimals") },
      ]);
      expect(failed!.success).to.equal(false);
      const parsed = usdcAbi.parseError(failed!.returnData)!;
      expect(parsed.name).to.equal("ERC20InsufficientBalance");
      expect([...parsed.args]).to.deep.equal([deployedAt, 0n, 5n]);
      expect(ok!.success).to.equal(true);

      await expect(
        deployed.aggregate3.staticCall([
          { target: usdcAt, allowFailure: true, callData: usdcAbi.encodeFunctionData("decimals") },
          { target: usdcAt, allowFailure: false, callData: transfer },
        ]),
      ).to.be.revertedWith("Multicall3: call failed");
      // As a transaction too (it is payable, like the canonical one): nothing happens.
      await expect(
        deployed.aggregate3([{ target: usdcAt, allowFailure: false, callData: transfer }], { value: 1n }),
      ).to.be.revertedWith("Multicall3: call failed");
    });

    it("is what ensureMulticall3 installs: the runtime code in lib/ is the compiled contract's", async function () {
      // Under --coverage the artifacts hold instrumented code; the plain build is what lib/ embeds.
      if (hre.globalOptions.coverage) this.skip();
      await networkHelpers.loadFixture(multicallFixture);
      const artifact = JSON.parse(
        await readFile("artifacts/contracts/local/Multicall3.sol/Multicall3.json", "utf8"),
      ) as { deployedBytecode: string; abi: unknown[] };
      // The CBOR metadata tail (source hashes) depends on where the build ran; the code must not.
      expect(withoutMetadata(MULTICALL3_RUNTIME_BYTECODE)).to.equal(withoutMetadata(artifact.deployedBytecode));
      expect(await ethers.provider.getCode(MULTICALL3_ADDRESS)).to.equal(MULTICALL3_RUNTIME_BYTECODE);
      // lib/'s ABI fragments are the contract's.
      const compiled = new Interface(artifact.abi as never);
      for (const fn of ["aggregate3", "getBlockNumber"]) {
        expect(multicall3Interface.getFunction(fn)!.format("full")).to.equal(compiled.getFunction(fn)!.format("full"));
      }
    });
  });

  describe("aggregate3", () => {
    it("sends chunkSize calls per eth_call, all at one block, and returns results in call order", async () => {
      const { usdc, usdcAt, holder } = await networkHelpers.loadFixture(multicallFixture);
      const block = await ethers.provider.getBlockNumber();
      // A later transfer must not show in a read pinned before it.
      await (await usdc.transfer(ethers.Wallet.createRandom().address, 1n)).wait();
      const calls: Call3[] = [
        ...Array.from({ length: 4 }, () => call3(usdcAbi, usdcAt, "balanceOf", [holder.address])),
        call3(usdcAbi, usdcAt, "decimals"),
      ];
      let roundTrips = 0;
      const results = await aggregate3(ethers.provider, calls, {
        blockTag: block,
        chunkSize: 2,
        onRoundTrip: () => roundTrips++,
      });
      expect(roundTrips).to.equal(3);
      expect(results.map((result) => decodeCall3(usdcAbi, "balanceOf", result)[0]).slice(0, 4)).to.deep.equal(
        Array(4).fill(1_234_567n),
      );
      expect(decodeCall3(usdcAbi, "decimals", results[4]!)[0]).to.equal(6n);
      expect(decodeCall3(usdcAbi, "balanceOf", (await aggregate3(ethers.provider, [calls[0]!]))[0]!)[0]).to.equal(
        1_234_566n,
      );
      expect(await aggregate3(ethers.provider, [], { onRoundTrip: () => roundTrips++ })).to.deep.equal([]);
      expect(roundTrips).to.equal(3);
    });

    it("refuses a block where Multicall3 has no code, a failing call that must succeed, and a bad chunk size", async () => {
      const { usdcAt, other } = await networkHelpers.loadFixture(multicallFixture);
      const before = (await ethers.provider.getBlockNumber()) - 2;
      expect(await ethers.provider.getCode(MULTICALL3_ADDRESS, before)).to.equal("0x");
      const balance = call3(usdcAbi, usdcAt, "balanceOf", [other.address]);
      await expectRejection(
        aggregate3(ethers.provider, [balance], { blockTag: before }),
        Multicall3MissingError,
        `Multicall3 has no code at ${MULTICALL3_ADDRESS} at block ${before}. On a development chain, call ensureMulticall3`,
      );
      const transfer = call3(usdcAbi, usdcAt, "transfer", [other.address, 5n]);
      const error = await rejectionOf(aggregate3(ethers.provider, [balance, transfer]));
      expect(error.message).to.include("Multicall3: call failed");
      for (const chunkSize of [0, 2.5, 10_001]) {
        await expectRejection(
          aggregate3(ethers.provider, [balance], { chunkSize }),
          RangeError,
          `chunkSize must be an integer from 1 to 10000 (got ${chunkSize}).`,
        );
      }
    });
  });

  describe("callEach (chains without Multicall3)", () => {
    it("gives aggregate3's results one eth_call each, failures included", async () => {
      const { usdcAt, holder, other } = await networkHelpers.loadFixture(multicallFixture);
      const calls = [
        call3(usdcAbi, usdcAt, "balanceOf", [holder.address]),
        // More than anyone holds, whoever eth_call sends it from.
        call3(usdcAbi, usdcAt, "transfer", [other.address, TOO_MUCH], true),
        call3(usdcAbi, usdcAt, "decimals"),
      ];
      let roundTrips = 0;
      const direct = await callEach(ethers.provider, calls, { concurrency: 2, onRoundTrip: () => roundTrips++ });
      expect(roundTrips).to.equal(3);
      expect(direct[0]).to.deep.equal((await aggregate3(ethers.provider, calls))[0]);
      expect(direct[2]).to.deep.equal((await aggregate3(ethers.provider, calls))[2]);
      expect(direct[1]!.success).to.equal(false);
      expect(usdcAbi.parseError(direct[1]!.returnData)!.name).to.equal("ERC20InsufficientBalance");
      expect(describeRevert(direct[1]!.returnData, usdcAbi)).to.match(
        /^reverted with ERC20InsufficientBalance\(0x[0-9a-fA-F]{40}, \d+, 1000000000000\)$/,
      );

      const mustSucceed = call3(usdcAbi, usdcAt, "transfer", [other.address, TOO_MUCH]);
      const error = await rejectionOf(callEach(ethers.provider, [mustSucceed]));
      expect(error).to.be.instanceOf(CallFailedError);
      expect(error.message).to.include(`The call to ${usdcAt} reverted with data 0xe450d38c`);
      expect((error as CallFailedError).revertData.slice(0, 10)).to.equal("0xe450d38c");
      await expectRejection(
        callEach(ethers.provider, calls, { concurrency: 0 }),
        RangeError,
        "concurrency must be a positive integer (got 0).",
      );
      // A transport failure is not a revert: it passes through.
      const down = { call: () => Promise.reject(new Error("connect ECONNREFUSED")) } as unknown as Provider;
      await expectRejection(callEach(down, calls), Error, "connect ECONNREFUSED");
    });

    it("decodes results and describes reverts in words", async () => {
      const { usdcAt } = await networkHelpers.loadFixture(multicallFixture);
      const coder = ethers.AbiCoder.defaultAbiCoder();
      const reason = `0x08c379a0${coder.encode(["string"], ["Multicall3: call failed"]).slice(2)}`;
      const panic = `0x4e487b71${coder.encode(["uint256"], [0x11]).slice(2)}`;
      const custom = usdcAbi.encodeErrorResult("ERC20InsufficientBalance", [usdcAt, 1n, 2n]);
      expect(describeRevert(reason)).to.equal('reverted: "Multicall3: call failed"');
      expect(describeRevert(panic)).to.equal("panicked with code 0x11");
      expect(describeRevert(custom, usdcAbi)).to.equal(`reverted with ERC20InsufficientBalance(${usdcAt}, 1, 2)`);
      expect(describeRevert(custom)).to.equal(`reverted with data ${custom}`);
      expect(describeRevert("0x08c379a0ff")).to.equal("reverted with data 0x08c379a0ff");
      expect(describeRevert("0x")).to.equal("reverted without data (out of gas, or a revert without reason)");

      const error = (() => {
        try {
          decodeCall3(usdcAbi, "transfer", { success: false, returnData: custom }, "transfer(5)");
        } catch (caught) {
          return caught as CallFailedError;
        }
      })()!;
      expect(error).to.be.instanceOf(CallFailedError);
      expect(error.message).to.equal(`transfer(5) reverted with ERC20InsufficientBalance(${usdcAt}, 1, 2).`);
      expect(error.revertData).to.equal(custom);
      expect(errorMessage("plain")).to.equal("plain");
    });
  });

  describe("ensureMulticall3", () => {
    it("installs Multicall3 on the in-process chain once, then finds it present", async () => {
      await networkHelpers.loadFixture(multicallFixture);
      await ethers.provider.send("hardhat_setCode", [MULTICALL3_ADDRESS, "0x"]);
      expect(await ensureMulticall3(ethers.provider, { devChain: true })).to.equal("installed");
      expect(await ensureMulticall3(ethers.provider, { devChain: true })).to.equal("present");
      expect(await ethers.provider.getCode(MULTICALL3_ADDRESS)).to.equal(MULTICALL3_RUNTIME_BYTECODE);
    });

    it("installs it on anvil, through anvil_setCode when the node has no hardhat_setCode", async function () {
      this.timeout(60_000);
      const anvil = await startAnvil();
      const provider = new JsonRpcProvider(anvil.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      try {
        expect(await provider.getCode(MULTICALL3_ADDRESS)).to.equal("0x");
        // A node that only knows anvil_ methods.
        const sent: string[] = [];
        const anvilOnly: DevChainProvider = {
          send: (method, params) => {
            if (method !== "eth_getCode") sent.push(method);
            if (method.startsWith("hardhat_")) return Promise.reject(new Error(`Method not found: ${method}`));
            return provider.send(method, params);
          },
        };
        expect(await ensureMulticall3(anvilOnly, { devChain: true })).to.equal("installed");
        expect(sent).to.deep.equal(["hardhat_setCode", "anvil_setCode"]);
        expect(await provider.getCode(MULTICALL3_ADDRESS)).to.equal(MULTICALL3_RUNTIME_BYTECODE);
        const [result] = await aggregate3(provider, [call3(multicall3Interface, MULTICALL3_ADDRESS, "getBlockNumber")]);
        expect(decodeCall3(multicall3Interface, "getBlockNumber", result!)[0]).to.equal(
          BigInt(await provider.getBlockNumber()),
        );
        expect(await ensureMulticall3(provider, { devChain: false })).to.equal("present");
        // Over JSON-RPC a revert is ethers' CALL_EXCEPTION: a failed result, not an error.
        const [unknown] = await callEach(provider, [
          { target: MULTICALL3_ADDRESS, allowFailure: true, callData: "0x12345678" },
        ]);
        expect(unknown).to.deep.equal({ success: false, returnData: "0x" });
      } finally {
        provider.destroy();
        await anvil.stop();
      }
    });

    it("refuses, with what to do, on a chain that is not a development chain", async () => {
      const missing = stubChain("0x");
      await expectRejection(
        ensureMulticall3(missing.provider, { devChain: false }),
        Multicall3MissingError,
        `Multicall3 is not deployed at ${MULTICALL3_ADDRESS} on this chain. It is there on Base and most public chains; ` +
          "on this one, deploy it through its keyless deployment transaction, or read without it",
      );
      expect(missing.sent).to.deep.equal([]);
      const present = stubChain("0x6080");
      expect(await ensureMulticall3(present.provider, { devChain: false })).to.equal("present");
      expect(present.sent).to.deep.equal([]);
    });

    it("reports a development chain that refuses or ignores setCode", async () => {
      const refusing = stubChain("0x", (method) => {
        throw new Error(`${method} is disabled`);
      });
      await expectRejection(
        ensureMulticall3(refusing.provider, { devChain: true }),
        MulticallError,
        "Could not install Multicall3 on this development chain (hardhat_setCode: hardhat_setCode is disabled; " +
          "anvil_setCode: anvil_setCode is disabled).",
      );
      const ignoring = stubChain("0x");
      await expectRejection(
        ensureMulticall3(ignoring.provider, { devChain: true }),
        MulticallError,
        `Installing Multicall3 did not take: the code at ${MULTICALL3_ADDRESS} differs.`,
      );
      expect(ignoring.sent).to.deep.equal(["hardhat_setCode"]);
    });
  });
});

/** Runtime code without its CBOR metadata tail (whose length is the code's last two bytes). */
function withoutMetadata(code: string): string {
  const metadataBytes = parseInt(code.slice(-4), 16) + 2;
  return code.slice(0, code.length - metadataBytes * 2);
}
