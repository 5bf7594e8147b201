import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

type TaskBuilder = ReturnType<typeof task>;

const ADDRESS_OPTIONS = [
  ["v1Registry", "V1 NodeRegistry proxy (default: deployments/<chainId>.json)"],
  ["v1Escrow", "V1 PaymentEscrow proxy (default: deployments/<chainId>.json)"],
  ["v1Marketplace", "V1 JobMarketplace proxy (default: deployments/<chainId>.json)"],
  ["v2Registry", "V2 NodeRegistry proxy (default: deployments/<chainId>.json)"],
  ["v2Escrow", "V2 PaymentEscrow proxy (default: deployments/<chainId>.json)"],
  ["v2Marketplace", "V2 JobMarketplace proxy (default: deployments/<chainId>.json)"],
] as const;

/** The options every migrate:* task shares (lib/migration/engine.ts documents what they do). */
function withMigrateOptions(builder: TaskBuilder): TaskBuilder {
  let b = builder
    .addFlag({ name: "dryRun", description: "Plan and estimate (gas, ETH with the L1 fee, time); send nothing" })
    .addFlag({ name: "json", description: "Print JSON lines, ending with one summary object" })
    .addOption({
      name: "batchSize",
      description: "Records per batch (0 = sized from gas estimates)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({
      name: "maxGasPerTx",
      description: "Gas cap per transaction (0 = the chain's 2^24)",
      type: ArgumentType.BIGINT,
      defaultValue: 0n,
    })
    .addOption({
      name: "maxFeePerGas",
      description: "Wait while the base fee is above this (wei; 0 = no cap)",
      type: ArgumentType.BIGINT,
      defaultValue: 0n,
    })
    .addOption({
      name: "confirmations",
      description: "Blocks each batch waits for before the next",
      type: ArgumentType.INT,
      defaultValue: 1,
    })
    .addOption({ name: "journal", description: "Journal directory", defaultValue: "journal" })
    .addOption({
      name: "snapshot",
      description: "V1 snapshot file (default snapshots/v1-<chainId>.ndjson)",
      defaultValue: "",
    })
    .addOption({
      name: "chainId",
      description: "Refuse to run unless the node is on this chain (0 = any)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({
      name: "rpcTimeout",
      description: "Per JSON-RPC request (ms): a later answer is abandoned and the request retried",
      type: ArgumentType.INT,
      defaultValue: 30_000,
    })
    .addOption({
      name: "fromBlock",
      description: "First block of V2's migration events (-1 = found from V2's deployment)",
      type: ArgumentType.INT,
      defaultValue: -1,
    });
  for (const [name, description] of ADDRESS_OPTIONS) {
    b = b.addOption({ name, description, defaultValue: "" }) as unknown as typeof b;
  }
  return b as TaskBuilder;
}

/**
 * deploy/governance.ts DEFAULT_GOVERNANCE_PARAMETERS, repeated so that loading the config does not
 * load ethers (test/governance/DeployGovernance.ts checks that they agree).
 */
export const GOVERNANCE_OPTION_DEFAULTS = {
  supply: 100_000_000n * 10n ** 18n,
  votingDelay: 86_400n,
  votingPeriod: 7n * 86_400n,
  proposalThreshold: 100_000n * 10n ** 18n,
  quorumPercent: 4n,
  voteExtension: 2n * 86_400n,
  minDelay: 2n * 86_400n,
} as const;

/** Every task of the toolkit. Actions are loaded lazily so `npx hardhat --help` stays fast. */
export const tasks = [
  task("deploy:v1", "Deploy the V1 stack (or what is missing of it) and record it in deployments/<chainId>.json")
    .addOption({
      name: "admin",
      description: "Final holder of the admin roles (default: the deployer)",
      defaultValue: "",
    })
    .addOption({
      name: "treasury",
      description: "Receives fees and slashed stake (default: the deployer)",
      defaultValue: "",
    })
    .setAction(() => import("./deploy-v1.js"))
    .build(),
  task(
    "deploy:governance",
    "Deploy the Governor, its self-administered timelock and (off Base) a FAB votes token; --hand-over puts every recorded proxy under the timelock",
  )
    .addOption({
      name: "fabToken",
      description:
        "The FAB votes token (default: FAB_TOKEN_ADDRESS on Base and Base Sepolia; elsewhere a test token is deployed)",
      defaultValue: "",
    })
    .addOption({
      name: "holder",
      description: "Receives a deployed test token's supply (default: the deployer)",
      defaultValue: "",
    })
    .addOption({
      name: "supply",
      description: "A deployed test token's supply (wei of FAB)",
      type: ArgumentType.BIGINT,
      defaultValue: GOVERNANCE_OPTION_DEFAULTS.supply,
    })
    .addOption({
      name: "votingDelay",
      description: "Between a proposal and its vote (the token's clock units: seconds for FabstirVotes)",
      type: ArgumentType.BIGINT,
      defaultValue: GOVERNANCE_OPTION_DEFAULTS.votingDelay,
    })
    .addOption({
      name: "votingPeriod",
      description: "How long a vote lasts (the token's clock units)",
      type: ArgumentType.BIGINT,
      defaultValue: GOVERNANCE_OPTION_DEFAULTS.votingPeriod,
    })
    .addOption({
      name: "proposalThreshold",
      description: "Votes an account needs to propose (wei of FAB)",
      type: ArgumentType.BIGINT,
      defaultValue: GOVERNANCE_OPTION_DEFAULTS.proposalThreshold,
    })
    .addOption({
      name: "quorumPercent",
      description: "Percent of the supply that must vote for or abstain (1-100)",
      type: ArgumentType.BIGINT,
      defaultValue: GOVERNANCE_OPTION_DEFAULTS.quorumPercent,
    })
    .addOption({
      name: "voteExtension",
      description:
        "How long a vote stays open at least after the vote that reaches the quorum (the token's clock units; at most the voting period)",
      type: ArgumentType.BIGINT,
      defaultValue: GOVERNANCE_OPTION_DEFAULTS.voteExtension,
    })
    .addOption({
      name: "minDelay",
      description: "Seconds a passed proposal waits in the timelock",
      type: ArgumentType.BIGINT,
      defaultValue: GOVERNANCE_OPTION_DEFAULTS.minDelay,
    })
    .addFlag({
      name: "handOver",
      description:
        "Give the timelock every role the deployer holds on each recorded V1/V2 proxy; the deployer renounces them",
    })
    .setAction(() => import("./deploy-governance.js"))
    .build(),
  task("fixtures:seed", "Seed deterministic, realistic V1 state: nodes, jobs in every status, escrow balances")
    .addOption({ name: "nodes", description: "Nodes to register", type: ArgumentType.INT, defaultValue: 20 })
    .addOption({
      name: "jobs",
      description: "Jobs to post and walk through their lifecycle",
      type: ArgumentType.INT,
      defaultValue: 200,
    })
    .addOption({
      name: "users",
      description: "Users holding escrow balances and posting jobs",
      type: ArgumentType.INT,
      defaultValue: 20,
    })
    .addOption({ name: "seed", description: "Seed of the deterministic generator", defaultValue: "1" })
    .setAction(() => import("./fixtures-seed.js"))
    .build(),
  withMigrateOptions(task("migrate:check", "Check that the migration can start: versions, roles, pause, drain, tokens"))
    .setAction(() => import("./migrate-check.js"))
    .build(),
  withMigrateOptions(
    task("migrate:plan", "Plan every copy step from real estimates: batches, gas, ETH, time; sends nothing"),
  )
    .setAction(() => import("./migrate-plan.js"))
    .build(),
  withMigrateOptions(task("migrate:snapshot", "Write V1's state at one pinned block to the snapshot file (the backup)"))
    .setAction(() => import("./migrate-snapshot.js"))
    .build(),
  withMigrateOptions(
    task(
      "migrate:nodes",
      "Copy nodes (the snapshot's records) and their stakes to V2 through V1.1, in gas-sized batches",
    ),
  )
    .setAction(() => import("./migrate-nodes.js"))
    .build(),
  withMigrateOptions(task("migrate:jobs", "Import V1's finished jobs into V2 from the snapshot, in batches"))
    .setAction(() => import("./migrate-jobs.js"))
    .build(),
  withMigrateOptions(task("migrate:escrow", "Move escrow balances and their funds to V2 through V1.1, in batches"))
    .setAction(() => import("./migrate-escrow.js"))
    .build(),
  withMigrateOptions(task("migrate:all", "check, snapshot, nodes, jobs, escrow, verify and finalize in one run"))
    .setAction(() => import("./migrate-all.js"))
    .build(),
  withMigrateOptions(
    task("migrate:verify", "Three-way check of V2 against V1's snapshot: commitments, counts, totals, rules"),
  )
    .setAction(() => import("./migrate-verify.js"))
    .build(),
  withMigrateOptions(task("migrate:finalize", "Finalize V2 against the snapshot's commitments and funds; opens V2"))
    .setAction(() => import("./migrate-finalize.js"))
    .build(),
  withMigrateOptions(
    task("migrate:rollback", "Take every batch back to V1 (before finalize) and check V1 equals its snapshot"),
  )
    .addFlag({ name: "unpause", description: "Reopen V1 afterwards (needs PAUSER_ROLE)" })
    .setAction(() => import("./migrate-rollback.js"))
    .build(),
  withMigrateOptions(task("migrate:status", "Cursors, counts, batches, finalized flags and pending journal entries"))
    .setAction(() => import("./migrate-status.js"))
    .build(),
  withMigrateOptions(
    task("migrate:handover", "Grant V2's admin, upgrader and pauser roles to governance; renounce the operator's"),
  )
    .addOption({ name: "governance", description: "The address that receives V2's roles", defaultValue: "" })
    .setAction(() => import("./migrate-handover.js"))
    .build(),
  withMigrateOptions(
    task(
      "migrate:dashboard",
      "Serve a live dashboard (progress, transactions, journal, verification) with pause, resume and rollback; or --attach read-only",
    ),
  )
    .addOption({
      name: "port",
      description: "Port to serve on (0 = any free port)",
      type: ArgumentType.INT,
      defaultValue: 8686,
    })
    .addOption({
      name: "host",
      description: "Interface to bind; anything but loopback needs the DASHBOARD_TOKEN config variable",
      defaultValue: "127.0.0.1",
    })
    .addFlag({
      name: "attach",
      description: "Follow a run in another process (its --journal, and --events): read-only",
    })
    .addOption({
      name: "events",
      description: "With --attach: the other run's --json output file (migrate:all --json > run.jsonl)",
      defaultValue: "",
    })
    .addFlag({
      name: "seed",
      description: "Development chains: seed V1 and open the migration first, as migrate:demo does",
    })
    .addOption({ name: "nodes", description: "With --seed: nodes to seed", type: ArgumentType.INT, defaultValue: 20 })
    .addOption({ name: "jobs", description: "With --seed: jobs to seed", type: ArgumentType.INT, defaultValue: 200 })
    .addOption({ name: "users", description: "With --seed: users to seed", type: ArgumentType.INT, defaultValue: 20 })
    .addOption({
      name: "generatorSeed",
      description: "With --seed: seed of the deterministic generator",
      defaultValue: "dashboard",
    })
    .addOption({
      name: "blockTime",
      description: "Development chains: mine a block every N ms instead of one per transaction (0 = automine)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addFlag({
      name: "startPaused",
      description: "Run the checks and snapshot, then wait for Resume before the first batch",
    })
    .setAction(() => import("./migrate-dashboard.js"))
    .build(),
  task(
    "migrate:demo",
    "The whole story on the in-process chain: V1 under governance, freeze proposal, migration, verification, cut-over proposal rehearsed, report",
  )
    .addOption({ name: "nodes", description: "Nodes to seed", type: ArgumentType.INT, defaultValue: 500 })
    .addOption({ name: "jobs", description: "Jobs to seed", type: ArgumentType.INT, defaultValue: 5000 })
    .addOption({ name: "users", description: "Users to seed", type: ArgumentType.INT, defaultValue: 500 })
    .addOption({ name: "seed", description: "Seed of the deterministic generator", defaultValue: "1" })
    .addOption({ name: "reports", description: "Directory of the report files", defaultValue: "reports" })
    .addFlag({ name: "json", description: "Print JSON lines, ending with one summary object" })
    .setAction(() => import("./migrate-demo.js"))
    .build(),
  task(
    "upgrade:adapter",
    "Generate contracts/adapters/<Contract>V1Adapter.sol from V1, V2 and adapters/<Contract>.json",
  )
    .addOption({
      name: "from",
      description: "V1 contract (fully qualified name; default: the mapping's)",
      defaultValue: "",
    })
    .addOption({
      name: "to",
      description: "V2 contract (fully qualified name; default: the mapping's)",
      defaultValue: "",
    })
    .addOption({ name: "mapping", description: "Mapping file (default: all of adapters/*.json)", defaultValue: "" })
    .addFlag({ name: "check", description: "Regenerate in memory; fail naming every stale adapter" })
    .setAction(() => import("./upgrade-adapter.js"))
    .build(),
  task("upgrade:diff", "Review upgrades (ABI, storage, code size, version, NatSpec) into audits/ as Markdown and JSON")
    .addOption({
      name: "from",
      description: "Old implementation (fully qualified name); default: the V1 → V2 set",
      defaultValue: "",
    })
    .addOption({ name: "to", description: "New implementation (fully qualified name)", defaultValue: "" })
    .addOption({
      name: "fromBuildInfo",
      description: "Build-info directory of --from (Hardhat or Foundry); default: this project",
      defaultValue: "",
    })
    .addOption({
      name: "toBuildInfo",
      description: "Build-info directory of --to (Hardhat or Foundry); default: this project",
      defaultValue: "",
    })
    .addOption({
      name: "out",
      description: "Report directory (default audits/v1-to-v2, or audits/<From>-to-<To>)",
      defaultValue: "",
    })
    .addFlag({ name: "json", description: "Print the reviews as JSON on stdout instead of writing files" })
    .addFlag({ name: "check", description: "Regenerate in memory; fail naming every stale, missing or extra file" })
    .setAction(() => import("./upgrade-diff.js"))
    .build(),
  task(
    "upgrade:propose",
    "Build a governance proposal (pause-v1, upgrade, grant-migrator, cutover, custom): proposal JSON, Safe batch, summary",
  )
    .addOption({
      name: "action",
      description:
        "Comma-separated actions, calls concatenated in this order: upgrade, pause-v1, grant-migrator, cutover, custom",
      defaultValue: "",
    })
    .addOption({ name: "title", description: "The proposal's title (first line of the description)", defaultValue: "" })
    .addOption({ name: "body", description: "The description's body (Markdown)", defaultValue: "" })
    .addOption({ name: "bodyFile", description: "Read the body from this file instead", defaultValue: "" })
    .addOption({
      name: "proposer",
      description: "The address bound by #proposer= (default: the signer)",
      defaultValue: "",
    })
    .addOption({
      name: "upgrade",
      description:
        "Proxies to upgrade, RecordName=NewArtifact,… (default: NodeRegistryV1=NodeRegistryV1_1,PaymentEscrowV1=PaymentEscrowV1_1)",
      defaultValue: "",
    })
    .addOption({
      name: "upgradeCall",
      description: "RecordName=0x<calldata>,…: the call made with an upgrade instead of the known one (0x for none)",
      defaultValue: "",
    })
    .addOption({ name: "operator", description: "The migration operator (grant-migrator)", defaultValue: "" })
    .addOption({
      name: "snapshot",
      description: "V1 snapshot the cut-over finalizes against (default snapshots/v1-<chainId>.ndjson)",
      defaultValue: "",
    })
    .addOption({ name: "calls", description: "JSON file of calls (custom)", defaultValue: "" })
    .addOption({
      name: "safe",
      description: "The Safe that would execute the batch instead (createdFromSafeAddress)",
      defaultValue: "",
    })
    .addOption({
      name: "out",
      description: "Output directory (default proposals/<chainId>/<actions>-<first 8 digits of the id>/)",
      defaultValue: "",
    })
    .addFlag({ name: "submit", description: "Also call the Governor's propose from the signer (the proposer)" })
    .addFlag({ name: "json", description: "Print the proposal JSON instead of writing the files" })
    .setAction(() => import("./upgrade-propose.js"))
    .build(),
  task(
    "upgrade:simulate",
    "Rehearse a proposal on a development chain or fork: propose, vote, queue, execute, post-checks",
  )
    .addOption({
      name: "proposal",
      description: "The proposal JSON written by upgrade:propose, or the decimal id of a proposal on chain",
      defaultValue: "",
    })
    .addOption({
      name: "voters",
      description: "Comma-separated voters (default: the largest delegates until quorum and majority)",
      defaultValue: "",
    })
    .addOption({
      name: "report",
      description: "Directory of the <proposalId>.md and .json reports (default reports/simulations)",
      defaultValue: "",
    })
    .addOption({
      name: "fromBlock",
      description: "First block of the Governor's and token's events (-1 = recorded, or 0 on a dev chain)",
      type: ArgumentType.INT,
      defaultValue: -1,
    })
    .addOption({
      name: "governor",
      description: "The Governor of a proposal given by id (default: deployments/<chainId>.json)",
      defaultValue: "",
    })
    .addFlag({ name: "json", description: "Print the report as JSON instead of Markdown" })
    .setAction(() => import("./upgrade-simulate.js"))
    .build(),
  task("upgrade:execute", "Queue a succeeded proposal, or execute a queued one once the timelock allows it")
    .addOption({ name: "proposalId", description: "The proposal's decimal id", defaultValue: "" })
    .addOption({
      name: "fromBlock",
      description: "First block to search for ProposalCreated (-1 = recorded, or 0 on a dev chain)",
      type: ArgumentType.INT,
      defaultValue: -1,
    })
    .addOption({
      name: "governor",
      description: "The Governor (default: deployments/<chainId>.json)",
      defaultValue: "",
    })
    .addFlag({ name: "dryRun", description: "Estimate the gas and send nothing" })
    .setAction(() => import("./upgrade-execute.js"))
    .build(),
  task(
    "schema:migrate",
    "Bring the off-chain store's job records to a schema version, up or down, one transaction per step",
  )
    .addOption({ name: "to", description: "The schema version to reach (0 = empty store)", defaultValue: "" })
    .addFlag({ name: "dryRun", description: "Convert and validate in memory, report the steps; write nothing" })
    .addOption({ name: "store", description: "The store file (default .fabstir/store.db)", defaultValue: "" })
    .setAction(() => import("./schema-migrate.js"))
    .build(),
  task("schema:status", "The off-chain store's schema version, its applied migrations and their checksums")
    .addOption({ name: "store", description: "The store file (default .fabstir/store.db)", defaultValue: "" })
    .addFlag({
      name: "check",
      description: "Also read every page of the store (SQLite quick_check): a damaged one is refused",
    })
    .setAction(() => import("./schema-status.js"))
    .build(),
  task(
    "api:migrate",
    "Migrate a Fabstir API v1 request (and its response) to v2; report renames, unknown and deprecated fields",
  )
    .addOption({
      name: "request",
      description: "Request file { method, url, headers, body }, or a { request, response } pair (docs/offchain.md)",
      defaultValue: "",
    })
    .addOption({
      name: "response",
      description: "Response file { status, headers, body } answering --request, migrated too",
      defaultValue: "",
    })
    .addOption({
      name: "codegen",
      description: "Print before-and-after client code: js, python or go",
      defaultValue: "",
    })
    .addFlag({ name: "strict", description: "Refuse unknown fields instead of keeping them under x-v1-unmapped" })
    .addFlag({ name: "json", description: "Print one JSON object: request, report, response, codegen" })
    .setAction(() => import("./api-migrate.js"))
    .build(),
  task(
    "platform:import",
    "Import a user's job history from OpenAI, Hugging Face or Replicate: map models, price in wei, plan migration credits",
  )
    .addOption({ name: "from", description: "The platform: openai, huggingface or replicate", defaultValue: "" })
    .addOption({ name: "input", description: "The platform's export file (docs/offchain.md)", defaultValue: "" })
    .addOption({
      name: "out",
      description: "Write the import bundle (JSON) to this file, atomically",
      defaultValue: "",
    })
    .addOption({
      name: "user",
      description: "The Fabstir user (0x address; default: the network's first account)",
      defaultValue: "",
    })
    .addOption({
      name: "rate",
      description: "ETH per USD as a decimal, e.g. 0.00031 (or --price-feed)",
      defaultValue: "",
    })
    .addOption({
      name: "priceFeed",
      description: "A Chainlink ETH / USD AggregatorV3 feed to price with (or --rate)",
      defaultValue: "",
    })
    .addOption({
      name: "maxAge",
      description: "Refuse a feed round older than this many seconds (default 3600: the feed's longest heartbeat)",
      defaultValue: "",
    })
    .addOption({
      name: "sequencerFeed",
      description: "Chainlink L2 sequencer uptime feed to check before --price-feed (required on Base)",
      defaultValue: "",
    })
    .addOption({
      name: "sequencerGrace",
      description: "Refuse the price until the sequencer has been up this many seconds (default 3600)",
      defaultValue: "",
    })
    .addOption({ name: "models", description: "The model map (default models/map.json)", defaultValue: "" })
    .addFlag({ name: "includeContent", description: "Copy prompts and outputs into the bundle (off: hashes only)" })
    .addOption({ name: "store", description: "The store file (default .fabstir/store.db)", defaultValue: "" })
    .addFlag({
      name: "apply",
      description: "Grant the credits on PaymentEscrowV2, then write the jobs into the store (one transaction)",
    })
    .addOption({
      name: "escrow",
      description: "PaymentEscrowV2 to grant from with --apply (default: deployments/<chainId>.json)",
      defaultValue: "",
    })
    .addFlag({ name: "json", description: "Print one JSON object: bundle, leftOut, store, credit" })
    .setAction(() => import("./platform-import.js"))
    .build(),
  task("platform:history", "A user's jobs in the off-chain store, oldest first: platform, model mapping, cost")
    .addOption({ name: "user", description: "The user (0x address)", defaultValue: "" })
    .addOption({ name: "store", description: "The store file (default .fabstir/store.db)", defaultValue: "" })
    .addOption({
      name: "models",
      description: "The model map for the Fabstir column (default models/map.json)",
      defaultValue: "",
    })
    .addOption({ name: "limit", description: "At most this many jobs (the oldest)", defaultValue: "" })
    .addOption({
      name: "escrow",
      description: "Also show the user's live migration credits on this PaymentEscrowV2",
      defaultValue: "",
    })
    .addFlag({ name: "json", description: "Print one JSON object: rows, totals and credits" })
    .setAction(() => import("./platform-history.js"))
    .build(),
  task("bench", "Benchmark: the toolkit against the migration guide's approach and the physical floor (dev chains)")
    .addFlag({ name: "quick", description: "Small sizes: 40 nodes, 400 jobs, 40 users (CI)" })
    .addFlag({ name: "json", description: "Print one JSON object with stable keys instead of the Markdown table" })
    .addOption({
      name: "nodes",
      description: "Nodes to seed (0 = 2,000, or 40 with --quick)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({
      name: "jobs",
      description: "Jobs to seed (0 = 20,000, or 400 with --quick)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({
      name: "users",
      description: "Escrow users to seed (0 = 2,000, or 40 with --quick)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({ name: "seed", description: "Seed of the deterministic generator", defaultValue: "bench" })
    .setAction(() => import("./bench.js"))
    .build(),
  task("reliability", "Crash-and-resume and RPC-fault trials of migrate:all on its own anvil node, with figures")
    .addFlag({ name: "quick", description: "5 crash trials and one short RPC-fault run (CI)" })
    .addFlag({ name: "json", description: "Print one JSON object instead of the Markdown table" })
    .addFlag({ name: "keep", description: "Keep the trials' journals and snapshots in the temporary directory" })
    .addOption({
      name: "seed",
      description: "Seed of the state, the crash points and the proxy's faults",
      defaultValue: "reliability",
    })
    .addOption({
      name: "crashTrials",
      description: "Crash trials (0 = 20, or 5 with --quick)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({
      name: "rpcTrials",
      description: "RPC-fault runs (0 = 3, or 1 with --quick)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({
      name: "reorgTrials",
      description: "Reorg and dropped-batch trials (0 = 6, or 2 with --quick)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({
      name: "nonceFeeTrials",
      description: "Taken-nonce and base-fee trials (0 = 4, or 2 with --quick)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({
      name: "families",
      description: "Comma-separated families to run: crash, rpc, reorg, nonce-fee, hostile, contracts (default: all)",
      defaultValue: "",
    })
    .setAction(() => import("./reliability.js"))
    .build(),
];
