import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { SeededRandom } from "../fixtures/random.js";

/**
 * A JSON-RPC proxy on loopback that forwards to an upstream node and misbehaves on purpose, the
 * way public RPC endpoints do: it drops answers (closes the socket without one), answers after
 * the client has given up, rate-limits (HTTP 429, JSON-RPC -32005 "limit exceeded"), and reports
 * an old block number. Faults are drawn from a seeded generator in the order requests arrive, so
 * a seed reproduces the same fault sequence. The harness's own verification reads go straight
 * to the upstream node, never through here.
 */

export const FAULT_KINDS = ["drop", "delay", "http429", "limit", "staleBlock"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Probabilities per request (drop, delay, http429 per HTTP request; limit per call; staleBlock per `eth_blockNumber`). */
export interface FaultRates {
  drop: number;
  delay: number;
  http429: number;
  limit: number;
  staleBlock: number;
}

/** The mix: 10% dropped, 5% delayed past the timeout, some rate limiting, some stale heights. */
export const DEFAULT_FAULT_RATES: FaultRates = { drop: 0.1, delay: 0.05, http429: 0.03, limit: 0.03, staleBlock: 0.2 };
export const NO_FAULTS: FaultRates = { drop: 0, delay: 0, http429: 0, limit: 0, staleBlock: 0 };

export interface FaultProxyOptions {
  upstream: string;
  seed: string;
  rates?: Partial<FaultRates>;
  /** How long a delayed answer is held: longer than the client's timeout. */
  delayMs?: number;
  /** The `Retry-After` header of a 429, in seconds. */
  retryAfterSeconds?: number;
}

export interface FaultProxy {
  url: string;
  /** Faults injected so far, per kind. */
  readonly counts: Record<FaultKind, number>;
  /** HTTP requests and JSON-RPC calls seen. */
  readonly requests: { http: number; calls: number };
  /** Switches faults on or off (off: a plain forwarder), e.g. while the harness prepares the chain. */
  setEnabled(enabled: boolean): void;
  close(): Promise<void>;
}

interface JsonRpcCall {
  jsonrpc?: string;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

/** JSON-RPC's "limit exceeded" (EIP-1474), as rate-limited providers answer it. */
export const LIMIT_EXCEEDED = { code: -32005, message: "limit exceeded" } as const;

/** The decisions for one HTTP request: pure, so tests check the sequence a seed gives. */
export class FaultPlan {
  readonly #random: SeededRandom;
  readonly #rates: FaultRates;

  constructor(seed: string, rates: Partial<FaultRates> = {}) {
    this.#random = new SeededRandom(`fault-proxy:${seed}`);
    this.#rates = { ...DEFAULT_FAULT_RATES, ...rates };
    for (const [kind, p] of Object.entries(this.#rates)) {
      if (!(p >= 0 && p <= 1)) throw new RangeError(`fault rate ${kind} must be within [0, 1], got ${p}.`);
    }
    if (this.#rates.drop + this.#rates.delay + this.#rates.http429 > 1) {
      throw new RangeError("drop + delay + http429 rates must not exceed 1.");
    }
  }

  /** What happens to the HTTP request as a whole: one draw per request. */
  transport(): "drop" | "delay" | "http429" | undefined {
    const r = this.#random.next();
    const { drop, delay, http429 } = this.#rates;
    if (r < drop) return "drop";
    if (r < drop + delay) return "delay";
    if (r < drop + delay + http429) return "http429";
    return undefined;
  }

  /** Whether one call of the request is refused with -32005 (one draw per call). */
  limit(): boolean {
    return this.#random.chance(this.#rates.limit);
  }

  /** Whether an `eth_blockNumber` answer is replaced by an older height (one draw per such call). */
  stale(): boolean {
    return this.#random.chance(this.#rates.staleBlock);
  }

  /** Which of `count` older heights to report. */
  pick(count: number): number {
    return this.#random.int(0, count - 1);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function forward(upstream: URL, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      upstream,
      { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body);
}

/** Starts the proxy on 127.0.0.1 (a free port); faults are on from the start. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const plan = new FaultPlan(options.seed, options.rates);
  const delayMs = options.delayMs ?? 3_000;
  const retryAfter = String(options.retryAfterSeconds ?? 0);
  const counts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  const requests = { http: 0, calls: 0 };
  /** Every height an `eth_blockNumber` answer carried, in the order seen (for stale answers). */
  const heights: string[] = [];
  let enabled = true;
  const held = new Set<NodeJS.Timeout>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = (await readBody(req)).toString("utf8");
    requests.http++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // Not ours to judge: the node answers malformed requests itself.
      const answer = await forward(upstream, raw);
      return send(res, answer.status, answer.body);
    }
    const batch = Array.isArray(parsed);
    const calls = (batch ? parsed : [parsed]) as JsonRpcCall[];
    requests.calls += calls.length;

    const transport = enabled ? plan.transport() : undefined;
    if (transport === "http429") {
      counts.http429++;
      return send(res, 429, JSON.stringify({ error: "too many requests" }), { "retry-after": retryAfter });
    }
    // Calls refused with -32005 never reach the node; the rest go as one request.
    const refused = calls.map(() => enabled && plan.limit());
    const passing = calls.filter((_, i) => !refused[i]);
    let answers: unknown[] = [];
    if (passing.length > 0) {
      const upstreamAnswer = await forward(upstream, JSON.stringify(batch ? passing : passing[0]));
      if (upstreamAnswer.status !== 200) return send(res, upstreamAnswer.status, upstreamAnswer.body);
      const decoded = JSON.parse(upstreamAnswer.body) as unknown;
      answers = Array.isArray(decoded) ? decoded : [decoded];
    }
    const byId = new Map<string, Record<string, unknown>>();
    for (const answer of answers)
      byId.set(JSON.stringify((answer as { id?: unknown }).id), answer as Record<string, unknown>);
    const out = calls.map((call, i) => {
      if (refused[i]) {
        counts.limit++;
        return { jsonrpc: "2.0", id: call.id ?? null, error: { ...LIMIT_EXCEEDED } };
      }
      const answer = byId.get(JSON.stringify(call.id)) ?? { jsonrpc: "2.0", id: call.id ?? null, result: null };
      if (call.method === "eth_blockNumber" && typeof answer.result === "string") {
        const current = answer.result;
        const older = heights.filter((h) => BigInt(h) < BigInt(current));
        if (!heights.includes(current)) heights.push(current);
        if (enabled && older.length > 0 && plan.stale()) {
          counts.staleBlock++;
          return { ...answer, result: older[plan.pick(older.length)] };
        }
      }
      return answer;
    });
    const body = JSON.stringify(batch ? out : out[0]);
    if (transport === "drop") {
      // The node did the work; the answer is lost on the way back.
      counts.drop++;
      req.socket.destroy();
      return;
    }
    if (transport === "delay") {
      counts.delay++;
      const timer = setTimeout(() => {
        held.delete(timer);
        if (!res.destroyed) send(res, 200, body);
      }, delayMs);
      held.add(timer);
      return;
    }
    send(res, 200, body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 502, JSON.stringify({ error: String(error) }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    requests,
    setEnabled: (value) => {
      enabled = value;
    },
    close: () =>
      new Promise((resolve) => {
        for (const timer of held) clearTimeout(timer);
        held.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
