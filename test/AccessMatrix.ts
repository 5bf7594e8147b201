import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { BaseContract, FunctionFragment, Interface } from "ethers";
import { ACCESS_MATRIX, type Access } from "./access/matrix.js";
import { ethers, networkHelpers, v1Stack } from "./helpers/fixtures.js";
import { migrationStack } from "./helpers/migrationStack.js";

/** The functions that can change state, by signature, straight from the ABI. */
function stateChangingFunctions(iface: Interface): FunctionFragment[] {
  const functions: FunctionFragment[] = [];
  iface.forEachFunction((fragment) => {
    if (fragment.stateMutability !== "view" && fragment.stateMutability !== "pure") functions.push(fragment);
  });
  return functions.sort((a, b) => a.format().localeCompare(b.format()));
}

/** Every role a contract declares: DEFAULT_ADMIN_ROLE and each `*_ROLE` constant. */
async function declaredRoles(contract: BaseContract): Promise<Map<string, string>> {
  const roles = new Map<string, string>();
  for (const fragment of roleConstants(contract.interface)) {
    const value = (await contract.getFunction(fragment.name).staticCall()) as string;
    roles.set(fragment.name, value);
  }
  return roles;
}

/** The getters of role ids (`UPGRADER_ROLE()`…) the contract declares. */
function roleConstants(iface: Interface): FunctionFragment[] {
  const roles: FunctionFragment[] = [];
  iface.forEachFunction((fragment) => {
    if (fragment.name.endsWith("_ROLE") && fragment.inputs.length === 0) roles.push(fragment);
  });
  return roles;
}

/** Arguments of the right types and nothing else: enough to reach the access check. */
function placeholderArguments(fragment: FunctionFragment): unknown[] {
  return fragment.inputs.map((input) => {
    if (input.baseType === "array") return [];
    if (input.type === "address") return ethers.ZeroAddress;
    if (input.type === "string" || input.type === "bytes") return input.type === "string" ? "" : "0x";
    if (input.type === "bool") return false;
    if (input.type.startsWith("bytes")) return ethers.ZeroHash;
    return 0n;
  });
}

type Outcome = "denied" | "uninitializable" | "passed the access check";

async function attempt(contract: BaseContract, fragment: FunctionFragment, caller: string): Promise<Outcome> {
  const data = contract.interface.encodeFunctionData(fragment, placeholderArguments(fragment));
  try {
    await ethers.provider.call({ from: caller, to: await contract.getAddress(), data });
    return "passed the access check";
  } catch (error) {
    const revertData = (error as { data?: string }).data ?? "0x";
    const parsed = revertData.length >= 10 ? contract.interface.parseError(revertData) : null;
    if (parsed?.name === "AccessControlUnauthorizedAccount") {
      expect(parsed.args[0]).to.equal(caller);
      return "denied";
    }
    if (parsed?.name === "InvalidInitialization") return "uninitializable";
    // Any other revert (bad input, missing record) happened after the access check.
    return "passed the access check";
  }
}

function expectedOutcome(access: Access, role: string | undefined): Outcome {
  if (access === "initializer") return "uninitializable";
  if (access === "anyone") return "passed the access check";
  return role !== undefined && access.includes(role) ? "passed the access check" : "denied";
}

interface Subject {
  contract: BaseContract;
  signers: HardhatEthersSigner[];
}

/** A contract under test, loaded from its fixture (so each test starts from the same snapshot). */
function subject<F extends { signers: HardhatEthersSigner[] }>(
  fixture: () => Promise<F>,
  select: (loaded: F) => BaseContract,
): () => Promise<Subject> {
  return async () => {
    const loaded = await networkHelpers.loadFixture(fixture);
    return { contract: select(loaded), signers: loaded.signers };
  };
}

describe("access matrix: every state-changing function against every role and a stranger", () => {
  // V1 as deployed; V1.1 and V2 with the migration opened (V1 paused, V2 in its window).
  const contracts: [string, () => Promise<Subject>][] = [
    ["NodeRegistryV1", subject(v1Stack, (f) => f.registry)],
    ["PaymentEscrowV1", subject(v1Stack, (f) => f.escrow)],
    ["JobMarketplaceV1", subject(v1Stack, (f) => f.marketplace)],
    ["NodeRegistryV1_1", subject(migrationStack, (f) => f.v1_1.registry)],
    ["PaymentEscrowV1_1", subject(migrationStack, (f) => f.v1_1.escrow)],
    ["NodeRegistryV2", subject(migrationStack, (f) => f.v2.registry)],
    ["PaymentEscrowV2", subject(migrationStack, (f) => f.v2.escrow)],
    ["JobMarketplaceV2", subject(migrationStack, (f) => f.v2.marketplace)],
  ];

  for (const [name, load] of contracts) {
    describe(name, () => {
      it("has a matrix entry for each state-changing function in its ABI, and none for functions it lacks", async () => {
        const { contract } = await load();
        const inAbi = stateChangingFunctions(contract.interface).map((f) => f.format());
        const inMatrix = Object.keys(ACCESS_MATRIX[name] ?? {}).sort();
        expect(
          inAbi.filter((signature) => !inMatrix.includes(signature)),
          "functions without a matrix entry",
        ).to.deep.equal([]);
        expect(
          inMatrix.filter((signature) => !inAbi.includes(signature)),
          "matrix entries without a function",
        ).to.deep.equal([]);
      });

      it("lets each role holder call exactly what the matrix allows, and a stranger only the open functions", async () => {
        const { contract, signers } = await load();
        const admin = signers[0]!;
        const roles = await declaredRoles(contract);
        // Each role goes to a fresh account that holds that role alone.
        const holders = new Map<string, string>();
        let next = 10;
        for (const [roleName, role] of roles) {
          const holder = signers[next++]!.address;
          await (
            await (
              contract.connect(admin) as unknown as {
                grantRole(r: string, a: string): Promise<{ wait(): Promise<unknown> }>;
              }
            ).grantRole(role, holder)
          ).wait();
          holders.set(roleName, holder);
        }
        const stranger = signers[next]!.address;

        const mismatches: string[] = [];
        for (const fragment of stateChangingFunctions(contract.interface)) {
          const access = ACCESS_MATRIX[name]![fragment.format()]!;
          const callers: [string | undefined, string][] = [
            [undefined, stranger],
            ...[...holders].map(([r, a]) => [r, a] as [string, string]),
          ];
          for (const [roleName, caller] of callers) {
            const actual = await attempt(contract, fragment, caller);
            const expected = expectedOutcome(access, roleName);
            if (actual !== expected)
              mismatches.push(
                `${fragment.format()} as ${roleName ?? "a stranger"}: expected ${expected}, got ${actual}`,
              );
          }
        }
        expect(mismatches).to.deep.equal([]);
      });
    });
  }
});
