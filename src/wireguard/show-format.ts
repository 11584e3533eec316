// How wg(8) words times and sizes, with its colour codes: shared by `gridwire show` and `gridwire status`.

export const RESET = '\x1b[0m';
export const BOLD = '\x1b[1m';
export const RED = '\x1b[31m';
export const GREEN = '\x1b[32m';
export const YELLOW = '\x1b[33m';
export const CYAN = '\x1b[36m';

/** The text without its colour codes. */
export const stripColour = (text: string): string => text.replace(/\x1b\[[^m]*m/g, '');

export function prettyTime(left: number): string {
  const units: Array<[string, number]> = [['year', 365 * 86400], ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1]];
  const parts: string[] = [];
  for (const [unit, size] of units) {
    const n = Math.floor(left / size);
    left %= size;
    if (n) parts.push(`${n} ${CYAN}${unit}${n === 1 ? '' : 's'}${RESET}`);
  }
  return parts.join(', ');
}

export function ago(sec: number, now: number): string {
  if (now === sec) return 'Now';
  if (now < sec) return `(${RED}System clock wound backward; connection problems may ensue.${RESET})`;
  return `${prettyTime(now - sec)} ago`;
}

/** printf("%.2f") of bytes/unit, exactly: ties round to even as glibc does, where toFixed rounds up. */
function hundredths(bytes: bigint, unit: bigint): string {
  let q = (bytes * 100n) / unit;
  const twice = ((bytes * 100n) % unit) * 2n;
  if (twice > unit || (twice === unit && q % 2n === 1n)) q++;
  return `${q / 100n}.${String(q % 100n).padStart(2, '0')}`;
}

export function bytes(value: bigint | number): string {
  const b = BigInt(value);
  if (b < 1024n) return `${b} ${CYAN}B${RESET}`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (i < units.length - 1 && b >= 1024n ** BigInt(i + 2)) i++;
  return `${hundredths(b, 1024n ** BigInt(i + 1))} ${CYAN}${units[i]}${RESET}`;
}
