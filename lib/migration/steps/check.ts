import { ZeroAddress, getAddress, id } from "ethers";
import type { SnapshotHeader } from "../../snapshot.js";
import { MigrationStepError, stamp, transact, type StepContext } from "./context.js";

/**
 * Everything that must hold before the first batch, checked on the chain: the migration is open,
 * the operator and the V1.1 proxies hold their roles, V1 is paused and drained, V2 is still in
 * its migration window and lists V1's tokens, and (with a snapshot) V2 knows V1's model names.
 * Problems are collected and refused together, so one run shows all that is left to do.
 */

export interface CheckResult {
  problems: string[];
  /** Model names V1 uses that V2 does not know yet (`prepareModels` registers them). */
  missingModels: string[];
  operator: string;
  operatorBalanceWei: bigint;
}

export async function runCheck(
  ctx: StepContext,
  header?: SnapshotHeader,
  options: { finalizing?: boolean } = {},
): Promise<CheckResult> {
  ctx.reporter({ type: "step-started", at: stamp(ctx), step: "check", total: 1, unit: "check" });
  const { v1, v2, opened, addresses } = ctx.contracts;
  const operator = await ctx.signer.getAddress();
  const problems: string[] = [];

  if (!opened) {
    problems.push(
      "The migration is not open: governance must upgrade V1's NodeRegistry and PaymentEscrow to V1.1 pointed at V2 (deploy/v1-1.ts openV1Migration).",
    );
  } else {
    const migrator = await v1.registry.MIGRATOR_ROLE();
    if (!(await v1.registry.hasRole(migrator, operator)))
      problems.push(`The operator ${operator} lacks MIGRATOR_ROLE on V1.1's NodeRegistry: grant it.`);
    if (!(await v1.escrow.hasRole(migrator, operator)))
      problems.push(`The operator ${operator} lacks MIGRATOR_ROLE on V1.1's PaymentEscrow: grant it.`);
  }
  const v2Migrator = await v2.registry.MIGRATOR_ROLE();
  const v2Contracts = [
    ["NodeRegistryV2", v2.registry],
    ["JobMarketplaceV2", v2.marketplace],
    ["PaymentEscrowV2", v2.escrow],
  ] as const;
  // A run that finalizes may find some V2 contracts finalized already: an earlier run stopped
  // between two finalizations (or after the last). Those are done (their copy is complete, their
  // migrator roles revoked for good); the finalize step finishes the others. Any other run refuses.
  const finalized = new Set<unknown>();
  for (const [name, contract] of v2Contracts) {
    if (await contract.migrationFinalized()) {
      finalized.add(contract);
      if (options.finalizing !== true) {
        problems.push(
          `${name} is already finalized: the migration window is closed; nothing can be copied or rolled back.`,
        );
      }
    } else if (
      // The operator imports history itself; nodes and deposits arrive through the V1.1 proxies.
      // Finalizing needs the role on all three, unless governance finalizes (the cut-over proposal).
      (contract === v2.marketplace || options.finalizing === true) &&
      !(await contract.hasRole(v2Migrator, operator))
    ) {
      problems.push(
        contract === v2.marketplace
          ? `The operator ${operator} lacks MIGRATOR_ROLE on ${name} (it imports history): grant it.`
          : `The operator ${operator} lacks MIGRATOR_ROLE on ${name}, which finalizing needs: grant it, or leave the finalize step to governance (upgrade:propose --action cutover).`,
      );
    }
  }
  if (!finalized.has(v2.registry) && !(await v2.registry.hasRole(v2Migrator, addresses.NodeRegistryV1)))
    problems.push(`V1.1's NodeRegistry proxy lacks MIGRATOR_ROLE on NodeRegistryV2: grant it (openV1Migration does).`);
  if (!finalized.has(v2.escrow) && !(await v2.escrow.hasRole(v2Migrator, addresses.PaymentEscrowV1)))
    problems.push(
      `V1.1's PaymentEscrow proxy lacks MIGRATOR_ROLE on PaymentEscrowV2: grant it (openV1Migration does).`,
    );

  for (const [name, contract] of [
    ["NodeRegistryV1", v1.registry],
    ["PaymentEscrowV1", v1.escrow],
    ["JobMarketplaceV1", v1.marketplace],
  ] as const) {
    if (!(await contract.paused())) problems.push(`${name} is not paused: governance must pause V1 first (freeze).`);
  }

  const tokens = await v1.escrow.tokens();
  const listed = new Set((await v2.escrow.migrationTokens()).map((token) => getAddress(token)));
  for (const token of tokens) {
    const locked = await v1.escrow.totalLocked(token);
    if (locked !== 0n) {
      problems.push(
        `${locked} of token ${token} is locked in Posted or Claimed V1 jobs: run the drain (expire lapsed jobs) or wait for running jobs to finish.`,
      );
    }
    if ((await v1.escrow.totalFree(token)) !== 0n && !listed.has(getAddress(token))) {
      problems.push(
        `V1 holds balances of ${token === ZeroAddress ? "ETH" : token}, which PaymentEscrowV2 does not list: allow it in V2 (setTokenAllowed).`,
      );
    }
  }

  const missingModels: string[] = [];
  for (const name of header?.modelNames ?? []) {
    if ((await v2.registry.modelName(id(name))) === "") missingModels.push(name);
  }
  const operatorBalanceWei = await ctx.provider.getBalance(operator);
  const result = { problems, missingModels, operator, operatorBalanceWei };
  ctx.reporter({
    type: "step-finished",
    at: stamp(ctx),
    step: "check",
    summary: {
      ok: problems.length === 0,
      problems,
      missingModels: missingModels.length,
      operator,
      operatorBalanceWei: operatorBalanceWei.toString(),
    },
  });
  if (problems.length > 0) {
    const message = `The migration cannot start:\n- ${problems.join("\n- ")}`;
    ctx.reporter({ type: "error", at: stamp(ctx), step: "check", message });
    throw new MigrationStepError("check", message);
  }
  return result;
}

/** Model names registered per transaction: each costs a storage write and an event. */
const MODELS_PER_TX = 50;

/** Registers the model names V2 lacks (anyone may; a known name is a no-op). */
export async function prepareModels(ctx: StepContext, names: readonly string[]): Promise<number> {
  for (let i = 0; i < names.length; i += MODELS_PER_TX) {
    const chunk = names.slice(i, i + MODELS_PER_TX);
    const registry = ctx.contracts.v2.registry;
    await transact(ctx, "check", `registering ${chunk.length} model names`, registry, "registerModels", [chunk], {
      done: async () => {
        for (const name of chunk) if ((await registry.modelName(id(name))) === "") return false;
        return true;
      },
    });
  }
  return names.length;
}
