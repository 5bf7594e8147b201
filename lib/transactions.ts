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

/** How many calls are in flight at once; one per sender within a round. */
const IN_FLIGHT = 256;

/**
 * Sends many calls from many keys quickly and safely. Calls from the same key keep their order:
 * round r sends every key's r-th call concurrently (distinct senders, so nonces never race),
 * and a round ends only when all its receipts are in. Nonces and fees are set locally, so a call
 * costs one RPC round trip to send and one to confirm. A reverted call stops everything with
 * the decoded error, so nothing after it runs on a wrong premise.
 */
export async function sendCalls(
  provider: Provider,
  calls: readonly Call[],
  decoder: Interface,
  onProgress?: (progress: SendProgress) => void,
): Promise<TransactionReceipt[]> {
  const receipts: TransactionReceipt[] = new Array(calls.length);
  if (calls.length === 0) return receipts;

  const bySender = new Map<string, number[]>();
  calls.forEach((call, index) => {
    const list = bySender.get(call.signer.address) ?? [];
    list.push(index);
    bySender.set(call.signer.address, list);
  });

  const { chainId } = await provider.getNetwork();
  const fee = await provider.getFeeData();
  // Twice the current price leaves room for base-fee rises while a large round confirms.
  const maxPriorityFeePerGas = fee.maxPriorityFeePerGas ?? 0n;
  const maxFeePerGas = (fee.maxFeePerGas ?? fee.gasPrice ?? 0n) * 2n + maxPriorityFeePerGas;
  const nonces = new Map<string, number>();
  await Promise.all(
    [...bySender.keys()].map(async (address) =>
      nonces.set(address, await provider.getTransactionCount(address, "pending")),
    ),
  );

  let sent = 0;
  const rounds = Math.max(...[...bySender.values()].map((list) => list.length));
  for (let round = 0; round < rounds; round++) {
    const indexes = [...bySender.values()].flatMap((list) => (round < list.length ? [list[round] as number] : []));
    for (let start = 0; start < indexes.length; start += IN_FLIGHT) {
      const chunk = indexes.slice(start, start + IN_FLIGHT);
      const hashes = await Promise.all(
        chunk.map(async (index) => {
          const call = calls[index] as Call;
          const nonce = nonces.get(call.signer.address) as number;
          nonces.set(call.signer.address, nonce + 1);
          const signed = await call.signer.signTransaction({
            type: 2,
            chainId,
            nonce,
            to: call.to,
            data: call.data,
            value: call.value ?? 0n,
            gasLimit: call.gasLimit,
            maxFeePerGas,
            maxPriorityFeePerGas,
          });
          return (await provider.broadcastTransaction(signed)).hash;
        }),
      );
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
  return receipts;
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
