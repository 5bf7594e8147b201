import { Interface, Wallet, toQuantity, type Provider, type TransactionReceipt } from "ethers";

/** A provider that also passes raw JSON-RPC requests (Hardhat's and ethers' JSON-RPC providers). */
export type RpcProvider = Provider & { send(method: string, params: unknown[]): Promise<unknown> };

/** One contract call to sign and send from a locally held key. */
export interface Call {
  signer: Wallet;
  to: string;
  data: string;
  value?: bigint;
  gasLimit: bigint;
}

export interface SendProgress {
  sent: number;
  total: number;
}

export interface SendOptions {
  onProgress?: (progress: SendProgress) => void;
  /**
   * Development chains only (in-process Hardhat, anvil): switch automine off while sending and
   * mine each chunk of a round into a few full blocks with `evm_mine`, instead of one block per
   * transaction. The transactions are the same signed ones from the same keys, in the same order;
   * only the number of blocks changes. Ignored where the chain cannot report its automine state,
   * and automine is restored even when a call reverts.
   */
  batchBlocks?: boolean;
}

/**
 * How many calls are in flight at once; one per sender within a round. With blocks batched a
 * chunk is mined into ceil(chunk gas limits / block gas limit) blocks, so larger chunks mean
 * fewer, fuller blocks; with automine each call is its own block and the chunk only bounds
 * the requests outstanding.
 */
const IN_FLIGHT = { automine: 256, batched: 1024 } as const;
/** Signatures between two yields to the event loop while a chunk is signed ahead. */
const SIGN_SLICE = 16;

/**
 * Sends many calls from many keys quickly and safely. Calls from the same key keep their order:
 * round r sends every key's r-th call together (distinct senders, so nonces never race), and a
 * round ends only when all its receipts are in. Nonces and fees are set locally, so a call
 * costs one RPC round trip to send and one to confirm; the next chunk is signed while the
 * current one is sent and mined. A reverted call stops everything with the decoded error, so
 * nothing after it runs on a wrong premise.
 */
export async function sendCalls(
  provider: RpcProvider,
  calls: readonly Call[],
  decoder: Interface,
  options: SendOptions = {},
): Promise<TransactionReceipt[]> {
  const receipts: TransactionReceipt[] = new Array(calls.length);
  if (calls.length === 0) return receipts;
  const restoreAutomine = options.batchBlocks === true ? await pauseAutomine(provider) : undefined;
  try {
    await sendInRounds(provider, calls, decoder, receipts, restoreAutomine !== undefined, options.onProgress);
  } finally {
    await restoreAutomine?.();
  }
  return receipts;
}

async function sendInRounds(
  provider: RpcProvider,
  calls: readonly Call[],
  decoder: Interface,
  receipts: TransactionReceipt[],
  batched: boolean,
  onProgress?: (progress: SendProgress) => void,
): Promise<void> {
  const bySender = new Map<string, number[]>();
  calls.forEach((call, index) => {
    const list = bySender.get(call.signer.address) ?? [];
    list.push(index);
    bySender.set(call.signer.address, list);
  });

  const { chainId } = await provider.getNetwork();
  const nonces = new Map<string, number>();
  await Promise.all(
    [...bySender.keys()].map(async (address) =>
      nonces.set(address, await provider.getTransactionCount(address, "pending")),
    ),
  );

  // Chunks in sending order: every key's r-th call (round r), at most `inFlight` per chunk.
  const inFlight = batched ? IN_FLIGHT.batched : IN_FLIGHT.automine;
  const rounds = Math.max(...[...bySender.values()].map((list) => list.length));
  const chunks: number[][] = [];
  for (let round = 0; round < rounds; round++) {
    const indexes = [...bySender.values()].flatMap((list) => (round < list.length ? [list[round] as number] : []));
    for (let start = 0; start < indexes.length; start += inFlight) chunks.push(indexes.slice(start, start + inFlight));
  }

  // Signs a chunk in chunk order (nonces are taken in the order the chunks are sent), yielding
  // to the event loop now and then so that the chunk before it is sent and mined meanwhile.
  const sign = async (chunk: readonly number[]): Promise<string[]> => {
    // Fees per chunk: full batched blocks raise the base fee, and twice the current price leaves
    // room for that while this chunk and the one before it confirm.
    const fee = await provider.getFeeData();
    const maxPriorityFeePerGas = fee.maxPriorityFeePerGas ?? 0n;
    const maxFeePerGas = (fee.maxFeePerGas ?? fee.gasPrice ?? 0n) * 2n + maxPriorityFeePerGas;
    const signed: string[] = [];
    for (const [position, index] of chunk.entries()) {
      const call = calls[index] as Call;
      const nonce = nonces.get(call.signer.address) as number;
      nonces.set(call.signer.address, nonce + 1);
      signed.push(
        await call.signer.signTransaction({
          type: 2,
          chainId,
          nonce,
          to: call.to,
          data: call.data,
          value: call.value ?? 0n,
          gasLimit: call.gasLimit,
          maxFeePerGas,
          maxPriorityFeePerGas,
        }),
      );
      if (position % SIGN_SLICE === SIGN_SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    return signed;
  };

  let sent = 0;
  let next: Promise<string[]> | undefined = sign(chunks[0] as number[]);
  for (const [k, chunk] of chunks.entries()) {
    const signed = await (next as Promise<string[]>);
    // Signing is JavaScript on this thread, sending and mining the node's work: the next chunk is
    // signed while this one is sent and mined. Its keys' earlier calls are all in this chunk or
    // before it, so it is only sent once they are mined. (Handled here so that a revert below
    // does not leave its promise rejected unobserved.)
    next = k + 1 < chunks.length ? sign(chunks[k + 1] as number[]) : undefined;
    next?.catch(() => undefined);
    // Broadcast in chunk order, so that the chain sees (and a batched block holds) the calls in
    // the same order as one block per call would. Raw JSON-RPC: ethers' broadcastTransaction
    // parses the signed bytes back and recovers the sender's key from the signature, which
    // costs several times the signing itself.
    const hashes: string[] = [];
    for (const raw of signed) hashes.push((await provider.send("eth_sendRawTransaction", [raw])) as string);
    if (batched) await mineUntilIncluded(provider, hashes);
    await Promise.all(
      chunk.map(async (index, position) => {
        const hash = hashes[position] as string;
        const receipt = (await provider.getTransactionReceipt(hash)) ?? (await provider.waitForTransaction(hash));
        if (receipt === null || receipt.status !== 1) {
          throw new Error(
            `Transaction ${hash} reverted: ${await describeRevert(provider, calls[index] as Call, decoder)}`,
          );
        }
        receipts[index] = receipt;
      }),
    );
    sent += chunk.length;
    onProgress?.({ sent, total: calls.length });
  }
}

/**
 * Switches automine off on a development chain that has it on, and returns how to switch it back;
 * undefined (nothing changed) where the chain does not say, or already mines some other way.
 */
export async function pauseAutomine(provider: RpcProvider): Promise<(() => Promise<void>) | undefined> {
  let automine: unknown;
  for (const method of ["hardhat_getAutomine", "anvil_getAutomine"]) {
    try {
      automine = await provider.send(method, []);
      break;
    } catch {
      // not this client's name for it
    }
  }
  if (automine !== true) return undefined;
  await provider.send("evm_setAutomine", [false]);
  return async () => {
    await provider.send("evm_setAutomine", [true]);
  };
}

/**
 * Mines blocks until every transaction in `hashes` is in one. A block that takes none of them
 * while some are still waiting means they cannot be mined (a fee below the base fee, a nonce
 * gap): that is reported instead of mining empty blocks forever.
 */
async function mineUntilIncluded(provider: RpcProvider, hashes: readonly string[]): Promise<void> {
  const waiting = new Set(hashes.map((hash) => hash.toLowerCase()));
  while (waiting.size > 0) {
    await provider.send("evm_mine", []);
    const block = (await provider.send("eth_getBlockByNumber", ["latest", false])) as { transactions: string[] };
    let included = 0;
    for (const hash of block.transactions) if (waiting.delete(hash.toLowerCase())) included++;
    if (included === 0 && waiting.size > 0) {
      throw new Error(`${waiting.size} transaction(s) stay pending after a block was mined without them`);
    }
  }
}

/** Replays a reverted call to recover its custom error for the message. */
async function describeRevert(provider: Provider, call: Call, decoder: Interface): Promise<string> {
  try {
    await provider.call({ from: call.signer.address, to: call.to, data: call.data, value: call.value ?? 0n });
    return "the call succeeds when replayed (state changed in between?)";
  } catch (error) {
    const data = (error as { data?: string }).data;
    const parsed = data !== undefined ? decoder.parseError(data) : null;
    return parsed !== null ? `${parsed.name}(${parsed.args.join(", ")})` : String((error as Error).message);
  }
}

/** Sets an account's ETH balance on a development chain (in-process Hardhat or anvil). */
export async function setBalance(provider: RpcProvider, address: string, wei: bigint): Promise<void> {
  await provider.send("hardhat_setBalance", [address, toQuantity(wei)]);
}
