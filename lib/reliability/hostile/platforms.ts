import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import fc from "fast-check";
import { bundleText, readBundle, writeBundle, type ImportBundle } from "../../platforms/bundle.js";
import { PlatformImportError } from "../../platforms/errors.js";
import { ImportError } from "../../platforms/importError.js";
import { buildBundle, parseExportBytes } from "../../platforms/importPlan.js";
import { loadModelMap, resolveModel, type ModelMap } from "../../platforms/models.js";
import { parseRate } from "../../platforms/pricing.js";
import { storeRecordsOf } from "../../platforms/records.js";
import type { PlatformName } from "../../platforms/types.js";
import { expectUnchanged, HostileFailure, type HostileKind } from "./core.js";
import { hostileJson, hostileJsonLines, freeForm, byteMutation } from "./mutate.js";

/**
 * What `platform:import` reads: the model map, each platform's export (then, as the task does,
 * the bundle built, `--out` written and read back, and the store records derived), and a bundle
 * read back with `readBundle`. Refusals are ImportError and PlatformImportError; a refused import
 * must leave `--out` as it was.
 */

const USER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const RATE = "0.0003";
const NOW = 1_750_000_000;

export interface PlatformSamples {
  root: string;
  map: ModelMap;
  mapJson: unknown;
  exports: Record<PlatformName, string>;
  bundle: ImportBundle;
}

export function platformSamples(root: string): PlatformSamples {
  const dir = path.join(root, "test", "fixtures", "platforms");
  const mapFile = path.join(root, "models", "map.json");
  const exports: Record<PlatformName, string> = {
    openai: readFileSync(path.join(dir, "openai-batch-output.jsonl"), "utf8"),
    replicate: readFileSync(path.join(dir, "replicate-predictions.json"), "utf8"),
    huggingface: readFileSync(path.join(dir, "huggingface-chat-log.jsonl"), "utf8"),
  };
  const map = loadModelMap(mapFile);
  const bytes = Buffer.from(exports.openai, "utf8");
  const jobs = parseExportBytes("openai", "export.jsonl", bytes, true);
  const bundle = buildBundle({
    platform: "openai",
    file: "export.jsonl",
    bytes,
    jobs,
    map,
    user: USER,
    conversion: { kind: "rate", ethPerUsd: RATE },
    ethPerUsd: parseRate(RATE),
    now: NOW,
  });
  return { root, map, mapJson: JSON.parse(readFileSync(mapFile, "utf8")), exports, bundle };
}

const PREVIOUS_OUT = Buffer.from("a bundle from an earlier import\n");

export function modelMapKind(samples: PlatformSamples): HostileKind<Buffer> {
  return {
    name: "model map",
    arbitrary: hostileJson(samples.mapJson, 2),
    refusals: [ImportError],
    async read(bytes, dir) {
      const file = path.join(dir, "map.json");
      await writeFile(file, bytes);
      const map = loadModelMap(file);
      for (const name of ["gpt-4o-mini-2024-07-18", "__proto__", "constructor", "meta/meta-llama-3-8b-instruct:abc"]) {
        resolveModel(map, "openai", name);
        resolveModel(map, "replicate", name);
        resolveModel(map, "huggingface", name);
      }
    },
  };
}

function exportArbitrary(text: string, platform: PlatformName): fc.Arbitrary<Buffer> {
  if (platform === "replicate") return hostileJson(JSON.parse(text), 2);
  const lines = text
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as unknown);
  return fc.oneof(hostileJsonLines(lines), byteMutation(text), freeForm);
}

/** `platform:import --from <platform> --rate … --user … --out <file> --include-content`, minus the chain. */
export function exportKind(samples: PlatformSamples, platform: PlatformName): HostileKind<Buffer> {
  return {
    name: `${platform} export`,
    arbitrary: exportArbitrary(samples.exports[platform], platform),
    refusals: [ImportError, PlatformImportError],
    async read(bytes, dir) {
      const out = path.join(dir, "bundle.json");
      await writeFile(out, PREVIOUS_OUT);
      let bundle: ImportBundle;
      try {
        const jobs = parseExportBytes(platform, "export", bytes, true);
        bundle = buildBundle({
          platform,
          file: "export",
          bytes,
          jobs,
          map: samples.map,
          user: USER,
          conversion: { kind: "rate", ethPerUsd: RATE },
          ethPerUsd: parseRate(RATE),
          now: NOW,
        });
        storeRecordsOf(bundle, bundle.createdAt);
        bundleText(bundle);
      } catch (error) {
        await expectUnchanged(out, PREVIOUS_OUT, "--out");
        throw error;
      }
      writeBundle(out, bundle);
      // What the import wrote, it must read back as the same bundle.
      const back = readBundle(out);
      if (back.digest !== bundle.digest) throw new HostileFailure("the written bundle reads back with another digest");
    },
  };
}

export function bundleKind(samples: PlatformSamples): HostileKind<Buffer> {
  return {
    name: "bundle",
    arbitrary: hostileJson(JSON.parse(bundleText(samples.bundle)), 2),
    refusals: [ImportError],
    async read(bytes, dir) {
      const file = path.join(dir, "bundle.json");
      await writeFile(file, bytes);
      readBundle(file);
      await readFile(file);
    },
  };
}
