// IPv4/IPv6 address or CIDR, checked as it is typed. The server checks again (and canonicalises);
// this only tells the user at once.
function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function isIPv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.split('::').length > 2) return false;
  let groups = text.split(':');
  const last = groups[groups.length - 1]!;
  let needed = 8;
  if (last.includes('.')) {
    if (!isIPv4(last)) return false;
    groups = groups.slice(0, -1);
    needed = 6;
  }
  const compressed = text.includes('::');
  const filled = groups.filter((g) => g !== '');
  if (!filled.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  if (compressed) return filled.length < needed;
  return groups.length === needed && filled.length === needed;
}

/** An error message, or '' when the text is a valid address or CIDR. */
export function networkError(text: string): string {
  const [address, prefix, extra] = text.trim().split('/');
  if (extra !== undefined || !address) return 'Enter an IPv4 or IPv6 address, or a CIDR such as 10.0.0.0/8';
  const v4 = isIPv4(address);
  const v6 = !v4 && isIPv6(address);
  if (!v4 && !v6) return `"${address}" is not an IPv4 or IPv6 address`;
  if (prefix === undefined) return '';
  const max = v4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `The prefix length must be 0–${max}`;
  return '';
}
