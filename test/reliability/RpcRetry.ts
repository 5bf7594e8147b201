import { expect } from "chai";
import hre from "hardhat";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { keccak256 } from "ethers";
import { NO_FAULTS, startFaultProxy, type FaultProxy, type FaultRates } from "../../lib/reliability/faultProxy.js";
import { installRetries, isTransient, RpcTimeoutError, type RetryEvent } from "../../lib/rpcRetry.js";

/**
 * The engine's retries (lib/rpcRetry.ts) on Hardhat's real HTTP provider, behind the fault proxy,
 * in front of a small JSON-RPC node: each fault kind the proxy injects is survived, node answers
 * that mean something are not retried, and a resent transaction the node already has is answered
 * with its hash.
 */

const RAW = "0x02f86b827a6980843b9aca00847735940083030d4094000000000000000000000000000000000000c0ff80821234c0";

interface Node {
  url: string;
  /** Raw transactions received, in order. */
  sent: string[];
  close(): Promise<void>;
}

async function startNode(): Promise<Node> {
  const sent: string[] = [];
  const answer = (call: { id: unknown; method: string; params: unknown[] }) => {
    const reply = (result: unknown) => ({ jsonrpc: "2.0", id: call.id, result });
    switch (call.method) {
      case "eth_chainId":
        return reply("0x7a69");
      case "eth_blockNumber":
        return reply("0x10");
      case "eth_accounts":
        return reply([]);
      case "eth_sendRawTransaction": {
        const raw = call.params[0] as string;
        if (sent.includes(raw))
          return { jsonrpc: "2.0", id: call.id, error: { code: -32000, message: "already known" } };
        sent.push(raw);
        return reply(keccak256(raw));
      }
      case "eth_getTransactionByHash":
        return reply(sent.some((raw) => keccak256(raw) === call.params[0]) ? { hash: call.params[0] } : null);
      case "eth_call":
        return { jsonrpc: "2.0", id: call.id, error: { code: 3, message: "execution reverted", data: "0x12345678" } };
      default:
        return reply(call.method);
    }
  };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer(JSON.parse(body) as { id: unknown; method: string; params: unknown[] })));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("reliability: JSON-RPC retries on Hardhat's HTTP provider", function () {
  this.timeout(60_000);
  let node: Node;
  let proxy: FaultProxy;
  let close: () => Promise<void>;
  let provider: { request(args: { method: string; params?: unknown[] }): Promise<unknown> };
  let retries: RetryEvent[];

  const connect = async (rates: Partial<FaultRates>, seed = "retry") => {
    proxy = await startFaultProxy({ upstream: node.url, seed, rates: { ...NO_FAULTS, ...rates }, delayMs: 400 });
    const connection = await hre.network.create({ network: "localhost", override: { url: proxy.url } });
    provider = connection.provider as unknown as typeof provider;
    close = () => connection.close();
    retries = [];
    installRetries(provider, { timeoutMs: 200, attempts: 8, backoffMs: 1, maxBackoffMs: 10 }, (e) => retries.push(e));
  };

  beforeEach(async () => {
    node = await startNode();
  });
  afterEach(async () => {
    await close?.();
    await proxy?.close();
    await node.close();
  });

  for (const [kind, rates] of [
    ["a dropped answer", { drop: 0.5 }],
    ["an answer delayed past the timeout", { delay: 0.5 }],
    ["-32005 limit exceeded", { limit: 0.5 }],
  ] as const) {
    it(`survives ${kind}, and says so for every retry`, async () => {
      await connect(rates);
      for (let i = 0; i < 10; i++) expect(await provider.request({ method: "net_version" })).to.equal("net_version");
      const injected = Object.values(proxy.counts).reduce((a, b) => a + b, 0);
      expect(injected).to.be.greaterThan(0);
      expect(retries).to.have.length(injected);
      expect(retries.every((r) => r.method === "net_version")).to.equal(true);
    });
  }

  it("does not retry a node's meaningful answer (a revert)", async () => {
    await connect({});
    const error = await provider.request({ method: "eth_call", params: [{}, "latest"] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((error as Error).message)).to.include("execution reverted");
    expect(isTransient(error)).to.equal(false);
    expect(retries).to.deep.equal([]);
  });

  it("gives up after `attempts`, with the last error", async () => {
    await connect({ limit: 1 });
    const error = await provider.request({ method: "net_version" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as { code?: unknown }).code).to.equal(-32005);
    expect(retries).to.have.length(7);
    expect(retries.map((r) => r.attempt)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
  });

  it("a resent transaction whose first answer was lost is answered with its hash, sent once", async () => {
    // The first send reaches the node and its answer is dropped; the retry hears "already known".
    await connect({ drop: 1 });
    const sending = provider.request({ method: "eth_sendRawTransaction", params: [RAW] });
    // Let the first attempt through the dropping proxy, then stop dropping.
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.setEnabled(false);
    expect(await sending).to.equal(keccak256(RAW));
    expect(node.sent).to.deep.equal([RAW]);
    expect(retries.length).to.be.greaterThan(0);
  });

  it("refuses a policy out of range", () => {
    const target = { request: async () => undefined };
    expect(() => installRetries(target, { attempts: 0 })).to.throw(RangeError, "attempts");
    expect(() => installRetries(target, { timeoutMs: 1.5 })).to.throw(RangeError, "timeoutMs");
  });

  it("classifies errors: timeouts, transport failures and -32005 are transient; the rest are not", () => {
    expect(isTransient(new RpcTimeoutError("x"))).to.equal(true);
    expect(isTransient({ code: -32005 })).to.equal(true);
    expect(isTransient({ code: -1 })).to.equal(true);
    expect(isTransient({ code: "ECONNRESET" })).to.equal(true);
    expect(isTransient({ name: "HardhatError", number: 704 })).to.equal(true);
    expect(isTransient({ name: "HardhatError", number: 700 })).to.equal(false);
    expect(isTransient({ code: -32000, message: "nonce too low" })).to.equal(false);
    expect(isTransient(new Error("boom"))).to.equal(false);
    expect(isTransient("boom")).to.equal(false);
  });
});
