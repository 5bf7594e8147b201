import { task } from "hardhat/config";
export const deployTask = task("deploy:v1", "tmp").setAction(() => import("./deploy-v1.js")).build();
