import { expect } from "chai";
import fc from "fast-check";
import { getAddress, Wallet, ZeroAddress } from "ethers";
import { grantIdOf, planMigrationCredits } from "../../lib/credits/plan.js";
import { MIGRATION_BONUS_BPS, MIGRATION_CREDIT_LIFETIME_SECONDS } from "../../lib/credits/types.js";

const ALICE = getAddress("0x00000000000000000000000000000000000a11ce");
const BOB = getAddress("0x0000000000000000000000000000000000000b0b");

describe("migration credit plan", function () {
  it("grants the guide's 10% of the imported spend, rounded down, in ETH, for 90 days", function () {
    const plan = planMigrationCredits({
      user: ALICE.toLowerCase(),
      platform: "openai",
      sourceIds: ["a", "b"],
      basisWei: 1_999n,
      now: 1_700_000_000,
    });
    expect(plan).to.deep.equal({
      grantId: grantIdOf({ user: ALICE, platform: "openai", sourceIds: ["a", "b"] }),
      user: ALICE,
      token: ZeroAddress,
      basisWei: "1999",
      bonusBps: MIGRATION_BONUS_BPS,
      amountWei: "199",
      expiresAt: 1_700_000_000 + MIGRATION_CREDIT_LIFETIME_SECONDS,
    });
  });

  it("property: re-importing the same requests (any order, rate or time) yields the same grant id, so the escrow grants them once", function () {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }),
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (ids, basisA, basisB, now) => {
          const shuffled = [...ids].reverse();
          const first = planMigrationCredits({
            user: ALICE,
            platform: "replicate",
            sourceIds: ids,
            basisWei: basisA,
            now,
          });
          const again = planMigrationCredits({
            user: ALICE.toLowerCase(),
            platform: "replicate",
            sourceIds: shuffled,
            basisWei: basisB,
            now: now + 1,
          });
          expect(again.grantId).to.equal(first.grantId);
        },
      ),
    );
  });

  it("property: another user, platform or set of requests yields another grant id", function () {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 2, maxLength: 8 }), (ids) => {
        const id = grantIdOf({ user: ALICE, platform: "openai", sourceIds: ids });
        expect(grantIdOf({ user: BOB, platform: "openai", sourceIds: ids })).to.not.equal(id);
        expect(grantIdOf({ user: ALICE, platform: "huggingface", sourceIds: ids })).to.not.equal(id);
        expect(grantIdOf({ user: ALICE, platform: "openai", sourceIds: ids.slice(1) })).to.not.equal(id);
      }),
    );
  });

  it("a user address that is not one is refused", function () {
    expect(() =>
      planMigrationCredits({
        user: Wallet.createRandom().address.slice(0, 20),
        platform: "openai",
        sourceIds: ["a"],
        basisWei: 1n,
        now: 0,
      }),
    ).to.throw(/invalid address/);
  });
});
