import fc from "fast-check";
import { BenchOptionError, resolveBenchOptions } from "../../bench/options.js";
import { MigrationInputError } from "../../migration/contracts.js";
import { checkRunOptions } from "../../migration/engine.js";
import type { StepName } from "../../migration/events.js";
import { parseAddressOption } from "../../options.js";
import { ImportError } from "../../platforms/importError.js";
import { parsePlatform, parseUser } from "../../platforms/importPlan.js";
import { parseMaxAge } from "../../platforms/priceFeed.js";
import { parseRate } from "../../platforms/pricing.js";
import { StoreError } from "../../store/errors.js";
import { parseTargetVersion } from "../../store/migrate.js";
import { ReliabilityOptionError, resolveReliabilityOptions } from "../options.js";
import type { ErrorClass, HostileKind } from "./core.js";

/**
 * Task options through the validation the tasks use: addresses (`--admin`, `--user`), amounts and
 * rates (`--rate`, `--max-fee-per-gas`, `--max-gas-per-tx`), batch sizes, confirmations, ages,
 * versions, trial counts and seeds. Hardhat hands an INT option as a number and a STRING one as
 * text; both are generated as anything those types can carry, and more (NaN, ±Infinity, huge).
 */

/** `parseAddressOption` throws a plain Error naming the option (deploy:v1 prints it). */
class PlainOptionError extends Error {}
export { PlainOptionError };

const hostileText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.constantFrom(
    "",
    " ",
    "0",
    "-1",
    "1e3",
    "0x",
    "0.0",
    "00.1",
    "1.",
    ".5",
    "NaN",
    "Infinity",
    "9".repeat(400),
    "\ud800",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79c9",
    "openai",
    "OpenAI",
    "__proto__",
    "constructor",
    "3",
    " 2 ",
    "0.00031",
  ),
  fc.stringMatching(/^[0-9.]{0,30}$/),
  fc.stringMatching(/^0x[0-9a-fA-F]{0,44}$/),
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, Number.MAX_SAFE_INTEGER + 1, 2 ** 53, 1001, 1000, 0, -1),
  fc.nat(10_000),
);
const hostileBigint = fc.oneof(
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  fc.constantFrom(0n, 1n, 2n ** 24n, 2n ** 24n + 1n, -1n),
);

export type OptionCase =
  | { option: "address"; value: string }
  | { option: "user"; value: string }
  | { option: "from"; value: string }
  | { option: "rate"; value: string }
  | { option: "maxAge"; value: string }
  | { option: "to"; value: string }
  | { option: "migrate"; batchSize: number; confirmations: number; maxGasPerTx: bigint; steps: string[] }
  | { option: "reliability"; crashTrials: number; rpcTrials: number; seed: string }
  | { option: "bench"; nodes: number; jobs: number; users: number; seed: string };

const text = <O extends OptionCase["option"]>(option: O) =>
  hostileText.map((value) => ({ option, value }) as OptionCase);

export const optionCase: fc.Arbitrary<OptionCase> = fc.oneof(
  text("address"),
  text("user"),
  text("from"),
  text("rate"),
  text("maxAge"),
  text("to"),
  fc.record({
    option: fc.constant("migrate" as const),
    batchSize: hostileNumber,
    confirmations: hostileNumber,
    maxGasPerTx: hostileBigint,
    steps: fc.array(fc.constantFrom("check", "nodes", "jobs", "escrow", "verify", "bogus", "__proto__", ""), {
      maxLength: 4,
    }),
  }),
  fc.record({
    option: fc.constant("reliability" as const),
    crashTrials: hostileNumber,
    rpcTrials: hostileNumber,
    seed: hostileText,
  }),
  fc.record({
    option: fc.constant("bench" as const),
    nodes: hostileNumber,
    jobs: hostileNumber,
    users: hostileNumber,
    seed: hostileText,
  }),
);

function validate(c: OptionCase): void {
  switch (c.option) {
    case "address":
      try {
        parseAddressOption("admin", c.value);
      } catch (error) {
        // Its error is a plain Error that names the option: count it as the refusal it is.
        if (error instanceof Error && error.constructor === Error && error.message.startsWith("--admin ")) {
          throw new PlainOptionError(error.message);
        }
        throw error;
      }
      return;
    case "user":
      return void parseUser(c.value);
    case "from":
      return void parsePlatform(c.value);
    case "rate":
      return void parseRate(c.value);
    case "maxAge":
      return void parseMaxAge(c.value);
    case "to":
      return void parseTargetVersion(c.value);
    case "migrate":
      return checkRunOptions({
        batchSize: c.batchSize,
        confirmations: c.confirmations,
        ...(c.maxGasPerTx === 0n ? {} : { maxGasPerTx: c.maxGasPerTx }),
        steps: c.steps as StepName[],
        snapshotFile: "snapshot.ndjson",
      });
    case "reliability":
      return void resolveReliabilityOptions({ quick: true, json: false, keep: false, ...c });
    case "bench":
      return void resolveBenchOptions({ quick: true, json: false, ...c } as unknown as Parameters<
        typeof resolveBenchOptions
      >[0]);
  }
}

const REFUSALS: readonly ErrorClass[] = [
  PlainOptionError,
  MigrationInputError,
  ImportError,
  StoreError,
  ReliabilityOptionError,
  BenchOptionError,
];

export function optionsKind(): HostileKind<OptionCase> {
  return {
    name: "task options",
    arbitrary: optionCase,
    refusals: REFUSALS,
    async read(c) {
      validate(c);
    },
  };
}
