import { existsSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { ImportError } from "../lib/platforms/importError.js";
import { parseUser } from "../lib/platforms/importPlan.js";
import { creditsOfUser } from "../lib/platforms/platformImport.js";
import { loadModelMap } from "../lib/platforms/models.js";
import { formatUsd18, parseUsd } from "../lib/platforms/pricing.js";
import { historyRow, historyTable, isV3 } from "../lib/platforms/report.js";
import { DEFAULT_STORE_PATH, openStore } from "../lib/store/database.js";
import { jobsOfUser } from "../lib/store/jobs.js";
import { LATEST_VERSION } from "../lib/store/migrations/index.js";
import { refusing } from "./platform-import.js";

interface PlatformHistoryArguments {
  user: string;
  store: string;
  models: string;
  limit: string;
  escrow: string;
  json: boolean;
}

export default async function platformHistoryAction(
  args: PlatformHistoryArguments,
  hre: HardhatRuntimeEnvironment,
): Promise<void> {
  await refusing(async () => {
    const root = hre.config.paths.root;
    if (args.user === "") throw new ImportError("pass --user 0x… (whose jobs to list)");
    const user = parseUser(args.user);
    if (args.limit !== "" && !/^[1-9][0-9]{0,8}$/.test(args.limit)) {
      throw new ImportError(`--limit must be a whole number above 0 (got "${args.limit}")`);
    }
    const limit = args.limit === "" ? undefined : Number(args.limit);
    const map = loadModelMap(path.resolve(root, args.models === "" ? "models/map.json" : args.models));
    const file = path.resolve(root, args.store === "" ? DEFAULT_STORE_PATH : args.store);
    if (!existsSync(file))
      throw new ImportError(`no store at ${file}; \`npx hardhat platform:import --apply\` creates it`);
    const db = openStore(file, { readOnly: true });
    let jobs;
    try {
      jobs = jobsOfUser(db, user, limit);
    } finally {
      db.close();
    }
    if (jobs.version !== LATEST_VERSION) {
      throw new ImportError(
        `the store ${file} is at schema version ${jobs.version}; run \`npx hardhat schema:migrate --to ${LATEST_VERSION} --store ${file}\` first`,
      );
    }
    const rows = jobs.jobs.filter(isV3).map((record) => historyRow(record, map));
    const totals = {
      jobs: rows.length,
      costUsd: formatUsd18(
        rows.reduce((sum, r) => sum + (r.costUsd === null ? 0n : parseUsd(r.costUsd, "usdValue")), 0n),
      ),
      costWei: rows.reduce((sum, r) => sum + BigInt(r.costWei), 0n).toString(),
      unpriced: rows.filter((r) => r.costUsd === null).length,
    };
    // With --escrow, the user's migration credits too (the only reason history connects).
    let credits: Awaited<ReturnType<typeof creditsOfUser>> | null = null;
    if (args.escrow !== "") {
      const connection = await hre.network.create();
      try {
        credits = await creditsOfUser(connection.ethers.provider, args.escrow, user);
      } finally {
        await connection.close();
      }
    }
    const creditLine =
      credits === null
        ? []
        : [
            `Live credits on PaymentEscrowV2 ${credits.escrow}: ${credits.liveWei} wei` +
              (credits.expiresAt === 0
                ? ""
                : ` (expire${credits.liveWei === "0" ? "d" : "s"} ${new Date(credits.expiresAt * 1000).toISOString()})`),
          ];
    if (args.json) {
      console.log(JSON.stringify({ user, rows, totals, credits }));
      return;
    }
    if (rows.length === 0) {
      console.log(`No jobs for ${user} in ${file}`);
      for (const line of creditLine) console.log(line);
      return;
    }
    for (const line of historyTable(rows)) console.log(line);
    console.log(
      `${totals.jobs} job(s) for ${user}: ${totals.costUsd} USD, ${totals.costWei} wei${totals.unpriced === 0 ? "" : ` (${totals.unpriced} unpriced)`}`,
    );
    for (const line of creditLine) console.log(line);
  });
}
