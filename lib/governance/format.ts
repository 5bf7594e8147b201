/** How governance tools write votes and times for a reader. */

/** Votes in whole tokens (18 decimals): `4,000,000 votes`. */
export function formatVotes(wei: bigint): string {
  return `${(wei / 10n ** 18n).toLocaleString("en-US")} votes`;
}

/** A timestamp (seconds since the epoch) as ISO 8601 UTC, without milliseconds. */
export function isoTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
}

/** `1 d 23 h 5 min`, `42 s`: how long until a time. */
export function duration(seconds: bigint): string {
  const s = Number(seconds);
  const parts: string[] = [];
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) parts.push(`${days} d`);
  if (hours > 0) parts.push(`${hours} h`);
  if (minutes > 0) parts.push(`${minutes} min`);
  if (parts.length === 0) parts.push(`${s} s`);
  return parts.join(" ");
}
