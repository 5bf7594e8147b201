import { getAddress, id, isAddress } from "ethers";

/**
 * Proposal descriptions and OpenZeppelin's front-running guard. A Governor description that ends
 * in `#proposer=0x<40 hex digits>` can only be proposed by that address; anything after the
 * suffix (a newline, a space, a second line of text) makes the Governor ignore it without a word,
 * so the guard is silently off. The toolkit therefore appends the suffix itself and refuses any
 * description in which it is not the very end.
 */

const SUFFIX_MARKER = "#proposer=";
const SUFFIX = /#proposer=(0x[0-9a-fA-F]{40})$/;

/** A description the toolkit will not submit, with what to change. */
export class DescriptionError extends Error {
  override name = "DescriptionError";
}

/** `text` followed by the proposer suffix. `text` must not carry a suffix of its own. */
export function withProposerSuffix(text: string, proposer: string): string {
  if (!isAddress(proposer)) throw new DescriptionError(`The proposer "${proposer}" is not an address.`);
  if (text.includes(SUFFIX_MARKER)) {
    throw new DescriptionError(
      `The description already contains "${SUFFIX_MARKER}": leave it out, the toolkit appends the proposer itself.`,
    );
  }
  return `${text}${SUFFIX_MARKER}${getAddress(proposer)}`;
}

/**
 * The proposer a description is bound to. Refuses a description without the suffix, with the
 * marker anywhere but in the suffix, or with anything after it.
 */
export function proposerOf(description: string): string {
  const match = SUFFIX.exec(description);
  const first = description.indexOf(SUFFIX_MARKER);
  if (match === null) {
    throw new DescriptionError(
      first === -1
        ? `The description does not end in "${SUFFIX_MARKER}<address>": without it anyone can front-run the proposal.`
        : `The description has text after "${SUFFIX_MARKER}<address>" (at character ${first}): the Governor would ignore the suffix and anyone could front-run the proposal. Remove what follows the address.`,
    );
  }
  if (first !== match.index) {
    throw new DescriptionError(
      `The description contains "${SUFFIX_MARKER}" more than once (first at character ${first}): keep only the final suffix.`,
    );
  }
  return getAddress(match[1] as string);
}

/** `keccak256(bytes(description))`, what the Governor's queue, execute and cancel take. */
export function descriptionHash(description: string): string {
  return id(description);
}
