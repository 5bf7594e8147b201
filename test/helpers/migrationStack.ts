import { openV1Migration, type V1_1Stack } from "../../deploy/v1-1.js";
import { DEFAULT_V1_PARAMETERS } from "../../deploy/v1.js";
import { deployV2, type V2Stack } from "../../deploy/v2.js";
import { deployContext, v1Stack, type V1Fixture } from "./fixtures.js";

export type MigrationFixture = V1Fixture & { v2: V2Stack; v1_1: V1_1Stack };

/** The deploy context the deploy modules take, on the shared test chain, with `deployer` signing. */
export type TestDeployContext = Parameters<typeof deployV2>[0];

/**
 * Both generations as the deploy modules build them, with the migration opened: V1 paused and
 * its registry and escrow upgraded to V1.1 pointed at V2; V2 in its migration window with signer 0
 * as admin and migrator (the operator). Use as `await networkHelpers.loadFixture(migrationStack)`.
 */
export async function migrationStack(): Promise<MigrationFixture> {
  return (await openMigration(await v1Stack())).fixture;
}

/**
 * Opens the migration on an existing V1 (for fixtures that give V1 some state first): deploys V2
 * listing V1's USDC, then pauses V1 and upgrades it to V1.1. Returns the deploy context too.
 */
export async function openMigration(v1: V1Fixture): Promise<{ fixture: MigrationFixture; ctx: TestDeployContext }> {
  const [admin, treasury] = v1.signers;
  const ctx = await deployContext(admin!);
  const v2 = await deployV2(ctx, {
    ...DEFAULT_V1_PARAMETERS,
    admin: admin!.address,
    migrator: admin!.address,
    treasury: treasury!.address,
    tokens: [await v1.usdc.getAddress()],
  });
  const v1_1 = await openV1Migration(ctx, v1, v2, admin!.address);
  return { fixture: { ...v1, v2, v1_1 }, ctx };
}
