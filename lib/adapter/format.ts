import * as prettier from "prettier";

/**
 * Formats Solidity `source` as `npx prettier --check` expects for `file` (the repo's
 * .prettierrc.json with prettier-plugin-solidity), so committed adapters pass the check.
 */
export async function formatSolidity(source: string, file: string): Promise<string> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(source, { ...options, filepath: file });
}
