/** A refusal of the store or of a schema migration: bad input, never a bug. Nothing was written. */
export class StoreError extends Error {
  override name = "StoreError";
}
