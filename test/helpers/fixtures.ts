import hre from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { DEFAULT_V1_PARAMETERS, deployV1, type V1Stack } from "../../deploy/v1.js";
import { DeploymentStore } from "../../lib/deployments.js";

/**
 * One in-process chain for every mocha file: fixtures snapshot it once and revert to the
 * snapshot before each test, so tests stay independent without redeploying.
 */
export const connection = await hre.network.create();
export const { ethers, networkHelpers } = connection;
export const upgradesApi = await upgrades(hre, connection);

export type V1Fixture = V1Stack & { signers: Awaited<ReturnType<typeof ethers.getSigners>> };

/** What the deploy modules take, on the shared chain, with `deployer` signing and an in-memory record. */
export async function deployContext(deployer: HardhatEthersSigner) {
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  return { ethers, upgrades: upgradesApi, deployer, store: await DeploymentStore.open(chainId, undefined), chainId };
}

/**
 * The V1 stack as the project's own deploy module builds it (so tests exercise what operators
 * run): admin signer 0, treasury signer 1. Use as `await networkHelpers.loadFixture(v1Stack)`.
 */
export async function v1Stack(): Promise<V1Fixture> {
  const signers = await ethers.getSigners();
  const [admin, treasury] = signers;
  if (admin === undefined || treasury === undefined) throw new Error("the test chain needs at least two accounts");
  const stack = await deployV1(await deployContext(admin), {
    ...DEFAULT_V1_PARAMETERS,
    admin: admin.address,
    treasury: treasury.address,
  });
  return { ...stack, signers };
}
