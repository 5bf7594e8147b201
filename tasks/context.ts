import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { upgrades } from "@openzeppelin/hardhat-upgrades";
import { DeploymentStore } from "../lib/deployments.js";
import { PRODUCTION_CHAIN_IDS } from "../lib/networks.js";
import { installRetries, type RetryEvent, type RetryPolicy } from "../lib/rpcRetry.js";

/** The chain id anvil and Hardhat use for local development chains. */
const LOCAL_CHAIN_ID = 31337;

export interface TaskContextOptions {
  /**
   * Retry transient JSON-RPC failures (lost answers, timeouts, rate limits) of an HTTP network,
   * from the connection's first request on (lib/rpcRetry.ts).
   */
  retries?: { policy?: Partial<RetryPolicy>; onRetry?: (event: RetryEvent) => void };
}

/** What every task needs: one connection shared by all its steps, the signer and the record. */
export async function openTaskContext(hre: HardhatRuntimeEnvironment, options: TaskContextOptions = {}) {
  // Tasks deploy from artifacts: build first (a no-op when nothing changed), as `hardhat run` does.
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
  const connection = await hre.network.create();
  if (options.retries !== undefined && connection.networkConfig.type === "http") {
    installRetries(connection.provider, options.retries.policy, options.retries.onRetry);
  }
  const { ethers } = connection;
  const [deployer] = await ethers.getSigners();
  if (deployer === undefined) {
    throw new Error(
      `Network "${connection.networkName}" has no account: configure one (npx hardhat keystore set DEPLOYER_PRIVATE_KEY).`,
    );
  }
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const inProcess = connection.networkConfig.type === "edr-simulated";
  // The in-process chain is new on every run, so its addresses are not worth recording.
  const store = await DeploymentStore.open(
    chainId,
    inProcess ? undefined : path.join(hre.config.paths.root, "deployments"),
  );
  return {
    connection,
    ethers,
    deployer,
    chainId,
    store,
    devChain: inProcess || chainId === LOCAL_CHAIN_ID,
    production: PRODUCTION_CHAIN_IDS.has(chainId),
    upgrades: await upgrades(hre, connection),
  };
}

export type TaskContext = Awaited<ReturnType<typeof openTaskContext>>;
