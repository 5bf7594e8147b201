import { expect } from "chai";

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject");
}

/**
 * Asserts that `promise` rejects with an instance of `type` whose message includes `message`
 * (or matches it, for a RegExp); returns the error.
 */
export async function expectRejection<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
  message: string | RegExp,
): Promise<E> {
  const error = await rejectionOf(promise);
  expect(error).to.be.instanceOf(type);
  if (typeof message === "string") expect(error.message).to.include(message);
  else expect(error.message).to.match(message);
  return error as E;
}
