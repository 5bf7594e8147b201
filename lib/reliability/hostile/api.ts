import { writeFile } from "node:fs/promises";
import path from "node:path";
import { ApiFileError, parseExchange, readText } from "../../api/files.js";
import { ApiMigrationError, migrateRequest, migrateResponse } from "../../api/migrate.js";
import type { HostileKind } from "./core.js";
import { hostileJson } from "./mutate.js";

/** API request files (lib/api/files.ts) as `api:migrate --request` reads and migrates them. */

export const VALID_EXCHANGE = {
  request: {
    method: "POST",
    url: "https://api.fabstir.com/v1/jobs",
    headers: { "X-API-Key": "key-123" },
    body: { model: "llama-3-8b", prompt: "Hello", max_tokens: 64, payment: { amount: "1000", token: "ETH" } },
  },
  response: { status: 200, headers: {}, body: { job_id: "42", status: "pending" } },
};

export function apiKind(): HostileKind<Buffer> {
  return {
    name: "API request",
    arbitrary: hostileJson(VALID_EXCHANGE, 2),
    refusals: [ApiFileError, ApiMigrationError],
    async read(bytes, dir) {
      const file = path.join(dir, "request.json");
      await writeFile(file, bytes);
      const exchange = parseExchange(file, await readText(file));
      for (const unknown of ["keep", "refuse"] as const) {
        migrateRequest(exchange.request, { unknown });
        if (exchange.response !== undefined) migrateResponse(exchange.response, exchange.request, { unknown });
      }
    },
  };
}
