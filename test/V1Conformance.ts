import { adapterTarget } from "./conformance/adapterTarget.js";
import { describeGovernedConformance } from "./conformance/Governed.js";
import { describeJobMarketplaceConformance } from "./conformance/JobMarketplace.js";
import { describeMigratedStateConformance } from "./conformance/MigratedState.js";
import { describeNodeRegistryConformance } from "./conformance/NodeRegistry.js";
import { describePaymentEscrowConformance } from "./conformance/PaymentEscrow.js";
import { v1Target, type Target } from "./conformance/targets.js";
import { describeV1Functions } from "./conformance/V1Functions.js";

/**
 * The V1 conformance suite: the tests that describe V1's external behaviour, run against V1
 * itself and against the V1 proxies upgraded to the adapters forwarding to V2 after a migration:
 * once with the operator playing governance, once as on Base, where the Governor's proposals
 * freeze V1, open the migration, finalize it and cut over (the end of the governed story,
 * test/governance/Story.ts). Each target ends with one test per V1 function: exercised by the
 * suite, or deprecated.
 */
const targets: Target[] = [v1Target, adapterTarget(), adapterTarget("governed")];

for (const target of targets) {
  describe(`V1 conformance [${target.name}]`, function () {
    // The adapter target's fixture seeds, migrates, finalizes and cuts over once (then snapshots).
    this.timeout(300_000);
    describeNodeRegistryConformance(target);
    describePaymentEscrowConformance(target);
    describeJobMarketplaceConformance(target);
    describeGovernedConformance(target);
    describeMigratedStateConformance(target);
    describeV1Functions(target);
  });
}
