/**
 * A refusal of `platform:import` / `platform:history` outside the export itself (the model map, the
 * rate or price feed, the user, the store, the bundle): bad input or a state to fix, never a bug.
 * It is always thrown before anything is written. (A bad export is a PlatformImportError.)
 */
export class ImportError extends Error {
  override name = "ImportError";
}
