import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  FaultPlan,
  LIMIT_EXCEEDED,
  NO_FAULTS,
  startFaultProxy,
  type FaultProxy,
  type FaultRates,
} from "../../lib/reliability/faultProxy.js";

/**
 * A minimal JSON-RPC node for the proxy to forward to: `eth_blockNumber` counts up by one per
 * call, every other method answers its own name; it records every call it received.
 */
interface Upstream {
  url: string;
  received: { method: string; id: unknown }[];
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const received: { method: string; id: unknown }[] = [];
  let height = 100;
  const answer = (call: { id: unknown; method: string }) => {
    received.push({ method: call.method, id: call.id });
    const result = call.method === "eth_blockNumber" ? `0x${(height++).toString(16)}` : call.method;
    return { jsonrpc: "2.0", id: call.id, result };
  };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const parsed = JSON.parse(body) as unknown;
      const out = Array.isArray(parsed) ? parsed.map(answer) : answer(parsed as { id: unknown; method: string });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function call(method: string, id: number) {
  return { jsonrpc: "2.0", id, method, params: [] };
}

async function post(url: string, body: unknown, timeoutMs = 2_000): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

describe("reliability: the fault-injecting JSON-RPC proxy", function () {
  this.timeout(20_000);
  let upstream: Upstream;
  let proxy: FaultProxy | undefined;

  const start = async (rates: Partial<FaultRates>, delayMs = 300) => {
    proxy = await startFaultProxy({ upstream: upstream.url, seed: "test", rates: { ...NO_FAULTS, ...rates }, delayMs });
    return proxy;
  };

  beforeEach(async () => {
    upstream = await startUpstream();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    await upstream.close();
  });

  it("forwards calls unchanged when no fault is drawn", async () => {
    const p = await start({});
    const answer = (await (await post(p.url, call("eth_chainId", 7))).json()) as Record<string, unknown>;
    expect(answer).to.deep.equal({ jsonrpc: "2.0", id: 7, result: "eth_chainId" });
    expect(upstream.received).to.deep.equal([{ method: "eth_chainId", id: 7 }]);
    expect(p.counts).to.deep.equal({ drop: 0, delay: 0, http429: 0, limit: 0, staleBlock: 0 });
    expect(p.requests).to.deep.equal({ http: 1, calls: 1 });
  });

  it("drop: the node does the work, the answer never comes (the socket closes)", async () => {
    const p = await start({ drop: 1 });
    const failure = await post(p.url, call("eth_sendRawTransaction", 1)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).to.be.instanceOf(TypeError);
    expect(upstream.received).to.have.length(1);
    expect(p.counts.drop).to.equal(1);
  });

  it("delay: the answer comes after delayMs, past a client timeout shorter than it", async () => {
    const p = await start({ delay: 1 }, 400);
    const timedOut = await post(p.url, call("eth_call", 1), 150).then(
      () => "answered",
      (error: unknown) => (error as Error).name,
    );
    expect(timedOut).to.equal("TimeoutError");
    const started = performance.now();
    const late = (await (await post(p.url, call("eth_call", 2), 2_000)).json()) as Record<string, unknown>;
    expect(performance.now() - started).to.be.at.least(380);
    expect(late.result).to.equal("eth_call");
    expect(p.counts.delay).to.equal(2);
  });

  it("http429: answers Too Many Requests with Retry-After, without forwarding", async () => {
    proxy = await startFaultProxy({
      upstream: upstream.url,
      seed: "test",
      rates: { ...NO_FAULTS, http429: 1 },
      retryAfterSeconds: 2,
    });
    const response = await post(proxy.url, call("eth_call", 1));
    expect(response.status).to.equal(429);
    expect(response.headers.get("retry-after")).to.equal("2");
    expect(upstream.received).to.deep.equal([]);
    expect(proxy.counts.http429).to.equal(1);
  });

  it("limit: answers JSON-RPC -32005 'limit exceeded' with the call's id, without forwarding", async () => {
    const p = await start({ limit: 1 });
    const answer = (await (await post(p.url, call("eth_getLogs", 42))).json()) as Record<string, unknown>;
    expect(answer).to.deep.equal({ jsonrpc: "2.0", id: 42, error: { code: -32005, message: "limit exceeded" } });
    expect(LIMIT_EXCEEDED.code).to.equal(-32005);
    expect(upstream.received).to.deep.equal([]);
    expect(p.counts.limit).to.equal(1);
  });

  it("staleBlock: eth_blockNumber reports a height it saw earlier, never a new one", async () => {
    const p = await start({ staleBlock: 1 });
    const height = async (id: number) =>
      ((await (await post(p.url, call("eth_blockNumber", id))).json()) as { result: string }).result;
    // The first answer has nothing older to replace it with.
    expect(await height(1)).to.equal("0x64");
    // The node is at 0x65, 0x66, 0x67 for these; each answer is one of the heights seen before.
    const later = [await height(2), await height(3), await height(4)];
    expect(later[0]).to.equal("0x64");
    later.forEach((h, i) => expect(Number(h)).to.be.within(0x64, 0x64 + i));
    expect(p.counts.staleBlock).to.equal(3);
    // Other methods are never made stale.
    expect(((await (await post(p.url, call("eth_chainId", 5))).json()) as { result: string }).result).to.equal(
      "eth_chainId",
    );
  });

  it("batch requests: refused calls get -32005 with their ids, the rest are forwarded as one batch", async () => {
    const p = await start({ limit: 0.5 });
    const batch = [1, 2, 3, 4, 5, 6, 7, 8].map((id) => call(`m${id}`, id));
    const answers = (await (await post(p.url, batch)).json()) as { id: number; result?: string; error?: unknown }[];
    expect(answers.map((a) => a.id)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    const refused = answers.filter((a) => a.error !== undefined);
    const passed = answers.filter((a) => a.error === undefined);
    expect(refused.length).to.be.within(1, 7);
    for (const a of refused) expect(a.error).to.deep.equal({ code: -32005, message: "limit exceeded" });
    for (const a of passed) expect(a.result).to.equal(`m${a.id}`);
    expect(upstream.received.map((r) => r.id)).to.deep.equal(passed.map((a) => a.id));
    expect(p.counts.limit).to.equal(refused.length);
    expect(p.requests).to.deep.equal({ http: 1, calls: 8 });
  });

  it("setEnabled(false) makes it a plain forwarder", async () => {
    const p = await start({ drop: 1 });
    p.setEnabled(false);
    expect((await post(p.url, call("eth_call", 1))).status).to.equal(200);
    expect(p.counts.drop).to.equal(0);
  });

  it("is reproducible: a seed gives the same fault sequence, another seed another one", () => {
    const sequence = (seed: string) => {
      const plan = new FaultPlan(seed, { drop: 0.2, delay: 0.2, http429: 0.2, limit: 0.3, staleBlock: 0.5 });
      return Array.from({ length: 200 }, () => `${plan.transport() ?? "-"}/${plan.limit()}/${plan.stale()}`);
    };
    expect(sequence("a")).to.deep.equal(sequence("a"));
    expect(sequence("a")).to.not.deep.equal(sequence("b"));
    const kinds = new Set(sequence("a").map((s) => s.split("/")[0]));
    expect([...kinds].sort()).to.deep.equal(["-", "delay", "drop", "http429"]);
  });

  it("refuses rates outside [0, 1] and transport rates summing above 1", () => {
    expect(() => new FaultPlan("x", { drop: 1.5 })).to.throw(RangeError, "fault rate drop must be within [0, 1]");
    expect(() => new FaultPlan("x", { drop: 0.6, delay: 0.6 })).to.throw(RangeError, "must not exceed 1");
  });
});
