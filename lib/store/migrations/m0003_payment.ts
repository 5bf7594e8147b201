import type { AnyRecord, MigrationModule } from "./types.js";

/**
 * Version 3: the payment becomes `{ amount, token, usdValue }`. v2 knew only wei of ETH and no
 * price, so usdValue is null (unknown), never a made-up fixed ETH price. Down refuses a payment in
 * another token: v2's costWei would silently call it ETH. The runner retains a known usdValue.
 */
export const migration: MigrationModule = {
  version: 3,
  name: "payment",
  source: import.meta.url,
  up(r: AnyRecord): AnyRecord {
    const metadata = r.metadata as { createdAt: string; updatedAt: string };
    return {
      id: r.id,
      user: r.user,
      model: r.model,
      promptHash: r.promptHash,
      status: r.status,
      payment: { amount: r.costWei, token: "ETH", usdValue: null },
      metadata: { createdAt: metadata.createdAt, updatedAt: metadata.updatedAt, schemaVersion: 3 },
    };
  },
  down(r: AnyRecord): AnyRecord {
    const payment = r.payment as { amount: string; token: string };
    const metadata = r.metadata as { createdAt: string; updatedAt: string };
    if (payment.token !== "ETH") {
      throw new Error(
        `payment.token: ${payment.token} cannot be expressed in version 2 (costWei is wei of ETH); keep the store at version 3`,
      );
    }
    return {
      id: r.id,
      user: r.user,
      model: r.model,
      promptHash: r.promptHash,
      costWei: payment.amount,
      status: r.status,
      metadata: { createdAt: metadata.createdAt, updatedAt: metadata.updatedAt, schemaVersion: 2 },
    };
  },
};
