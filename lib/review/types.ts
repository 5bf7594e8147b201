/**
 * The vocabulary of an upgrade review (`npx hardhat upgrade:diff`): one compiled contract on each
 * side, and what changed between them. Every field is plain data so that a review serializes to
 * JSON as it is and renders to Markdown without a chain or a compiler.
 */

/** A solc standard-JSON input, as far as the review reads it. */
export interface SolcInput {
  language: string;
  sources: Record<string, { content?: string; urls?: string[] }>;
  settings: {
    optimizer?: { enabled?: boolean; runs?: number };
    evmVersion?: string;
    viaIR?: boolean;
    remappings?: string[];
    [key: string]: unknown;
  };
}

/** A solc standard-JSON output, as far as the review reads it. */
export interface SolcOutput {
  sources: Record<string, { id: number; ast: unknown }>;
  contracts: Record<string, Record<string, SolcContractOutput>>;
}

export interface SolcContractOutput {
  abi: readonly AbiItem[];
  evm?: {
    bytecode?: { object: string };
    deployedBytecode?: { object: string };
    methodIdentifiers?: Record<string, string>;
  };
  storageLayout?: unknown;
  devdoc?: NatSpecDoc;
  userdoc?: NatSpecDoc;
  metadata?: string;
}

export interface NatSpecDoc {
  methods?: Record<string, Record<string, unknown>>;
  events?: Record<string, Record<string, unknown>>;
  errors?: Record<string, Array<Record<string, unknown>>>;
  [key: string]: unknown;
}

/** An ABI entry (function, event, error, constructor, fallback, receive). */
export interface AbiItem {
  type: string;
  name?: string;
  inputs?: readonly AbiParameter[];
  outputs?: readonly AbiParameter[];
  stateMutability?: string;
  anonymous?: boolean;
}

export interface AbiParameter {
  name: string;
  type: string;
  internalType?: string;
  indexed?: boolean;
  components?: readonly AbiParameter[];
}

/**
 * One contract with the compilation that produced it: the review needs the whole input and
 * output (OpenZeppelin's validation reads the AST of every source, and namespaced storage needs
 * the sources themselves).
 */
export interface CompiledContract {
  /** Fully qualified name as the build knows it: `contracts/v1/NodeRegistryV1.sol:NodeRegistryV1`. */
  fqn: string;
  /** The source name inside `input`/`output` (may carry a build prefix such as `project/`). */
  sourceName: string;
  contractName: string;
  /** Where it came from, for the report: `project build` or the build-info directory given. */
  origin: string;
  /** solc's long version, e.g. `0.8.30+commit.73712a01`. */
  solcVersion: string;
  input: SolcInput;
  output: SolcOutput;
  /**
   * Input/output source name → the name users write, when they differ (Hardhat 3 compiles
   * `contracts/x.sol` as `project/contracts/x.sol`); used to print sources as users know them.
   */
  userSourceNames?: Record<string, string>;
}

/** How much a change matters to someone who depends on the old contract. */
export type Severity = "breaking" | "compatible" | "info";

/** One difference, with the reason a reviewer would give for its severity. */
export interface Change {
  severity: Severity;
  /** What changed, in one line: `function withdraw(address,uint256): payable → nonpayable`. */
  subject: string;
  reason: string;
}

/** A storage operation from OpenZeppelin's layout comparison, flattened for JSON and Markdown. */
export interface StorageChange {
  /** `insert`, `delete`, `append`, `replace`, `rename`, `typechange`, `layoutchange`, `shrinkgap`, … */
  operation: string;
  /**
   * `$.nodes` style path; for a namespace, `erc7201:<id>` prefixes it: `erc7201:fabstir.storage.X/$.nodes`.
   * A struct member under a changed variable follows it: `erc7201:…/$.nodes[].stake` (`[]` for a
   * mapping value or array element). A deleted namespace is the namespace itself: `erc7201:<id>`.
   */
  variable: string;
  /** The ERC-7201 namespace the variable lives in, or undefined for the contract's own layout. */
  namespace?: string;
  before?: StorageSlot;
  after?: StorageSlot;
  /** The type before and after when it changed: `uint256 → uint128`. */
  typeChange?: string;
  /** OpenZeppelin's explanation and what to do. */
  hint: string;
}

/**
 * Where a variable lives. `slot` is decimal; for a namespaced variable it counts from the namespace's
 * ERC-7201 root, for a struct member from the start of the struct.
 */
export interface StorageSlot {
  label: string;
  type: string;
  slot: string;
  offset: number;
}

/** An upgrade-safety error on the new implementation (constructor, selfdestruct, delegatecall…). */
export interface SafetyError {
  kind: string;
  contract: string;
  source: string;
  hint: string;
}

export interface StorageReview {
  /** True when the new implementation can replace the old behind the same proxy. */
  compatible: boolean;
  changes: StorageChange[];
  safetyErrors: SafetyError[];
  /** Namespaces on each side (ERC-7201 ids), sorted. */
  namespaces: { before: string[]; after: string[] };
  /**
   * What the review could not check or what upgrades-core noted about the new implementation
   * (e.g. namespaced storage compiled by another solc than the project's, reinitializers skipped).
   */
  notes: string[];
}
