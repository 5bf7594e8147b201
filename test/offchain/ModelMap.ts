import { expect } from "chai";
import { readFileSync } from "node:fs";
import { ImportError } from "../../lib/platforms/importError.js";
import { loadModelMap, parseModelMap, resolveModel } from "../../lib/platforms/models.js";
import { MODEL_NAMES } from "../../lib/fixtures/catalogue.js";

describe("ModelMap", () => {
  const map = loadModelMap("models/map.json");

  it("models/map.json is valid and maps only to names hosts register", () => {
    for (const entries of Object.values(map.platforms)) {
      for (const entry of Object.values(entries ?? {})) {
        if (entry.fabstir !== null) expect(MODEL_NAMES).to.include(entry.fabstir);
      }
    }
  });

  it("matches exact names first, then the platform's version-suffix rule; everything else is unknown", () => {
    expect(resolveModel(map, "openai", "gpt-4o-mini")).to.include({ kind: "mapped", target: "llama-3.1-8b-instruct" });
    expect(resolveModel(map, "openai", "gpt-4o-mini-2024-07-18")).to.include({ kind: "mapped", key: "gpt-4o-mini" });
    expect(resolveModel(map, "openai", "gpt-4o-2024-08-06")).to.include({ target: "llama-3.3-70b-instruct" });
    expect(resolveModel(map, "openai", "gpt-3.5-turbo-0125")).to.include({ key: "gpt-3.5-turbo" });
    expect(resolveModel(map, "openai", "o1")).to.include({ kind: "no-equivalent" });
    expect(resolveModel(map, "openai", "gpt-5-turbo")).to.deep.equal({ kind: "unknown" });
    // No default model: a near miss stays unknown.
    expect(resolveModel(map, "openai", "GPT-4o-mini")).to.deep.equal({ kind: "unknown" });
    expect(resolveModel(map, "replicate", "meta/meta-llama-3-8b-instruct:5a6809ca6288")).to.include({ kind: "mapped" });
    expect(resolveModel(map, "huggingface", "Qwen/Qwen2.5-72B-Instruct@main")).to.include({
      target: "qwen2.5-72b-instruct",
    });
    // Inference Providers route with a ":provider" (or ":fastest") suffix; the Hub id before it is the model.
    expect(resolveModel(map, "huggingface", "Qwen/Qwen2.5-72B-Instruct:together")).to.include({
      kind: "mapped",
      target: "qwen2.5-72b-instruct",
    });
    expect(resolveModel(map, "huggingface", "deepseek-ai/DeepSeek-V3:fastest")).to.include({ target: "deepseek-v3" });
    // A different model with a provider suffix stays unknown: the rule strips the suffix, nothing more.
    expect(resolveModel(map, "huggingface", "deepseek-ai/DeepSeek-V3-0324:novita")).to.deep.equal({ kind: "unknown" });
    expect(resolveModel(map, "huggingface", null)).to.deep.equal({ kind: "unstated" });
  });

  it("a bad map is refused with the JSON path of every problem", () => {
    const good = JSON.parse(readFileSync("models/map.json", "utf8")) as {
      platforms: { openai: Record<string, { fabstir: unknown; price?: Record<string, unknown> }> };
    };
    good.platforms.openai["gpt-4o"]!.price!.usdPer1MInputTokens = 2.5;
    good.platforms.openai["o1"]!.price!.asOf = "2025-02-30";
    good.platforms.openai["gpt-4o-mini"]!.fabstir = "";
    expect(() => parseModelMap(good, "map.json"))
      .to.throw(ImportError)
      .with.property("message")
      .that.includes('map.json: not a valid model map: $.platforms.openai["gpt-4o-mini"].fabstir:')
      .and.includes('$.platforms.openai["gpt-4o"].price.usdPer1MInputTokens')
      .and.includes("$.platforms.openai.o1.price.asOf: is not a real date");
    expect(() => parseModelMap({ format: "fabstir.model-map", version: 1, platforms: { bedrock: {} } }, "m")).to.throw(
      /\$\.platforms: Unrecognized key/,
    );
    expect(() => loadModelMap("no/such/map.json")).to.throw(ImportError, /cannot read the model map/);
  });
});
