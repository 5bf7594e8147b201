import { AbiCoder, Interface, isCallException, type BlockTag, type Provider, type Result } from "ethers";

/**
 * Multicall3: many read calls in one `eth_call`, so that a state read at a pinned block costs
 * few round trips. Public chains (Base among them) have the canonical Multicall3 at
 * `MULTICALL3_ADDRESS`; on a development chain `ensureMulticall3` installs the runtime code of
 * `contracts/local/Multicall3.sol` there (same ABI and revert behaviour). Pure: no Hardhat.
 */

/** Where Multicall3 lives on Base and most EVM chains (a keyless deployment, same everywhere). */
export const MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11";

/** The functions of Multicall3 the toolkit uses. */
export const MULTICALL3_ABI = [
  "function aggregate3((address target, bool allowFailure, bytes callData)[] calls) payable returns ((bool success, bytes returnData)[] returnData)",
  "function getBlockNumber() view returns (uint256 blockNumber)",
] as const;

export const multicall3Interface = new Interface(MULTICALL3_ABI);

/**
 * The runtime bytecode of `contracts/local/Multicall3.sol` as compiled by this project (solc
 * 0.8.30, optimizer 200 runs, cancun). Kept here so lib/ works without build artifacts;
 * `test/Multicall.ts` fails if it drifts from the artifact.
 */
export const MULTICALL3_RUNTIME_BYTECODE = [
  "0x608060405260043610610028575f3560e01c806342cbb15c1461002c57806382ad56cb1461004b575b5f5ffd5b3480",
  "15610037575f5ffd5b506040514381526020015b60405180910390f35b61005e61005936600461022c565b61006b565b",
  "604051610042919061029d565b6060818067ffffffffffffffff81111561008757610087610338565b60405190808252",
  "80602002602001820160405280156100cc57816020015b604080518082019091525f8152606060208201528152602001",
  "906001900390816100a55790505b5091505f5b8181101561022457368585838181106100ec576100ec61034c565b9050",
  "6020028101906100fe9190610360565b90505f8061010f602084018461037e565b6001600160a01b0316610125604085",
  "01856103ab565b6040516101339291906103f5565b5f604051808303815f865af19150503d805f811461016c57604051",
  "9150601f19603f3d011682016040523d82523d5f602084013e610171565b606091505b50915091508115801561019157",
  "5061018f6040840160208501610404565b155b156101e25760405162461bcd60e51b8152602060048201526017602482",
  "01527f4d756c746963616c6c333a2063616c6c206661696c656400000000000000000060448201526064016040518091",
  "0390fd5b604051806040016040528083151581526020018281525086858151811061020b5761020b61034c565b602002",
  "60200101819052505050508060010190506100d1565b505092915050565b5f5f6020838503121561023d575f5ffd5b82",
  "3567ffffffffffffffff811115610253575f5ffd5b8301601f81018513610263575f5ffd5b803567ffffffffffffffff",
  "811115610279575f5ffd5b8560208260051b840101111561028d575f5ffd5b6020919091019590945092505050565b5f",
  "602082016020835280845180835260408501915060408160051b8601019250602086015f5b8281101561032c57603f19",
  "8786030184528151805115158652602081015190506040602087015280518060408801528060208301606089015e5f60",
  "6082890101526060601f19601f830116880101965050506020820191506020840193506001810190506102c3565b5092",
  "9695505050505050565b634e487b7160e01b5f52604160045260245ffd5b634e487b7160e01b5f52603260045260245f",
  "fd5b5f8235605e19833603018112610374575f5ffd5b9190910192915050565b5f6020828403121561038e575f5ffd5b",
  "81356001600160a01b03811681146103a4575f5ffd5b9392505050565b5f5f8335601e198436030181126103c0575f5f",
  "fd5b83018035915067ffffffffffffffff8211156103da575f5ffd5b6020019150368190038213156103ee575f5ffd5b",
  "9250929050565b818382375f9101908152919050565b5f60208284031215610414575f5ffd5b813580151581146103a4",
  "575f5ffdfea26469706673582212209886564e92505b09efb95123bfa4f888afa93cd61ffe1e0e3b2f718ff7fe167b64",
  "736f6c634300081e0033",
].join("");

/** Calls per `aggregate3` when the caller does not say. */
export const DEFAULT_CHUNK_SIZE = 200;
/** Beyond this, one `eth_call` would carry more than any node's gas or response caps admit. */
export const MAX_CHUNK_SIZE = 10_000;

/** One call for `aggregate3`: `callData` sent to `target`; unless `allowFailure`, its failure fails the batch. */
export interface Call3 {
  target: string;
  allowFailure: boolean;
  callData: string;
}

/** What one call returned (`success`), or its revert data (`!success`). */
export interface Call3Result {
  success: boolean;
  returnData: string;
}

/** What the reader needs of a provider: `eth_call` (ethers' `Provider` and Hardhat's have it). */
export type CallProvider = Pick<Provider, "call">;

/**
 * What installing Multicall3 needs: raw JSON-RPC requests (ethers' providers and Hardhat's have
 * `send`). Code is looked up with `eth_getCode` through `send` too: ethers' `getCode` may answer
 * a repeated request from its cache, which would hide the code just installed.
 */
export interface DevChainProvider {
  send(method: string, params: unknown[]): Promise<unknown>;
}

export interface Aggregate3Options {
  /** The block to run the calls at (every chunk names the same one). Default "latest". */
  blockTag?: BlockTag;
  /** Calls per `eth_call` (1 to 10,000; default 200). */
  chunkSize?: number;
  /** Called once per `eth_call` sent: lets a caller count round trips. */
  onRoundTrip?: () => void;
}

export interface CallEachOptions {
  blockTag?: BlockTag;
  /** `eth_call`s in flight at once (default 16). */
  concurrency?: number;
  onRoundTrip?: () => void;
}

/** Multicall3 could not serve a batch. */
export class MulticallError extends Error {
  override name = "MulticallError";
}

/** There is no code at `MULTICALL3_ADDRESS` (on the chain, or at the block the call named). */
export class Multicall3MissingError extends MulticallError {
  override name = "Multicall3MissingError";
}

/** A call whose result was needed failed; `revertData` is what it reverted with. */
export class CallFailedError extends MulticallError {
  override name = "CallFailedError";
  readonly revertData: string;

  constructor(message: string, revertData: string) {
    super(message);
    this.revertData = revertData;
  }
}

const DEFAULT_CONCURRENCY = 16;
const ERROR_STRING_SELECTOR = "0x08c379a0";
const PANIC_SELECTOR = "0x4e487b71";

function checkChunkSize(chunkSize: number): void {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunkSize must be an integer from 1 to ${MAX_CHUNK_SIZE} (got ${chunkSize}).`);
  }
}

/**
 * Runs `calls` through Multicall3's `aggregate3`, `chunkSize` calls per `eth_call`, every chunk at
 * the same block, and returns one result per call in order. A call that does not allow failure
 * and fails makes its chunk revert ("Multicall3: call failed"), which rejects. No code at the
 * address (at that block) is a `Multicall3MissingError`: `eth_call` to an empty account
 * "succeeds" with no data, which must not pass for a batch of empty results.
 */
export async function aggregate3(
  provider: CallProvider,
  calls: readonly Call3[],
  options: Aggregate3Options = {},
): Promise<Call3Result[]> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  checkChunkSize(chunkSize);
  const results: Call3Result[] = [];
  for (let start = 0; start < calls.length; start += chunkSize) {
    const chunk = calls.slice(start, start + chunkSize);
    const data = multicall3Interface.encodeFunctionData("aggregate3", [
      chunk.map((call) => [call.target, call.allowFailure, call.callData]),
    ]);
    let raw: string;
    try {
      raw = await provider.call({ to: MULTICALL3_ADDRESS, data, blockTag: options.blockTag });
    } finally {
      // A refused request was a round trip too.
      options.onRoundTrip?.();
    }
    if (raw === "0x") {
      throw new Multicall3MissingError(
        `Multicall3 has no code at ${MULTICALL3_ADDRESS} at block ${String(options.blockTag ?? "latest")}. ` +
          `On a development chain, call ensureMulticall3 before choosing the block to read at.`,
      );
    }
    const [decoded] = multicall3Interface.decodeFunctionResult("aggregate3", raw) as unknown as [Result];
    if (decoded.length !== chunk.length) {
      throw new MulticallError(`aggregate3 returned ${decoded.length} results for ${chunk.length} calls.`);
    }
    for (const entry of decoded) {
      results.push({ success: entry.success as boolean, returnData: entry.returnData as string });
    }
  }
  return results;
}

/**
 * The results `aggregate3` would give, one `eth_call` per call (`concurrency` in flight): for
 * chains without Multicall3. A revert becomes a failed result, or rejects with
 * `CallFailedError` when the call does not allow failure; transport errors reject as they are.
 */
export async function callEach(
  provider: CallProvider,
  calls: readonly Call3[],
  options: CallEachOptions = {},
): Promise<Call3Result[]> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer (got ${concurrency}).`);
  }
  const one = async (call: Call3): Promise<Call3Result> => {
    let result: Call3Result;
    try {
      const returnData = await provider.call({ to: call.target, data: call.callData, blockTag: options.blockTag });
      result = { success: true, returnData };
    } catch (error) {
      const revertData = revertDataOf(error);
      if (revertData === undefined) throw error;
      result = { success: false, returnData: revertData };
    } finally {
      options.onRoundTrip?.();
    }
    if (!result.success && !call.allowFailure) {
      throw new CallFailedError(`The call to ${call.target} ${describeRevert(result.returnData)}.`, result.returnData);
    }
    return result;
  };
  const results: Call3Result[] = [];
  for (let start = 0; start < calls.length; start += concurrency) {
    results.push(...(await Promise.all(calls.slice(start, start + concurrency).map(one))));
  }
  return results;
}

/**
 * The revert data of an `eth_call` that reverted, or undefined for any other failure. ethers
 * reports a revert as a CALL_EXCEPTION; Hardhat's in-process provider as an error with JSON-RPC
 * code 3 ("execution reverted") and the data.
 */
function revertDataOf(error: unknown): string | undefined {
  if (isCallException(error)) return error.data ?? "0x";
  const { code, data } = (error ?? {}) as { code?: unknown; data?: unknown };
  return code === 3 && typeof data === "string" && /^0x([0-9a-fA-F]{2})*$/.test(data) ? data : undefined;
}

/** A call of `iface`'s function `fn` with `args` on `target`, for `aggregate3`. */
export function call3(
  iface: Interface,
  target: string,
  fn: string,
  args: readonly unknown[] = [],
  allowFailure = false,
): Call3 {
  return { target, allowFailure, callData: iface.encodeFunctionData(fn, args) };
}

/**
 * The decoded return values of `fn` from one call's result. A failed call throws
 * `CallFailedError`, naming `what` and the revert (decoded with `iface`'s custom errors).
 */
export function decodeCall3(iface: Interface, fn: string, result: Call3Result, what: string = fn): Result {
  if (!result.success) {
    throw new CallFailedError(`${what} ${describeRevert(result.returnData, iface)}.`, result.returnData);
  }
  return iface.decodeFunctionResult(fn, result.returnData);
}

/**
 * An error in one line: ethers' short message (its full message repeats the whole request) and
 * what the node said, when it said something.
 */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { shortMessage, info } = error as { shortMessage?: string; info?: { error?: { message?: unknown } } };
  if (shortMessage === undefined) return error.message;
  const node = info?.error?.message;
  return typeof node === "string" ? `${shortMessage} (the node said: ${node})` : shortMessage;
}

/** A revert in words: a reason string, a panic code, a custom error of `iface`, or the raw data. */
export function describeRevert(data: string, iface?: Interface): string {
  if (data === "0x") return "reverted without data (out of gas, or a revert without reason)";
  const selector = data.slice(0, 10).toLowerCase();
  const coder = AbiCoder.defaultAbiCoder();
  try {
    if (selector === ERROR_STRING_SELECTOR) {
      return `reverted: ${JSON.stringify(coder.decode(["string"], `0x${data.slice(10)}`)[0])}`;
    }
    if (selector === PANIC_SELECTOR) {
      return `panicked with code 0x${(coder.decode(["uint256"], `0x${data.slice(10)}`)[0] as bigint).toString(16)}`;
    }
    const parsed = iface?.parseError(data);
    if (parsed) return `reverted with ${parsed.name}(${parsed.args.map(String).join(", ")})`;
  } catch {
    // Malformed revert data: shown raw below.
  }
  return `reverted with data ${data}`;
}

/**
 * Makes sure Multicall3 answers at `MULTICALL3_ADDRESS`. Where code is there already (Base and
 * most public chains), nothing is sent. On a development chain without it (the in-process Hardhat
 * chain, anvil), our runtime code is installed there with `hardhat_setCode` (or `anvil_setCode`);
 * do this before choosing the block to read at, since a read at an earlier block sees no code.
 * Anywhere else a missing Multicall3 is an error: the toolkit never deploys to a real chain
 * behind the operator's back.
 */
export async function ensureMulticall3(
  provider: DevChainProvider,
  options: { devChain: boolean },
): Promise<"present" | "installed"> {
  const code = async () => String(await provider.send("eth_getCode", [MULTICALL3_ADDRESS, "latest"]));
  if ((await code()) !== "0x") return "present";
  if (!options.devChain) {
    throw new Multicall3MissingError(
      `Multicall3 is not deployed at ${MULTICALL3_ADDRESS} on this chain. It is there on Base and most public ` +
        `chains; on this one, deploy it through its keyless deployment transaction, or read without it ` +
        `(readV1State's multicall: false, at the cost of one round trip per call).`,
    );
  }
  const failures: string[] = [];
  for (const method of ["hardhat_setCode", "anvil_setCode"]) {
    try {
      await provider.send(method, [MULTICALL3_ADDRESS, MULTICALL3_RUNTIME_BYTECODE]);
      break;
    } catch (error) {
      failures.push(`${method}: ${errorMessage(error)}`);
    }
  }
  if (failures.length === 2) {
    throw new MulticallError(`Could not install Multicall3 on this development chain (${failures.join("; ")}).`);
  }
  if ((await code()).toLowerCase() !== MULTICALL3_RUNTIME_BYTECODE) {
    throw new MulticallError(`Installing Multicall3 did not take: the code at ${MULTICALL3_ADDRESS} differs.`);
  }
  return "installed";
}
