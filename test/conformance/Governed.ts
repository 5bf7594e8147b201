import { expect } from "chai";
import type { GovernedUpgradeable } from "../../typechain-types/index.js";
import { ethers } from "../helpers/fixtures.js";
import { CONTRACTS, conformanceIt, type ContractKey, type Target } from "./targets.js";

/** ERC-165 ids a V1 contract reports: IERC165 and IAccessControl. */
const IERC165_ID = "0x01ffc9a7";
const IACCESS_CONTROL_ID = "0x7965db0b";

/**
 * The governance surface every V1 contract shares (GovernedUpgradeable: AccessControl, Pausable,
 * UUPS), as a caller of the V1 proxy sees it. Behind the adapters these are the adapter's own
 * roles, pause and upgrade guard, which keep V1's (the roles live in the proxy's storage).
 */
export function describeGovernedConformance(target: Target): void {
  const it = conformanceIt(target);
  for (const key of Object.keys(CONTRACTS) as ContractKey[]) {
    describe(`${CONTRACTS[key]} governance surface`, () => {
      async function setup() {
        const s = await target.load();
        // The recording V1 proxy, seen through the surface the three share.
        const contract = s[key] as unknown as GovernedUpgradeable;
        const stranger = s.signers[6];
        if (stranger === undefined) throw new Error("the test chain needs seven accounts");
        return { ...s, contract, stranger };
      }

      it("reports its interfaces through ERC-165", async () => {
        const { contract } = await setup();
        expect(await contract.supportsInterface(IERC165_ID)).to.equal(true);
        expect(await contract.supportsInterface(IACCESS_CONTROL_ID)).to.equal(true);
        expect(await contract.supportsInterface("0xffffffff")).to.equal(false);
      });

      it("has every role administered by DEFAULT_ADMIN_ROLE", async () => {
        const { contract } = await setup();
        const admin = await contract.DEFAULT_ADMIN_ROLE();
        for (const role of [admin, await contract.PAUSER_ROLE(), await contract.UPGRADER_ROLE()]) {
          expect(await contract.getRoleAdmin(role)).to.equal(admin);
        }
      });

      it("pause and unpause are reserved to PAUSER_ROLE, which the admin grants and revokes", async () => {
        const { contract, admin, stranger } = await setup();
        const role = await contract.PAUSER_ROLE();
        await expect(contract.connect(stranger).pause())
          .to.be.revertedWithCustomError(contract, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, role);
        await expect(contract.connect(admin).grantRole(role, stranger.address))
          .to.emit(contract, "RoleGranted")
          .withArgs(role, stranger.address, admin.address);
        await expect(contract.connect(stranger).pause()).to.emit(contract, "Paused").withArgs(stranger.address);
        expect(await contract.paused()).to.equal(true);
        await expect(contract.connect(admin).revokeRole(role, stranger.address))
          .to.emit(contract, "RoleRevoked")
          .withArgs(role, stranger.address, admin.address);
        expect(await contract.hasRole(role, stranger.address)).to.equal(false);
        await expect(contract.connect(stranger).unpause())
          .to.be.revertedWithCustomError(contract, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, role);
        await expect(contract.connect(admin).unpause()).to.emit(contract, "Unpaused").withArgs(admin.address);
        expect(await contract.paused()).to.equal(false);
      });

      it("lets a holder renounce its own role, and only its own", async () => {
        const { contract, admin, stranger } = await setup();
        const role = await contract.PAUSER_ROLE();
        await (await contract.connect(admin).grantRole(role, stranger.address)).wait();
        await expect(contract.connect(admin).renounceRole(role, stranger.address)).to.be.revertedWithCustomError(
          contract,
          "AccessControlBadConfirmation",
        );
        await expect(contract.connect(stranger).renounceRole(role, stranger.address))
          .to.emit(contract, "RoleRevoked")
          .withArgs(role, stranger.address, stranger.address);
        expect(await contract.hasRole(role, stranger.address)).to.equal(false);
      });

      it("only the admin grants and revokes roles", async () => {
        const { contract, stranger } = await setup();
        const adminRole = await contract.DEFAULT_ADMIN_ROLE();
        const role = await contract.PAUSER_ROLE();
        await expect(contract.connect(stranger).grantRole(role, stranger.address))
          .to.be.revertedWithCustomError(contract, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, adminRole);
        await expect(contract.connect(stranger).revokeRole(role, stranger.address))
          .to.be.revertedWithCustomError(contract, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, adminRole);
      });

      it("is a UUPS proxy: UPGRADE_INTERFACE_VERSION 5.0.0, proxiableUUID only on the implementation", async () => {
        const { contract } = await setup();
        expect(await contract.UPGRADE_INTERFACE_VERSION()).to.equal("5.0.0");
        // Called through the proxy, proxiableUUID refuses: an upgrade to a proxy would brick it.
        await expect(contract.proxiableUUID()).to.be.revertedWithCustomError(contract, "UUPSUnauthorizedCallContext");
      });

      it("upgradeToAndCall by an account without UPGRADER_ROLE reverts", async () => {
        const { contract, stranger } = await setup();
        const implementation = await ethers.deployContract(CONTRACTS[key]);
        await expect(contract.connect(stranger).upgradeToAndCall(await implementation.getAddress(), "0x"))
          .to.be.revertedWithCustomError(contract, "AccessControlUnauthorizedAccount")
          .withArgs(stranger.address, await contract.UPGRADER_ROLE());
      });
    });
  }
}
