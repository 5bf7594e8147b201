import type { BaseContract, FunctionFragment } from "ethers";

/**
 * Records which V1 functions the conformance suite calls, so the claim "every V1 function is
 * exercised or deprecated" is checked rather than asserted: each contract handed to a test is
 * wrapped in a Proxy that notes the signature of every ABI function invoked on it (directly or
 * through `staticCall`, `send`, `estimateGas`, …, and on the contracts `connect` returns).
 */
export class CallRecorder {
  /** Signatures (`name(type,…)`) called, per contract name. */
  readonly calls = new Map<string, Set<string>>();
  /** Set when a test touches a function the target deprecates: the test cannot apply there. */
  touchedDeprecated: string | undefined;

  constructor(
    /** Signatures the target deprecates, per contract name. */
    private readonly deprecated: ReadonlyMap<string, ReadonlyMap<string, string>>,
  ) {}

  called(contract: string): ReadonlySet<string> {
    return this.calls.get(contract) ?? new Set();
  }

  private note(contract: string, fragment: FunctionFragment): void {
    const signature = fragment.format("sighash");
    const replacement = this.deprecated.get(contract)?.get(signature);
    if (replacement !== undefined) {
      this.touchedDeprecated = `${contract}.${signature} (deprecated: ${replacement})`;
      throw new UsesDeprecatedFunction(this.touchedDeprecated);
    }
    let set = this.calls.get(contract);
    if (set === undefined) this.calls.set(contract, (set = new Set()));
    set.add(signature);
  }

  /** `contract`, recording every ABI function called on it under `name`. */
  wrap<T extends BaseContract>(contract: T, name: string): T {
    const recorder = this;
    return new Proxy(contract, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (property === "connect") {
          return (runner: Parameters<T["connect"]>[0]) => recorder.wrap(target.connect(runner) as T, name);
        }
        if (typeof property !== "string" || typeof value !== "function") return value;
        const fragment = abiFunction(target, property);
        if (fragment === null) return (value as (...args: unknown[]) => unknown).bind(target);
        return methodRecorder(value as (...args: unknown[]) => unknown, () => recorder.note(name, fragment));
      },
    });
  }
}

/** Thrown (and turned into a skipped test) when a test calls a function its target deprecates. */
export class UsesDeprecatedFunction extends Error {}

function abiFunction(contract: BaseContract, property: string): FunctionFragment | null {
  try {
    return contract.interface.getFunction(property);
  } catch {
    return null; // an ambiguous overload name: V1 has none
  }
}

/**
 * A contract method that calls `note` before any invocation, including its `staticCall` & co.
 * (A copy, not a Proxy: ethers defines those properties read-only, which a Proxy must return as is.)
 */
function methodRecorder(method: (...args: unknown[]) => unknown, note: () => void): unknown {
  const recorded = (...args: unknown[]): unknown => {
    note();
    return method(...args);
  };
  for (const key of Reflect.ownKeys(method)) {
    if (key === "length" || key === "name" || key === "prototype") continue;
    const value: unknown = Reflect.get(method, key);
    Object.defineProperty(recorded, key, {
      value:
        typeof value === "function"
          ? (...args: unknown[]) => {
              note();
              return (value as (...a: unknown[]) => unknown).apply(method, args);
            }
          : value,
    });
  }
  return recorded;
}
