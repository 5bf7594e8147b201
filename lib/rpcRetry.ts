import { keccak256 } from "ethers";

/**
 * Retries of transient JSON-RPC failures, at the EIP-1193 `request` every ethers call goes
 * through. Hardhat's HTTP provider retries HTTP 429 itself but gives up on an answer lost on the
 * way back (the socket closes), on a node's -32005 "limit exceeded", and waits up to its network
 * timeout (300 s) for an answer that never comes. Each request here gets its own timeout, and a
 * transient failure is retried with exponential backoff. Node answers that mean something (a
 * revert, a bad argument) are passed through at once.
 *
 * Sending is safe to retry: `eth_sendRawTransaction` carries signed bytes, so a second copy is the
 * same transaction. When the first attempt did reach the node, the retry hears "already known"
 * (or "nonce too low" once it is mined); the node is then asked for the transaction by its hash,
 * and if it has it the retry answers with the hash, as the lost answer would have.
 */

export interface Eip1193Like {
  request(args: { method: string; params?: unknown[] | object }): Promise<unknown>;
}

export interface RetryPolicy {
  /** Per attempt; the attempt's answer is ignored if it comes later. */
  timeoutMs: number;
  /** Attempts in all (1 = no retry). */
  attempts: number;
  /** The first wait between attempts, doubled each time up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  timeoutMs: 30_000,
  attempts: 8,
  backoffMs: 250,
  maxBackoffMs: 5_000,
};

export interface RetryEvent {
  method: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  reason: string;
}

/** An attempt that got no answer within `timeoutMs`. */
export class RpcTimeoutError extends Error {
  override name = "RpcTimeoutError";
}

/** Hardhat's "network timeout" and "connection refused" errors (HHE704, HHE703). */
const HARDHAT_TRANSIENT = new Set([703, 704]);
/** EIP-1474 "limit exceeded". */
const LIMIT_EXCEEDED = -32005;
/** Hardhat's UnknownError: the HTTP request itself failed (socket closed, reset). */
const TRANSPORT_FAILED = -1;

/** Whether `error` is worth another attempt: no answer, a lost answer, or a rate limit. */
export function isTransient(error: unknown): boolean {
  if (error instanceof RpcTimeoutError) return true;
  if (typeof error !== "object" || error === null) return false;
  const e = error as { code?: unknown; number?: unknown; name?: unknown; message?: unknown };
  if (typeof e.number === "number" && e.name === "HardhatError") return HARDHAT_TRANSIENT.has(e.number);
  if (e.code === LIMIT_EXCEEDED || e.code === TRANSPORT_FAILED) return true;
  return e.code === "ECONNRESET" || e.code === "ECONNREFUSED" || e.code === "UND_ERR_SOCKET";
}

const ALREADY_SENT = /already known|known transaction|already imported|nonce too low|nonce has already been used/i;

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0]! : String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number, method: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RpcTimeoutError(`${method}: no answer within ${ms} ms`)), ms);
  });
  // A late answer (or failure) of an abandoned attempt must not surface as unhandled.
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function checkPolicy(policy: RetryPolicy): void {
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isSafeInteger(value) || value < (name === "attempts" || name === "timeoutMs" ? 1 : 0)) {
      throw new RangeError(
        `retry policy ${name} must be a whole number${name === "attempts" ? " ≥ 1" : ""}, got ${value}.`,
      );
    }
  }
}

/**
 * Makes `provider.request` retry transient failures (see the module comment); returns a function
 * that puts the original back. `onRetry` hears every failed attempt that is retried.
 */
export function installRetries(
  provider: Eip1193Like,
  policy: Partial<RetryPolicy> = {},
  onRetry?: (event: RetryEvent) => void,
): () => void {
  const full: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...policy };
  checkPolicy(full);
  const original = provider.request.bind(provider);
  provider.request = (args) => requestWithRetries(original, args, full, onRetry);
  return () => {
    provider.request = original;
  };
}

async function requestWithRetries(
  request: Eip1193Like["request"],
  args: { method: string; params?: unknown[] | object },
  policy: RetryPolicy,
  onRetry?: (event: RetryEvent) => void,
): Promise<unknown> {
  let failedBefore = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTimeout(request(args), policy.timeoutMs, args.method);
    } catch (error) {
      if (failedBefore && args.method === "eth_sendRawTransaction" && ALREADY_SENT.test(reasonOf(error))) {
        const hash = await knownTransaction(request, args, policy);
        if (hash !== undefined) return hash;
      }
      if (!isTransient(error) || attempt >= policy.attempts) throw error;
      failedBefore = true;
      onRetry?.({ method: args.method, attempt, reason: reasonOf(error) });
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (attempt - 1))),
      );
    }
  }
}

/** The hash of the raw transaction being sent, if the node already has it (pending or mined). */
async function knownTransaction(
  request: Eip1193Like["request"],
  args: { params?: unknown[] | object },
  policy: RetryPolicy,
): Promise<string | undefined> {
  const raw = Array.isArray(args.params) ? args.params[0] : undefined;
  if (typeof raw !== "string") return undefined;
  const hash = keccak256(raw);
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    try {
      const tx = await withTimeout(
        request({ method: "eth_getTransactionByHash", params: [hash] }),
        policy.timeoutMs,
        "eth_getTransactionByHash",
      );
      return tx === null ? undefined : hash;
    } catch (error) {
      if (!isTransient(error)) return undefined;
    }
  }
  return undefined;
}
