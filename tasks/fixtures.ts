import { task } from "hardhat/config";
export const fixturesSeedTask = task("fixtures:seed", "tmp").setAction(() => import("./fixtures-seed.js")).build();
