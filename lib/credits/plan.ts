/**
 * The migration-credit plan of an import bundle: the guide's 10% of the imported spend, expiring
 * 90 days after the import. The grant id names what was imported (the user, the platform and the
 * set of the platform's request ids), not when or at what rate: importing the same requests again,
 * in any order, into any store, at another rate or time, yields the same id, which the escrow grants
 * once.
 */
import { AbiCoder, getAddress, keccak256, ZeroAddress } from "ethers";
import { MIGRATION_BONUS_BPS, MIGRATION_CREDIT_LIFETIME_SECONDS, type CreditPlan } from "./types.js";

/** Domain of grant ids, so that a bundle digest used elsewhere never collides with a grant id. */
export const GRANT_ID_DOMAIN = "fabstir.migration-credit.v1";

export interface ImportIdentity {
  user: string;
  platform: string;
  /** The platform's ids of the imported requests (order does not matter). */
  sourceIds: readonly string[];
}

export interface PlanInput extends ImportIdentity {
  /** The imported spend, in wei (decimal string or bigint). */
  basisWei: string | bigint;
  /** Unix seconds the plan starts from (the import's time). */
  now: number;
}

/** keccak256(abi.encode(GRANT_ID_DOMAIN, user, platform, sorted source ids)). */
export function grantIdOf(identity: ImportIdentity): string {
  // Sorted by code unit so that the id does not depend on the export's order or the locale.
  const ids = [...identity.sourceIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["string", "address", "string", "string[]"],
      [GRANT_ID_DOMAIN, getAddress(identity.user), identity.platform, ids],
    ),
  );
}

export function planMigrationCredits(input: PlanInput): CreditPlan {
  const basis = BigInt(input.basisWei);
  if (basis < 0n) throw new RangeError("planMigrationCredits: negative basis");
  return {
    grantId: grantIdOf(input),
    user: getAddress(input.user),
    token: ZeroAddress,
    basisWei: basis.toString(),
    bonusBps: MIGRATION_BONUS_BPS,
    amountWei: ((basis * BigInt(MIGRATION_BONUS_BPS)) / 10_000n).toString(),
    expiresAt: input.now + MIGRATION_CREDIT_LIFETIME_SECONDS,
  };
}
