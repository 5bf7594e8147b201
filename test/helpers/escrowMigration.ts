import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { BaseContract, Wallet } from "ethers";
import { CommitmentAccumulator, EMPTY_COMMITMENT, depositLeaf, type DepositRecord } from "../../lib/commitment.js";
import type { PaymentEscrowV1_1, PaymentEscrowV2, TestUSDC } from "../../typechain-types/index.js";
import { ethers, networkHelpers, upgradesApi, v1Stack } from "./fixtures.js";

const { ZeroAddress, parseEther, parseUnits } = ethers;
export const ETH = ZeroAddress;

/** One free balance as it moves from V1 to V2: the commitment twin's `DepositRecord`. */
export type { DepositRecord };
export { depositLeaf };

/** Folds the records' leaves into `from` (a batch's checkpoint, or nothing), as StateCommitment does. */
export function commitmentOf(records: readonly DepositRecord[], from: string = EMPTY_COMMITMENT): string {
  const accumulator = new CommitmentAccumulator(from);
  for (const record of records) accumulator.addDeposit(record);
  return accumulator.commitment;
}

/** Every free balance of one contract: `balances.get(user)?.get(token)`, plus totals and holdings. */
export interface EscrowState {
  balances: Map<string, Map<string, bigint>>;
  totalFree: Map<string, bigint>;
  totalLocked: Map<string, bigint>;
  /** What the contract holds of each token (ETH balance for `address(0)`). */
  holdings: Map<string, bigint>;
}

interface ReadableEscrow {
  getAddress(): Promise<string>;
  balanceOf(user: string, token: string): Promise<bigint>;
  totalFree(token: string): Promise<bigint>;
  totalLocked(token: string): Promise<bigint>;
}

/** Reads `users` x `tokens` of an escrow (V1 or V2) at the latest block. */
export async function readEscrow(
  escrow: ReadableEscrow,
  users: readonly string[],
  tokens: readonly string[],
): Promise<EscrowState> {
  const address = await escrow.getAddress();
  const state: EscrowState = { balances: new Map(), totalFree: new Map(), totalLocked: new Map(), holdings: new Map() };
  for (const user of users) {
    const row = new Map<string, bigint>();
    for (const token of tokens) row.set(token, await escrow.balanceOf(user, token));
    state.balances.set(user, row);
  }
  for (const token of tokens) {
    state.totalFree.set(token, await escrow.totalFree(token));
    state.totalLocked.set(token, await escrow.totalLocked(token));
    state.holdings.set(
      token,
      token === ETH
        ? await ethers.provider.getBalance(address)
        : await (await ethers.getContractAt("TestUSDC", token)).balanceOf(address),
    );
  }
  return state;
}

/** The records V1.1 builds for users `[start, end)`: nonzero balances, user then token order. */
export function recordsOf(
  state: EscrowState,
  users: readonly string[],
  tokens: readonly string[],
  start = 0,
  end = users.length,
): DepositRecord[] {
  const records: DepositRecord[] = [];
  for (const user of users.slice(start, end)) {
    for (const token of tokens) {
      const amount = state.balances.get(user)?.get(token) ?? 0n;
      if (amount !== 0n) records.push({ user, token, amount });
    }
  }
  return records;
}

export interface EscrowMigration {
  /** The V1 escrow proxy, upgraded to V1.1 and paused. */
  v1: PaymentEscrowV1_1;
  /** The V2 escrow proxy: migration window open, USDC and OLD listed (OLD disallowed). */
  v2: PaymentEscrowV2;
  usdc: TestUSDC;
  /** A second ERC-20 that V1 allowed, users deposited, then V1 disallowed. */
  old: TestUSDC;
  v1Address: string;
  v2Address: string;
  usdcAddress: string;
  oldAddress: string;
  /** V1's `tokens()`: ETH, USDC, OLD. */
  tokens: string[];
  admin: HardhatEthersSigner;
  treasury: HardhatEthersSigner;
  /** Holds V1.1's MIGRATOR_ROLE (not V2's: the V1.1 proxy holds that). */
  operator: HardhatEthersSigner;
  /** Holds V1's MARKETPLACE_ROLE, to lock funds in V1 directly. */
  market: HardhatEthersSigner;
  host: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  /** Depositors as wallets, in deposit order (users[i] below is wallets[i] for i < wallets.length). */
  wallets: Wallet[];
  /** V1's user list, in order: the depositors, then the host and the treasury. */
  users: string[];
  /** V1 just before the migration. */
  before: EscrowState;
  /** Every record of a full migration, in order. */
  records: DepositRecord[];
  /** The commitment of `records`. */
  commitment: string;
}

/** How many depositors the fixture creates. */
export const DEPOSITOR_COUNT = 26;

/**
 * What depositor `i` holds: the first two hold nothing (they deposited and withdrew
 * everything), the rest cycle through ETH only, USDC only, both, all three, OLD only, USDC+OLD.
 */
export function profileOf(i: number): { eth: bigint; usdc: bigint; old: bigint } {
  if (i < 2) return { eth: 0n, usdc: 0n, old: 0n };
  const kind = (i - 2) % 6;
  const eth = parseEther("0.1") * BigInt(i) + BigInt(i);
  const usdc = parseUnits("10", 6) * BigInt(i) + BigInt(i);
  const old = 1000n * BigInt(i);
  return {
    eth: kind === 0 || kind === 2 || kind === 3 ? eth : 0n,
    usdc: kind === 1 || kind === 2 || kind === 3 || kind === 5 ? usdc : 0n,
    old: kind === 3 || kind === 4 || kind === 5 ? old : 0n,
  };
}

/** A funded wallet derived from `name`, connected to the test chain. */
export async function fundedWallet(name: string): Promise<Wallet> {
  const wallet = new ethers.Wallet(ethers.id(`fabstir.test.${name}`), ethers.provider);
  await networkHelpers.setBalance(wallet.address, parseEther("1000"));
  return wallet;
}

/** Deposits `amount` of `token` into `escrow` as `wallet` (minting test tokens first). */
export async function depositAs(
  escrow: BaseContract,
  wallet: Wallet,
  token: TestUSDC | null,
  amount: bigint,
): Promise<void> {
  const deposit = (escrow.connect(wallet) as BaseContract).getFunction("deposit");
  if (token === null) {
    await (await deposit(ETH, amount, { value: amount })).wait();
    return;
  }
  await (await token.mint(wallet.address, amount)).wait();
  await (await token.connect(wallet).approve(await escrow.getAddress(), amount)).wait();
  await (await deposit(await token.getAddress(), amount)).wait();
}

/**
 * The migration's starting point: V1 with DEPOSITOR_COUNT depositors (see `profileOf`), a
 * released ETH job (so the host and the treasury hold balances) and a refunded USDC job, OLD
 * disallowed; then V1 paused and upgraded to V1.1 pointing at a fresh V2 that lists USDC and
 * OLD and grants MIGRATOR_ROLE to the V1.1 proxy. Use with `networkHelpers.loadFixture`.
 */
export async function escrowMigration(): Promise<EscrowMigration> {
  const { escrow, usdc, signers } = await networkHelpers.loadFixture(v1Stack);
  const [admin, treasury, operator, market, host, stranger] = signers;
  if (!admin || !treasury || !operator || !market || !host || !stranger) throw new Error("need six accounts");
  const v1Address = await escrow.getAddress();
  const usdcAddress = await usdc.getAddress();
  const old = await ethers.deployContract("TestUSDC");
  const oldAddress = await old.getAddress();
  await (await escrow.connect(admin).setTokenAllowed(oldAddress, true)).wait();
  await (await escrow.connect(admin).grantRole(await escrow.MARKETPLACE_ROLE(), market.address)).wait();

  const wallets: Wallet[] = [];
  for (let i = 0; i < DEPOSITOR_COUNT; ++i) {
    const wallet = await fundedWallet(`escrow-user-${i}`);
    wallets.push(wallet);
    const profile = profileOf(i);
    if (i < 2) {
      await depositAs(escrow, wallet, null, 1n);
      await (await escrow.connect(wallet).withdraw(ETH, 1n)).wait();
    }
    if (profile.eth !== 0n) await depositAs(escrow, wallet, null, profile.eth);
    if (profile.usdc !== 0n) await depositAs(escrow, wallet, usdc, profile.usdc);
    if (profile.old !== 0n) await depositAs(escrow, wallet, old, profile.old);
  }
  // A released job credits the host and the treasury; a refunded one returns to its payer.
  const payer = wallets[2]!.address;
  await (await escrow.connect(market).lockForJob(1n, payer, ETH, parseEther("0.05"))).wait();
  await (await escrow.connect(market).releaseToHost(1n, host.address)).wait();
  await (await escrow.connect(market).lockForJob(2n, wallets[3]!.address, usdcAddress, 7n)).wait();
  await (await escrow.connect(market).refund(2n)).wait();
  await (await escrow.connect(admin).setTokenAllowed(oldAddress, false)).wait();
  await (await escrow.connect(admin).pause()).wait();

  const v2 = (await upgradesApi.deployProxy(
    await ethers.getContractFactory("PaymentEscrowV2"),
    [admin.address, v1Address, treasury.address, await escrow.feeBps()],
    { kind: "uups", initializer: "initialize" },
  )) as unknown as PaymentEscrowV2;
  await v2.waitForDeployment();
  const v2Address = await v2.getAddress();
  await (await v2.connect(admin).setTokenAllowed(usdcAddress, true)).wait();
  await (await v2.connect(admin).setTokenAllowed(oldAddress, true)).wait();
  await (await v2.connect(admin).setTokenAllowed(oldAddress, false)).wait();

  const v1 = (await upgradesApi.upgradeProxy(v1Address, await ethers.getContractFactory("PaymentEscrowV1_1", admin), {
    kind: "uups",
    call: { fn: "initializeMigration", args: [v2Address] },
  })) as unknown as PaymentEscrowV1_1;
  await (await v1.connect(admin).grantRole(await v1.MIGRATOR_ROLE(), operator.address)).wait();

  const users = [...(await v1.getUsersPage(0n, 1000n))];
  const tokens = [...(await v1.tokens())];
  const before = await readEscrow(v1, users, tokens);
  const records = recordsOf(before, users, tokens);
  return {
    v1,
    v2,
    usdc,
    old,
    v1Address,
    v2Address,
    usdcAddress,
    oldAddress,
    tokens,
    admin,
    treasury,
    operator,
    market,
    host,
    stranger,
    wallets,
    users,
    before,
    records,
    commitment: commitmentOf(records),
  };
}
