import { expect } from "chai";
import type { JobMarketplaceV1, NodeRegistryV1, PaymentEscrowV1 } from "../../typechain-types/index.js";
import { conformanceIt, type Target } from "./targets.js";

/** Result objects (nested arrays and structs) as plain arrays, for deep comparison. */
function plain(value: unknown): unknown {
  return Array.isArray(value) ? [...value].map(plain) : value;
}

/**
 * Every view V1 answered about its own state, read through V1's ABI once V1 was frozen and
 * drained, just before the migration: what an integrator had read last from the V1 addresses.
 */
export interface V1Reads {
  registry: {
    nodeCount: unknown;
    totalStaked: unknown;
    page: unknown;
    nodes: {
      operator: string;
      node: unknown;
      registered: unknown;
      active: unknown;
      reputation: unknown;
      models: unknown[];
    }[];
  };
  escrow: {
    tokens: string[];
    perToken: { token: string; allowed: unknown; free: unknown; locked: unknown }[];
    users: { user: string; balances: unknown; perToken: unknown[] }[];
    locks: unknown[];
  };
  marketplace: { jobCount: bigint; counts: unknown[]; jobs: unknown[]; page: unknown };
}

interface V1Contracts {
  registry: NodeRegistryV1;
  escrow: PaymentEscrowV1;
  marketplace: JobMarketplaceV1;
}

/** The statuses of IJobMarketplaceV1.JobStatus. */
const STATUSES = [0n, 1n, 2n, 3n, 4n, 5n];

/** Reads V1's state through V1's views: from V1 itself before the migration, or from the adapters after. */
export async function readThroughV1(c: V1Contracts, users: string[], jobCount: bigint): Promise<V1Reads> {
  const nodeCount = await c.registry.nodeCount();
  const page = await c.registry.getNodesPage(0n, nodeCount);
  const nodes = [];
  for (const node of page[0]) {
    const operator = node.operator;
    const models = [];
    for (const model of node.models) models.push(await c.registry.supportsModel(operator, model));
    nodes.push({
      operator,
      node: plain(await c.registry.getNode(operator)),
      registered: await c.registry.isRegistered(operator),
      active: await c.registry.isActiveNode(operator),
      reputation: await c.registry.reputationOf(operator),
      models,
    });
  }
  const tokens = [...(await c.escrow.tokens())];
  const perToken = [];
  for (const token of tokens) {
    perToken.push({
      token,
      allowed: await c.escrow.isTokenAllowed(token),
      free: await c.escrow.totalFree(token),
      locked: await c.escrow.totalLocked(token),
    });
  }
  const balances = [];
  for (const user of users) {
    const perUser = [];
    for (const token of tokens) perUser.push(await c.escrow.balanceOf(user, token));
    balances.push({ user, balances: plain(await c.escrow.balancesOf(user)), perToken: perUser });
  }
  const ids = Array.from({ length: Number(jobCount) }, (_, i) => BigInt(i + 1));
  const locks = [];
  for (const id of ids) locks.push(plain(await c.escrow.lockOf(id)));
  const counts = [];
  for (const status of STATUSES) counts.push(await c.marketplace.countByStatus(status));
  return {
    registry: { nodeCount, totalStaked: await c.registry.totalStaked(), page: plain(page), nodes },
    escrow: { tokens, perToken, users: balances, locks },
    marketplace: {
      jobCount: await c.marketplace.jobCount(),
      counts,
      jobs: await Promise.all(ids.map(async (id) => plain(await c.marketplace.getJob(id)))),
      page: plain(await c.marketplace.getJobsPage(0n, jobCount)),
    },
  };
}

/**
 * Behind the adapters only: the state V1 held before the migration reads through V1's views as
 * V1 reported it last (there is no migration on the V1 target; its own reads are the reference).
 */
export function describeMigratedStateConformance(target: Target): void {
  if (target.kind !== "adapter") return;
  const test = conformanceIt(target);
  describe("V1's migrated state, read through the adapters", () => {
    const load = async () => {
      const s = await target.load();
      if (s.migrated === undefined) throw new Error("the adapter target records V1's reads before the migration");
      return { s, before: s.migrated };
    };

    test("nodes: nodeCount, totalStaked, getNodesPage, getNode, isRegistered, isActiveNode, reputationOf, supportsModel", async () => {
      const { s, before } = await load();
      expect(before.registry.nodes.length).to.be.greaterThan(0);
      const after = await readThroughV1(s, [], 0n);
      expect(after.registry).to.deep.equal(before.registry);
    });

    test("balances: tokens, isTokenAllowed, totalFree, totalLocked, balanceOf and balancesOf of every V1 user", async () => {
      const { s, before } = await load();
      expect(before.escrow.users.length).to.be.greaterThan(0);
      const users = before.escrow.users.map((u) => u.user);
      const after = await readThroughV1(s, users, 0n);
      // Locks are the last test's.
      expect({ ...after.escrow, locks: undefined }).to.deep.equal({ ...before.escrow, locks: undefined });
    });

    test("jobs: jobCount and countByStatus", async () => {
      const { s, before } = await load();
      expect(before.marketplace.jobCount).to.be.greaterThan(0n);
      expect(await s.marketplace.jobCount()).to.equal(before.marketplace.jobCount);
      const counts = [];
      for (const status of STATUSES) counts.push(await s.marketplace.countByStatus(status));
      expect(counts).to.deep.equal(before.marketplace.counts);
    });

    // Divergence (V2): V1's finished jobs are imported into V2 as history (HistoricalJobImported
    // events), not stored, so V2's getJob reverts HistoricalJob(jobId) and the adapter cannot
    // answer V1's record. See docs/adapters.md, "What differs through the adapter".
    test("jobs: getJob and getJobsPage of a job V1 finished before the migration return V1's record", async () => {
      const { s, before } = await load();
      const jobs = [];
      for (let id = 1n; id <= before.marketplace.jobCount; id++) jobs.push(plain(await s.marketplace.getJob(id)));
      expect(jobs).to.deep.equal(before.marketplace.jobs);
      expect(plain(await s.marketplace.getJobsPage(0n, before.marketplace.jobCount))).to.deep.equal(
        before.marketplace.page,
      );
    });

    test("locks: lockOf of a job V1 finished before the migration", async () => {
      const { s, before } = await load();
      const locks = [];
      for (let id = 1n; id <= before.marketplace.jobCount; id++) locks.push(plain(await s.escrow.lockOf(id)));
      expect(locks).to.deep.equal(before.escrow.locks);
    });
  });
}
