/**
 * Applies a `CreditPlan` on chain: one `grantCredits` on PaymentEscrowV2, from its funded credit
 * pool, after checking everything that would make the grant revert so that the operator gets a
 * message saying what to do instead of a revert. Idempotent: the grant id is derived from the
 * import bundle, so a plan already granted with the same contents is reported, not sent again.
 *
 * No Hardhat import: an ethers contract (typechain's PaymentEscrowV2, or `connectCreditsEscrow`)
 * comes in, a plain result goes out.
 */
import { Contract, type ContractRunner, type ContractTransactionResponse, getAddress, isHexString } from "ethers";
import type { CreditPlan } from "./types.js";

/** A plan that cannot be granted as it stands; the message says what to do. */
export class CreditsError extends Error {
  override name = "CreditsError";
}

/** What `checkCreditPlan` found: nothing granted yet, or this very grant already made. */
export type CreditPlanState = "new" | "already-granted";

export interface ApplyCreditPlanResult {
  status: "granted" | "already-granted";
  /** Set when a transaction was sent. */
  txHash?: string;
  blockNumber?: number;
}

export interface ApplyCreditPlanOptions {
  /** Confirmations to wait for (default 1). */
  confirmations?: number;
}

/** The part of PaymentEscrowV2 the credits flow uses (typechain's contract satisfies it). */
export interface CreditsEscrow {
  readonly runner: ContractRunner | null;
  getAddress(): Promise<string>;
  CREDITS_ROLE(): Promise<string>;
  hasRole(role: string, account: string): Promise<boolean>;
  migrationFinalized(): Promise<boolean>;
  paused(): Promise<boolean>;
  creditPool(token: string): Promise<bigint>;
  grantOf(grantId: string): Promise<{ user: string; expiresAt: bigint; token: string; amount: bigint }>;
  grantCredits(
    grantId: string,
    user: string,
    token: string,
    amount: bigint,
    expiresAt: bigint,
  ): Promise<ContractTransactionResponse>;
}

/** The human-readable ABI of `CreditsEscrow`, for a caller without typechain types. */
export const CREDITS_ESCROW_ABI = [
  "function CREDITS_ROLE() view returns (bytes32)",
  "function hasRole(bytes32 role, address account) view returns (bool)",
  "function migrationFinalized() view returns (bool)",
  "function paused() view returns (bool)",
  "function creditPool(address token) view returns (uint256)",
  "function grantOf(bytes32 grantId) view returns (tuple(address user, uint64 expiresAt, address token, uint96 amount))",
  "function grantCredits(bytes32 grantId, address user, address token, uint256 amount, uint64 expiresAt)",
] as const;

export function connectCreditsEscrow(address: string, runner: ContractRunner): CreditsEscrow {
  return new Contract(address, CREDITS_ESCROW_ABI, runner) as unknown as CreditsEscrow;
}

const UINT96_MAX = (1n << 96n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** The plan's fields as the contract takes them; throws `CreditsError` on a malformed plan. */
function parsePlan(plan: CreditPlan): {
  grantId: string;
  user: string;
  token: string;
  amount: bigint;
  expiresAt: bigint;
} {
  if (!isHexString(plan.grantId, 32)) {
    throw new CreditsError(
      `grantId ${String(plan.grantId)} is not 32 bytes of hex (0x + 64 digits): regenerate the plan`,
    );
  }
  let user: string;
  let token: string;
  try {
    user = getAddress(plan.user);
    token = getAddress(plan.token);
  } catch {
    throw new CreditsError(`user ${plan.user} or token ${plan.token} is not an address: regenerate the plan`);
  }
  if (user === ZERO_ADDRESS) throw new CreditsError("the plan's user is the zero address: regenerate the plan");
  if (typeof plan.amountWei !== "string" || !/^[0-9]+$/.test(plan.amountWei)) {
    throw new CreditsError(`amountWei ${String(plan.amountWei)} is not a decimal integer string: regenerate the plan`);
  }
  const amount = BigInt(plan.amountWei);
  if (amount === 0n || amount > UINT96_MAX) {
    throw new CreditsError(`amountWei ${plan.amountWei} must be between 1 and 2^96 - 1: there is nothing to grant`);
  }
  if (!Number.isSafeInteger(plan.expiresAt) || plan.expiresAt <= 0 || BigInt(plan.expiresAt) > UINT64_MAX) {
    throw new CreditsError(`expiresAt ${String(plan.expiresAt)} is not a Unix time in seconds: regenerate the plan`);
  }
  return { grantId: plan.grantId.toLowerCase(), user, token, amount, expiresAt: BigInt(plan.expiresAt) };
}

function isoTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}

/**
 * Checks that `signerAddress` can grant `plan` on `escrow` now. Returns "already-granted" when
 * the grant id exists with exactly the plan's contents (whoever the signer is: nothing to send),
 * "new" when `grantCredits` would succeed; throws `CreditsError` saying what to do otherwise.
 */
export async function checkCreditPlan(
  escrow: CreditsEscrow,
  signerAddress: string,
  plan: CreditPlan,
): Promise<CreditPlanState> {
  const p = parsePlan(plan);
  const escrowAddress = await escrow.getAddress();
  if (!(await escrow.migrationFinalized())) {
    throw new CreditsError(
      `PaymentEscrowV2 at ${escrowAddress} is still in its migration window: credits open after finalizeMigration`,
    );
  }
  const existing = await escrow.grantOf(p.grantId);
  if (existing.user !== ZERO_ADDRESS) {
    const same =
      getAddress(existing.user) === p.user &&
      getAddress(existing.token) === p.token &&
      existing.amount === p.amount &&
      existing.expiresAt === p.expiresAt;
    if (same) return "already-granted";
    throw new CreditsError(
      `grant ${p.grantId} already exists on ${escrowAddress} with other contents ` +
        `(user ${existing.user}, token ${existing.token}, amount ${existing.amount}, expiresAt ${existing.expiresAt}; ` +
        `the plan says ${p.user}, ${p.token}, ${p.amount}, ${p.expiresAt}): ` +
        "this plan is not the one that was applied; check the bundle it came from",
    );
  }
  const signer = getAddress(signerAddress);
  if (!(await escrow.hasRole(await escrow.CREDITS_ROLE(), signer))) {
    throw new CreditsError(
      `${signer} lacks CREDITS_ROLE on ${escrowAddress}: ask governance to grant CREDITS_ROLE to ${signer}`,
    );
  }
  const provider = escrow.runner?.provider;
  if (!provider) throw new CreditsError("the escrow contract has no provider: connect it to a signer or provider");
  const latest = await provider.getBlock("latest");
  if (!latest) throw new CreditsError("the node returned no latest block: check the RPC endpoint");
  if (p.expiresAt <= BigInt(latest.timestamp)) {
    throw new CreditsError(
      `the plan's credits expired at ${isoTime(p.expiresAt)} (chain time ${isoTime(BigInt(latest.timestamp))}): ` +
        "regenerate the plan with a future expiry",
    );
  }
  if (await escrow.paused()) {
    throw new CreditsError(`PaymentEscrowV2 at ${escrowAddress} is paused: apply the plan after it is unpaused`);
  }
  const pool = await escrow.creditPool(p.token);
  if (pool < p.amount) {
    const short = p.amount - pool;
    const how =
      p.token === ZERO_ADDRESS
        ? `fundCreditPool(${p.token}, ${short}) with ${short} wei as value`
        : `fundCreditPool(${p.token}, ${short}) after approving the escrow for it`;
    throw new CreditsError(
      `the credit pool of ${p.token} holds ${pool}, ${short} short of ${p.amount}: fund it with ${how} (anyone may)`,
    );
  }
  return "new";
}

/**
 * Grants `plan` from `escrow`'s pool with the signer `escrow` is connected to, after
 * `checkCreditPlan`. Sends nothing when the same grant was already made. Waits for the receipt.
 */
export async function applyCreditPlan(
  escrow: CreditsEscrow,
  plan: CreditPlan,
  options: ApplyCreditPlanOptions = {},
): Promise<ApplyCreditPlanResult> {
  const runner = escrow.runner as (ContractRunner & { getAddress?: () => Promise<string> }) | null;
  if (!runner?.getAddress || !runner.sendTransaction) {
    throw new CreditsError("the escrow contract is not connected to a signer: connect it to the CREDITS_ROLE holder");
  }
  const signerAddress = await runner.getAddress();
  if ((await checkCreditPlan(escrow, signerAddress, plan)) === "already-granted") return { status: "already-granted" };
  const p = parsePlan(plan);
  let tx: ContractTransactionResponse;
  try {
    tx = await escrow.grantCredits(p.grantId, p.user, p.token, p.amount, p.expiresAt);
  } catch (error) {
    // Someone granted the same id meanwhile: that is success; anything else is reported by the check.
    if ((await checkCreditPlan(escrow, signerAddress, plan)) === "already-granted")
      return { status: "already-granted" };
    throw error;
  }
  const receipt = await tx.wait(options.confirmations ?? 1);
  if (!receipt || receipt.status !== 1) {
    throw new CreditsError(`grantCredits transaction ${tx.hash} did not succeed: inspect it and run again`);
  }
  return { status: "granted", txHash: receipt.hash, blockNumber: receipt.blockNumber };
}
