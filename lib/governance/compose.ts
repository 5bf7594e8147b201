import { buildActions, requireRecorded, type ActionContext, type ActionOptions } from "./actions/index.js";
import { decodeCalls } from "./decode.js";
import { buildProposal } from "./proposal.js";
import type { ProposalAction, ProposalFile } from "./types.js";

/** Where a proposal is built: the chain and its record, the preparer, who proposes, the project root. */
export interface ComposeContext extends ActionContext {
  /** The address the description binds (`#proposer=`). */
  proposer: string;
  /** The project root: decoded upgrades link the reviews under `<root>/audits/`. */
  root: string;
}

/** What a proposal does and says. */
export interface ProposalSpec {
  actions: readonly ProposalAction[];
  options: ActionOptions;
  title: string;
  body: string;
}

/**
 * A whole proposal for the record's Governor: the actions' calls (implementations prepared and
 * validated), decoded for reviewers, with the description, its hash and the ids. `warnings` are
 * what a reviewer should know that does not stop the proposal.
 */
export async function composeProposal(
  ctx: ComposeContext,
  spec: ProposalSpec,
): Promise<{ proposal: ProposalFile; warnings: string[] }> {
  const governor = requireRecorded(ctx.record, "FabstirGovernor", "A proposal");
  const timelock = requireRecorded(ctx.record, "FabstirTimelock", "A proposal");
  const built = await buildActions(spec.actions, spec.options, ctx);
  const calls = decodeCalls(built.calls, { record: ctx.record, upgrades: built.upgrades, root: ctx.root });
  const proposal = buildProposal({
    action: spec.actions,
    chainId: ctx.chainId,
    governor,
    timelock,
    proposer: ctx.proposer,
    title: spec.title,
    body: spec.body,
    calls,
    upgrades: built.upgrades,
  });
  return { proposal, warnings: built.warnings };
}
