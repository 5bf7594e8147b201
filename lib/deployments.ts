import { readFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomically } from "./files.js";

/** Where one upgradeable contract lives: its proxy and the implementation behind it. */
export interface ProxyRecord {
  proxy: string;
  implementation: string;
}

/** A contract deployed once (not behind a proxy), and the block of its deployment when recorded. */
export interface ContractRecord {
  address: string;
  /** Where its events start (the Governor's `ProposalCreated`: upgrade:execute searches from here). */
  block?: number;
}

/** What `deployments/<chainId>.json` holds for one chain. */
export interface DeploymentRecord {
  chainId: number;
  contracts: Record<string, ProxyRecord | ContractRecord>;
}

/**
 * Reads and writes the per-chain deployment record. `dir` is undefined for throwaway chains
 * (the in-process network), whose record lives in memory only: writing it to disk would leave
 * addresses behind that the next run's fresh chain does not have.
 */
export class DeploymentStore {
  readonly #file: string | undefined;
  #record: DeploymentRecord;

  private constructor(file: string | undefined, record: DeploymentRecord) {
    this.#file = file;
    this.#record = record;
  }

  static async open(chainId: number, dir: string | undefined): Promise<DeploymentStore> {
    const empty: DeploymentRecord = { chainId, contracts: {} };
    if (dir === undefined) return new DeploymentStore(undefined, empty);
    const file = path.join(dir, `${chainId}.json`);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return new DeploymentStore(file, empty);
      throw error;
    }
    const parsed = JSON.parse(text) as DeploymentRecord;
    if (parsed.chainId !== chainId || typeof parsed.contracts !== "object" || parsed.contracts === null) {
      throw new Error(`${file} is not a deployment record for chain ${chainId}: fix or remove it, then deploy again.`);
    }
    return new DeploymentStore(file, parsed);
  }

  get record(): DeploymentRecord {
    return this.#record;
  }

  get(name: string): ProxyRecord | ContractRecord | undefined {
    return this.#record.contracts[name];
  }

  /** Records `name` and persists the whole record atomically (temporary file, then rename). */
  async set(name: string, entry: ProxyRecord | ContractRecord): Promise<void> {
    const contracts = { ...this.#record.contracts, [name]: entry };
    // Sorted keys keep the committed file's diffs small and deterministic.
    const sorted = Object.fromEntries(Object.entries(contracts).sort(([a], [b]) => a.localeCompare(b)));
    this.#record = { chainId: this.#record.chainId, contracts: sorted };
    if (this.#file === undefined) return;
    await writeFileAtomically(this.#file, `${JSON.stringify(this.#record, null, 2)}\n`);
  }
}
