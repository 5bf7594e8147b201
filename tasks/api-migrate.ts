import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import {
  ApiFileError,
  ApiMigrationError,
  beforeAndAfter,
  CODEGEN_LANGUAGES,
  migrateRequest,
  migrateResponse,
  parseExchange,
  parseResponse,
  readText,
  type CodegenLanguage,
  type MigrationReport,
} from "../lib/api/index.js";

interface ApiMigrateArguments {
  request: string;
  response: string;
  codegen: string;
  strict: boolean;
  json: boolean;
}

export default async function apiMigrateAction(
  args: ApiMigrateArguments,
  _hre: HardhatRuntimeEnvironment,
): Promise<void> {
  try {
    await run(args);
  } catch (error) {
    if (error instanceof ApiFileError || error instanceof ApiMigrationError) {
      console.error(`Error: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

function reportLines(title: string, report: MigrationReport): string[] {
  const lines = [`${title}: ${report.endpoint.from} → ${report.endpoint.to}`];
  for (const entry of report.renamed) lines.push(`  renamed     ${entry.from} → ${entry.to}`);
  for (const entry of report.moved) lines.push(`  moved       ${entry.from} → ${entry.to}`);
  for (const entry of report.deprecated) {
    const where = entry.replacement === undefined ? "removed" : `now ${entry.replacement}`;
    lines.push(`  deprecated  ${entry.path} = ${JSON.stringify(entry.value)} (${where}: ${entry.reason})`);
  }
  for (const entry of report.unknown) {
    lines.push(`  unknown     ${entry.path} = ${JSON.stringify(entry.value)} (kept at ${entry.keptAt})`);
  }
  return lines;
}

async function run(args: ApiMigrateArguments): Promise<void> {
  if (args.request === "") {
    throw new ApiFileError("--request <file> is required (a request file, or a { request, response } pair)");
  }
  const codegen = args.codegen === "" ? undefined : (args.codegen as CodegenLanguage);
  if (codegen !== undefined && !CODEGEN_LANGUAGES.includes(codegen)) {
    throw new ApiFileError(`--codegen must be one of ${CODEGEN_LANGUAGES.join(", ")} (got "${args.codegen}")`);
  }
  const options = { unknown: args.strict ? ("refuse" as const) : ("keep" as const) };
  const exchange = parseExchange(args.request, await readText(args.request));
  if (args.response !== "") {
    if (exchange.response !== undefined) {
      throw new ApiFileError(`${args.request} already holds a response; drop --response or use a request file`);
    }
    exchange.response = parseResponse(args.response, await readText(args.response));
  }
  const fileOf = (error: unknown, file: string): never => {
    if (error instanceof ApiMigrationError) error.message = `${file}: ${error.message}`;
    throw error;
  };
  let request;
  try {
    request = migrateRequest(exchange.request, options);
  } catch (error) {
    fileOf(error, args.request);
  }
  let response;
  if (exchange.response !== undefined) {
    try {
      response = migrateResponse(exchange.response, exchange.request, options);
    } catch (error) {
      fileOf(error, args.response === "" ? args.request : args.response);
    }
  }
  const snippets = codegen === undefined ? undefined : beforeAndAfter(codegen, exchange.request, request!.request);
  if (args.json) {
    console.log(
      JSON.stringify({
        request: request!.request,
        report: request!.report,
        ...(response === undefined ? {} : { response: response.response, responseReport: response.report }),
        ...(snippets === undefined ? {} : { codegen: { language: codegen, ...snippets } }),
      }),
    );
    return;
  }
  console.log(reportLines("request", request!.report).join("\n"));
  console.log(JSON.stringify(request!.request, null, 2));
  if (response !== undefined) {
    console.log(reportLines("response", response.report).join("\n"));
    console.log(JSON.stringify(response.response, null, 2));
  }
  if (snippets !== undefined) {
    console.log(`--- before (v1, ${codegen})\n${snippets.before}--- after (v2, ${codegen})\n${snippets.after}`);
  }
}
