import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

/** Every task of the toolkit. Actions are loaded lazily so `npx hardhat --help` stays fast. */
export const tasks = [
  task("deploy:v1", "Deploy the V1 stack (or what is missing of it) and record it in deployments/<chainId>.json")
    .addOption({
      name: "admin",
      description: "Final holder of the admin roles (default: the deployer)",
      defaultValue: "",
    })
    .addOption({
      name: "treasury",
      description: "Receives fees and slashed stake (default: the deployer)",
      defaultValue: "",
    })
    .setAction(() => import("./deploy-v1.js"))
    .build(),
  task("fixtures:seed", "Seed deterministic, realistic V1 state: nodes, jobs in every status, escrow balances")
    .addOption({ name: "nodes", description: "Nodes to register", type: ArgumentType.INT, defaultValue: 20 })
    .addOption({
      name: "jobs",
      description: "Jobs to post and walk through their lifecycle",
      type: ArgumentType.INT,
      defaultValue: 200,
    })
    .addOption({
      name: "users",
      description: "Users holding escrow balances and posting jobs",
      type: ArgumentType.INT,
      defaultValue: 20,
    })
    .addOption({ name: "seed", description: "Seed of the deterministic generator", defaultValue: "1" })
    .setAction(() => import("./fixtures-seed.js"))
    .build(),
];
