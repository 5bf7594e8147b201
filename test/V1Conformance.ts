import { describeGovernedConformance } from "./conformance/Governed.js";
import { describeJobMarketplaceConformance } from "./conformance/JobMarketplace.js";
import { describeNodeRegistryConformance } from "./conformance/NodeRegistry.js";
import { describePaymentEscrowConformance } from "./conformance/PaymentEscrow.js";
import { v1Target } from "./conformance/targets.js";
import { describeV1Functions } from "./conformance/V1Functions.js";

/**
 * The V1 conformance suite: the tests that describe V1's external behaviour, run against V1
 * itself and against the V1 proxies upgraded to the adapters forwarding to V2 after a migration.
 * Each target ends with one test per V1 function: exercised by the suite, or deprecated.
 */
for (const target of [v1Target]) {
  describeNodeRegistryConformance(target);
  describePaymentEscrowConformance(target);
  describeJobMarketplaceConformance(target);
  describeGovernedConformance(target);
  describeV1Functions(target);
}
