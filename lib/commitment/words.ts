import { RecordError } from "./errors.js";
import { keccak256Into } from "./keccak.js";

/**
 * ABI words written straight into a reusable buffer, each value checked first. This is the
 * part of `abi.encode` the records need (uintN, address, bool, bytes32, string, bytes32[]),
 * without ethers' per-value objects; tests pin every encoding byte for byte against
 * `AbiCoder.encode`. A value that `abi.encode` would refuse (out of range, malformed) is refused
 * here with the field's name, never truncated: a silently different leaf would only surface as a
 * commitment mismatch at finalize.
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** Hex digit value by character code; -1 for anything else. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  NIBBLE["0123456789abcdef".charCodeAt(i)] = i;
  NIBBLE["0123456789ABCDEF".charCodeAt(i)] = i;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_32 = 2 ** 32;
const utf8 = new TextEncoder();

/** The growable scratch buffer records are encoded into (one encoding at a time). */
export const scratch: { bytes: Uint8Array<ArrayBuffer>; ensure(size: number, keep: number): Uint8Array<ArrayBuffer> } =
  {
    bytes: new Uint8Array(4096),
    /** Makes room for `size` bytes, keeping the first `keep` bytes. */
    ensure(size: number, keep: number): Uint8Array<ArrayBuffer> {
      if (size > this.bytes.length) {
        const grown = new Uint8Array(Math.max(size, 2 * this.bytes.length));
        grown.set(this.bytes.subarray(0, keep));
        this.bytes = grown;
      }
      return this.bytes;
    },
  };

export function describe(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return String(value);
}

/** `bytes[start, end)` as 0x-prefixed lowercase hex. */
export function toHex(bytes: Uint8Array, start: number, end: number): string {
  let hex = "0x";
  for (let i = start; i < end; i++) hex += HEX[bytes[i]!];
  return hex;
}

/** Decodes `count` bytes of hex from `text` at `from` into `out` at `at`; false on a non-hex digit. */
function decodeHex(text: string, from: number, count: number, out: Uint8Array, at: number): boolean {
  for (let i = 0; i < count; i++) {
    const hi = NIBBLE[text.charCodeAt(from + 2 * i)] ?? -1;
    const lo = NIBBLE[text.charCodeAt(from + 2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0) return false;
    out[at + i] = (hi << 4) | lo;
  }
  return true;
}

const UINT_MAX = Array.from({ length: 33 }, (_, bytes) => (1n << BigInt(8 * bytes)) - 1n);

/** Writes an unsigned integer of at most `bits` bits (a multiple of 8) as one word. */
export function writeUint(out: Uint8Array, at: number, value: unknown, bits: number, field: string): void {
  if (typeof value !== "bigint" || value < 0n || value > UINT_MAX[bits / 8]!) {
    throw new RecordError(`${field} must be a uint${bits} (a bigint from 0 to 2^${bits} - 1), got ${describe(value)}`);
  }
  out.fill(0, at, at + 32);
  if (value <= MAX_SAFE) {
    // Most values (times, counts, small amounts) fit a double: no bigint arithmetic per byte.
    const n = Number(value);
    writeUint32(out, at + 28, n >>> 0);
    writeUint32(out, at + 24, Math.floor(n / TWO_32));
  } else {
    const hex = value.toString(16);
    const even = hex.length % 2 === 0 ? hex : `0${hex}`;
    decodeHex(even, 0, even.length / 2, out, at + 32 - even.length / 2);
  }
}

function writeUint32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24;
  out[at + 1] = n >>> 16;
  out[at + 2] = n >>> 8;
  out[at + 3] = n;
}

/** Writes a word holding a small non-negative integer (a length or an offset). */
export function writeLength(out: Uint8Array, at: number, n: number): void {
  out.fill(0, at, at + 28);
  writeUint32(out, at + 28, n);
}

export function writeBool(out: Uint8Array, at: number, value: unknown, field: string): void {
  if (typeof value !== "boolean") throw new RecordError(`${field} must be a boolean, got ${describe(value)}`);
  out.fill(0, at, at + 31);
  out[at + 31] = value ? 1 : 0;
}

export function writeBytes32(out: Uint8Array, at: number, value: unknown, field: string): void {
  if (
    typeof value !== "string" ||
    value.length !== 66 ||
    !value.startsWith("0x") ||
    !decodeHex(value, 2, 32, out, at)
  ) {
    throw new RecordError(`${field} must be 32 bytes as 0x-prefixed hex (66 characters), got ${describe(value)}`);
  }
}

const addressAscii = new Uint8Array(40);
const addressHash = new Uint8Array(32);
/**
 * Checksummed addresses already verified. Real state repeats addresses (renters, hosts, the few
 * tokens), and verifying a checksum costs a hash; cleared when full so memory stays bounded.
 */
const verified = new Set<string>();
const VERIFIED_LIMIT = 1 << 18;

/**
 * Writes an address (0x and 40 hex digits) as one word. Mixed case must be a valid EIP-55
 * checksum, as ethers and wallets require; all-lowercase and all-uppercase carry no checksum.
 */
export function writeAddress(out: Uint8Array, at: number, value: unknown, field: string): void {
  if (
    typeof value !== "string" ||
    value.length !== 42 ||
    !value.startsWith("0x") ||
    !decodeHex(value, 2, 20, out, at + 12)
  ) {
    throw new RecordError(`${field} must be an address (0x and 40 hex digits), got ${describe(value)}`);
  }
  out.fill(0, at, at + 12);
  if (verified.has(value)) return;
  let upper = false;
  let lower = false;
  for (let i = 2; i < 42; i++) {
    const c = value.charCodeAt(i);
    if (c >= 97) lower = true;
    else if (c >= 65) upper = true;
  }
  if (!upper || !lower) return;
  if (!hasValidChecksum(value)) {
    throw new RecordError(`${field} has a bad EIP-55 checksum: ${value} (expected ${checksummed(value)})`);
  }
  if (verified.size >= VERIFIED_LIMIT) verified.clear();
  verified.add(value);
}

/** Hashes the address's lowercase hex digits (the EIP-55 input) into `addressHash`. */
function hashLowercase(address: string): void {
  for (let i = 0; i < 40; i++) {
    const c = address.charCodeAt(i + 2);
    addressAscii[i] = c >= 65 && c <= 70 ? c + 32 : c;
  }
  keccak256Into(addressAscii, 0, 40, addressHash, 0);
}

/** EIP-55: a hex letter is upper case exactly where the hash's nibble at its position is >= 8. */
function upperAt(i: number): boolean {
  const byte = addressHash[i >> 1]!;
  return (i % 2 === 0 ? byte >> 4 : byte & 15) >= 8;
}

function hasValidChecksum(address: string): boolean {
  hashLowercase(address);
  for (let i = 0; i < 40; i++) {
    const c = address.charCodeAt(i + 2);
    if (c >= 97 ? upperAt(i) : c >= 65 && !upperAt(i)) return false;
  }
  return true;
}

function checksummed(address: string): string {
  hashLowercase(address);
  let result = "0x";
  for (let i = 0; i < 40; i++) {
    const char = address[i + 2]!.toLowerCase();
    result += upperAt(i) ? char.toUpperCase() : char;
  }
  return result;
}

/** Checks an address as `writeAddress` does and returns its EIP-55 checksummed form. */
export function normalizeAddress(value: unknown, field: string): string {
  writeAddress(addressWord, 0, value, field);
  if (verified.has(value as string)) return value as string;
  return checksummed(value as string);
}

const addressWord = new Uint8Array(32);

/** Rejects lone surrogates: they have no UTF-8 encoding, and encoders disagree on what to emit. */
function checkWellFormed(value: string, field: string): void {
  if ((value as string & { isWellFormed(): boolean }).isWellFormed()) return;
  throw new RecordError(`${field} is not well-formed Unicode (it has a lone surrogate), so it has no UTF-8 bytes`);
}

/**
 * Writes a string's tail (length word, UTF-8 bytes, zero padding to a word) at `at` in the
 * scratch buffer and returns where the next tail starts. May grow the scratch buffer.
 */
export function writeStringTail(at: number, value: unknown, field: string): number {
  if (typeof value !== "string") throw new RecordError(`${field} must be a string, got ${describe(value)}`);
  checkWellFormed(value, field);
  // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
  const out = scratch.ensure(at + 64 + 3 * value.length, at);
  const { written } = utf8.encodeInto(value, out.subarray(at + 32));
  writeLength(out, at, written);
  const end = at + 32 + Math.ceil(written / 32) * 32;
  out.fill(0, at + 32 + written, end);
  return end;
}

/** keccak256 of a string's UTF-8 bytes. */
export function utf8Keccak(value: unknown, field: string): string {
  if (typeof value !== "string") throw new RecordError(`${field} must be a string, got ${describe(value)}`);
  checkWellFormed(value, field);
  const out = scratch.ensure(3 * value.length + 32, 0);
  const { written } = utf8.encodeInto(value, out);
  keccak256Into(out, 0, written, out, written);
  return toHex(out, written, written + 32);
}
