import { configVariable } from "hardhat/config";
import type { HookManager } from "hardhat/types/hooks";
import { TOKEN_VARIABLE } from "./security.js";

/**
 * `DASHBOARD_TOKEN` as Hardhat resolves configuration variables: the environment (where "" means
 * none), then the handlers of the `configurationVariables` hook (the keystore). Undefined when
 * neither has one; `chooseToken` then applies the --host rules.
 */
export async function configuredToken(
  hooks: Pick<HookManager, "runHandlerChain">,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const fromEnvironment = environment[TOKEN_VARIABLE];
  if (fromEnvironment !== undefined) return fromEnvironment === "" ? undefined : fromEnvironment;
  const value = await hooks.runHandlerChain(
    "configurationVariables",
    "fetchValue",
    [configVariable(TOKEN_VARIABLE, { default: "" })],
    async (_context, variable) => environment[variable.name] ?? variable.default ?? "",
  );
  return value === "" ? undefined : value;
}
