/**
 * A migration-credit plan: what `platform:import` proposes to grant a user who moves to Fabstir
 * (the guide's 10% bonus, expiring after 90 days), and what `--apply` grants on chain from
 * PaymentEscrowV2's funded credit pool. Plain JSON (amounts as decimal strings) so that it can sit
 * in a bundle and be reviewed before it is applied.
 */

/** The guide's migration bonus: 10% of the imported spend, in basis points. */
export const MIGRATION_BONUS_BPS = 1_000;
/** The guide's expiry: 90 days, in seconds. */
export const MIGRATION_CREDIT_LIFETIME_SECONDS = 90 * 24 * 60 * 60;

export interface CreditPlan {
  /**
   * The grant's id on chain (bytes32, 0x + 64 hex): derived from the bundle's digest, so applying
   * the same bundle twice grants once.
   */
  grantId: string;
  /** Who receives the credits (checksummed address). */
  user: string;
  /** The token the credits are in: the zero address for ETH. */
  token: string;
  /** The imported spend the bonus is computed from, in wei. */
  basisWei: string;
  bonusBps: number;
  /** `basisWei * bonusBps / 10_000`, rounded down, in wei. */
  amountWei: string;
  /** Unix seconds after which unspent credits return to the pool. */
  expiresAt: number;
}
