/**
 * The migration-credit plan of an import bundle: the guide's 10% of the imported spend, expiring
 * 90 days after the import, with a grant id derived from the bundle's digest so that one bundle
 * grants once however often it is applied.
 */
import { AbiCoder, getAddress, keccak256, ZeroAddress } from "ethers";
import { MIGRATION_BONUS_BPS, MIGRATION_CREDIT_LIFETIME_SECONDS, type CreditPlan } from "./types.js";

/** Domain of grant ids, so that a bundle digest used elsewhere never collides with a grant id. */
export const GRANT_ID_DOMAIN = "fabstir.migration-credit.v1";

export interface PlanInput {
  /** The bundle's digest (0x + 64 hex). */
  digest: string;
  user: string;
  /** The imported spend, in wei (decimal string or bigint). */
  basisWei: string | bigint;
  /** Unix seconds the plan starts from (the import's time). */
  now: number;
}

/** keccak256(abi.encode(GRANT_ID_DOMAIN, digest)). */
export function grantIdOf(digest: string): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["string", "bytes32"], [GRANT_ID_DOMAIN, digest]));
}

export function planMigrationCredits(input: PlanInput): CreditPlan {
  const basis = BigInt(input.basisWei);
  if (basis < 0n) throw new RangeError("planMigrationCredits: negative basis");
  return {
    grantId: grantIdOf(input.digest),
    user: getAddress(input.user),
    token: ZeroAddress,
    basisWei: basis.toString(),
    bonusBps: MIGRATION_BONUS_BPS,
    amountWei: ((basis * BigInt(MIGRATION_BONUS_BPS)) / 10_000n).toString(),
    expiresAt: input.now + MIGRATION_CREDIT_LIFETIME_SECONDS,
  };
}
