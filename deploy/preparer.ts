import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { HardhatUpgrades } from "@openzeppelin/hardhat-upgrades";
import type { Signer } from "ethers";
import type { ArtifactManager } from "hardhat/types/artifacts";
import type { ImplementationPreparer } from "../lib/governance/actions/index.js";

/** The parts of an artifact that identify deployed code (immutables differ per deployment). */
interface DeployedArtifact {
  deployedBytecode: string;
  immutableReferences?: Record<string, readonly { start: number; length: number }[]>;
}

/** Runtime code with its immutable values zeroed, as hex without 0x. */
function maskImmutables(code: string, artifact: DeployedArtifact): string {
  const bytes = Buffer.from(code.replace(/^0x/, ""), "hex");
  // Other code of another length is no match; its immutable ranges would not fit either.
  if (bytes.length !== (artifact.deployedBytecode.length - 2) / 2) return "";
  for (const ranges of Object.values(artifact.immutableReferences ?? {})) {
    for (const { start, length } of ranges) bytes.fill(0, start, start + length);
  }
  return bytes.toString("hex");
}

/**
 * `prepareUpgrade` through hardhat-upgrades: validates the new implementation against the one the
 * proxy runs and deploys it once. A proxy deployed by another process is not in the plugin's
 * manifest: its current implementation is identified among `current` by its code and imported
 * with `forceImport` first.
 */
export function upgradesPreparer(env: {
  ethers: HardhatEthers;
  upgrades: HardhatUpgrades;
  signer: Signer;
  artifacts: ArtifactManager;
}): ImplementationPreparer {
  const prepare = async (proxy: string, contractName: string) =>
    (await env.upgrades.prepareUpgrade(proxy, await env.ethers.getContractFactory(contractName, env.signer), {
      kind: "uups",
    })) as string;
  return {
    async prepareUpgrade(proxy, contractName, current) {
      try {
        return await prepare(proxy, contractName);
      } catch (error) {
        if (!/is not registered/.test((error as Error).message)) throw error;
      }
      const implementation = await env.upgrades.erc1967.getImplementationAddress(proxy);
      const code = await env.ethers.provider.getCode(implementation);
      for (const name of current) {
        const artifact = (await env.artifacts.readArtifact(name)) as unknown as DeployedArtifact;
        const masked = maskImmutables(code, artifact);
        if (masked === "" || masked !== maskImmutables(artifact.deployedBytecode, artifact)) continue;
        await env.upgrades.forceImport(proxy, await env.ethers.getContractFactory(name, env.signer), { kind: "uups" });
        return prepare(proxy, contractName);
      }
      throw new Error(
        `The proxy ${proxy} is not in hardhat-upgrades' manifest and its implementation ${implementation} is none of ${current.join(
          ", ",
        )}: import it with upgrades.forceImport(proxy, <its contract factory>, { kind: "uups" }) first.`,
      );
    },
  };
}
