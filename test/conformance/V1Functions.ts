import { expect } from "chai";
import { Interface, type FunctionFragment } from "ethers";
import {
  JobMarketplaceV1__factory,
  NodeRegistryV1__factory,
  PaymentEscrowV1__factory,
} from "../../typechain-types/index.js";
import { ethers } from "../helpers/fixtures.js";
import { CONTRACTS, type ContractKey, type Target } from "./targets.js";

/** Each V1 contract's ABI, from its typechain factory (the compiled V1 artifact). */
const V1_INTERFACES: Record<ContractKey, Interface> = {
  registry: NodeRegistryV1__factory.createInterface(),
  escrow: PaymentEscrowV1__factory.createInterface(),
  marketplace: JobMarketplaceV1__factory.createInterface(),
};

/** V1's functions, `name(types)` sorted, for one contract. */
export function v1Functions(contract: ContractKey): FunctionFragment[] {
  const functions: FunctionFragment[] = [];
  V1_INTERFACES[contract].forEachFunction((fragment) => functions.push(fragment));
  return functions.sort((a, b) => a.format("sighash").localeCompare(b.format("sighash")));
}

/** The error an adapter reverts with for a V1 function V2 has no equivalent of. */
const DEPRECATED = new Interface(["error Deprecated(bytes4 selector, string replacement)"]);

/**
 * One test per V1 function, so the run lists which functions pass (exercised by the suite against
 * this target, as recorded while it ran) and which the target deprecates, with the replacement.
 * Register it after the target's suites: mocha runs tests in registration order.
 */
export function describeV1Functions(target: Target): void {
  describe("every V1 function passes or is deprecated", () => {
    for (const key of Object.keys(CONTRACTS) as ContractKey[]) {
      const name = CONTRACTS[key];
      describe(name, () => {
        for (const fragment of v1Functions(key)) {
          const signature = fragment.format("sighash");
          const replacement = target.deprecated.get(name)?.get(signature);
          if (replacement === undefined) {
            it(`${signature}: passes (exercised by the suite)`, () => {
              expect([...target.recorder.called(name)], `${name}.${signature} is never called by the suite`).to.include(
                signature,
              );
            });
            continue;
          }
          it(`${signature}: deprecated, reverts Deprecated(${fragment.selector}, "${replacement}")`, async () => {
            const s = await target.load();
            const to = await s.raw[key].getAddress();
            // Zero arguments of the right types: a deprecated function reverts before reading them.
            const data = V1_INTERFACES[key].encodeFunctionData(fragment, defaultsOf(fragment));
            const call = fragment.constant ? ethers.provider.call({ to, data }) : s.admin.sendTransaction({ to, data });
            await expect(call)
              .to.be.revertedWithCustomError({ interface: DEPRECATED }, "Deprecated")
              .withArgs(fragment.selector, replacement);
          });
        }
      });
    }
  });
}

function defaultsOf(fragment: FunctionFragment): unknown[] {
  return fragment.inputs.map((input) => {
    if (input.baseType === "array") return [];
    if (input.baseType === "tuple") throw new Error(`no default for ${input.format()}`);
    if (input.type === "address") return ethers.ZeroAddress;
    if (input.type === "bool") return false;
    if (input.type === "string") return "";
    if (input.type === "bytes") return "0x";
    if (input.type.startsWith("bytes")) return ethers.zeroPadValue("0x", Number(input.type.slice(5)));
    return 0n;
  });
}
