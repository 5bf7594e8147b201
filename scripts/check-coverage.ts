// Fails when line coverage of contracts/ (from coverage/lcov.info, written by
// `hardhat test --coverage`) is below the threshold given as the first argument, in percent,
// or when a folder named as `<prefix>=<percent>` in later arguments is below its own threshold
// (the generated adapters: `contracts/adapters=90`).
import { readFileSync } from "node:fs";

const threshold = Number(process.argv[2] ?? "95");
const folderThresholds = process.argv.slice(3).map((arg) => {
  const [prefix, percent] = arg.split("=");
  if (prefix === undefined || percent === undefined || !Number.isFinite(Number(percent))) {
    console.error(`Expected <folder>=<percent>, got "${arg}".`);
    process.exit(2);
  }
  return { prefix, percent: Number(percent) };
});
const lcov = readFileSync("coverage/lcov.info", "utf8");

const files = new Map<string, { hit: number; found: number }>();
let current: string | undefined;
for (const line of lcov.split("\n")) {
  if (line.startsWith("SF:")) current = line.slice(3).replace(/^.*?(contracts\/)/, "$1");
  else if (line.startsWith("LH:") && current !== undefined)
    files.set(current, { ...(files.get(current) ?? { found: 0, hit: 0 }), hit: Number(line.slice(3)) });
  else if (line.startsWith("LF:") && current !== undefined)
    files.set(current, { ...(files.get(current) ?? { found: 0, hit: 0 }), found: Number(line.slice(3)) });
}

let hit = 0;
let found = 0;
for (const [file, counts] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
  if (!file.startsWith("contracts/")) continue;
  hit += counts.hit;
  found += counts.found;
  console.log(`${((100 * counts.hit) / Math.max(counts.found, 1)).toFixed(2).padStart(6)}%  ${file}`);
}
const percent = (100 * hit) / Math.max(found, 1);
console.log(
  `${percent.toFixed(2).padStart(6)}%  contracts/ in total (${hit} of ${found} lines); required ${threshold}%`,
);
if (found === 0 || percent < threshold) {
  console.error(
    `Line coverage of contracts/ is below ${threshold}%: add tests for the uncovered lines listed by \`npm run coverage\`.`,
  );
  process.exit(1);
}

let failed = false;
for (const { prefix, percent: required } of folderThresholds) {
  let folderHit = 0;
  let folderFound = 0;
  for (const [file, counts] of files) {
    if (!file.startsWith(prefix)) continue;
    folderHit += counts.hit;
    folderFound += counts.found;
  }
  const folderPercent = (100 * folderHit) / Math.max(folderFound, 1);
  console.log(
    `${folderPercent.toFixed(2).padStart(6)}%  ${prefix} (${folderHit} of ${folderFound} lines); required ${required}%`,
  );
  if (folderFound === 0 || folderPercent < required) {
    console.error(`Line coverage of ${prefix} is below ${required}%: add tests for its uncovered lines.`);
    failed = true;
  }
}
if (failed) process.exit(1);
