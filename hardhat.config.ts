import { createRequire } from "node:module";
import { configVariable, defineConfig } from "hardhat/config";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import hardhatUpgrades from "@openzeppelin/hardhat-upgrades";
import { tasks } from "./tasks/index.js";
import { INVARIANT_CAMPAIGN, INVARIANT_DEFAULT } from "./lib/reliability/contracts.js";

const require = createRequire(import.meta.url);

// The compiler comes from the exactly pinned `solc` package (wasm), never from a download:
// `version` is read from the installed package so artifacts cannot claim another compiler.
const solcVersion: string = require("solc/package.json").version;

/** Base's block gas limit, late 2026 (about 140M; read it live for planning on the real chain). */
const BASE_BLOCK_GAS_LIMIT = 140_000_000n;

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers, hardhatUpgrades],
  tasks,
  solidity: {
    version: solcVersion,
    path: require.resolve("solc/soljson.js"),
    settings: {
      // Cancun is live on Base (Ecotone, 2024): transient storage and MCOPY are available.
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 200 },
    },
  },
  paths: {
    tests: { mocha: "test", solidity: "test" },
  },
  test: {
    solidity: {
      profiles: {
        // What `npx hardhat test` (CI) runs.
        default: {
          fuzz: { runs: 256 },
          invariant: { runs: INVARIANT_DEFAULT.runs, depth: INVARIANT_DEFAULT.depth, failOnRevert: false },
        },
        // The reliability run's long invariant campaign (`npx hardhat test solidity --test-profile campaign`,
        // lib/reliability/contracts.ts): at least 10,000 runs × depth 50 per invariant.
        campaign: {
          fuzz: { runs: 256 },
          invariant: { runs: INVARIANT_CAMPAIGN.runs, depth: INVARIANT_CAMPAIGN.depth, failOnRevert: false },
        },
      },
    },
  },
  typechain: { outDir: "typechain-types" },
  networks: {
    // The in-process chain with Base's shape: OP-stack predeploys (GasPriceOracle, L1 fees in
    // receipts) and a Base-sized block. Not the default: EDR 3.18's OP block builder panics on
    // some test-only RPC sequences ("Extra data should have at least 1 byte for version").
    hardhatOp: { type: "edr-simulated", chainType: "op", blockGasLimit: BASE_BLOCK_GAS_LIMIT },
    // MIGRATION_RPC_URL points it at another local node (the anvil end-to-end test starts one on a free port).
    localhost: { type: "http", url: process.env.MIGRATION_RPC_URL ?? "http://127.0.0.1:8545" },
    baseSepolia: {
      type: "http",
      chainType: "op",
      chainId: 84532,
      url: configVariable("BASE_SEPOLIA_RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
    base: {
      type: "http",
      chainType: "op",
      chainId: 8453,
      url: configVariable("BASE_RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
  },
});
