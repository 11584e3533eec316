// Prometheus text exposition format 0.0.4, as a pure function of metric families. Collectors add
// samples to a FamilySet, which merges samples of one family from several sources (e.g. every
// WireGuard interface); the formatter refuses what a scraper would reject.

export type MetricType = 'counter' | 'gauge';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: readonly Sample[];
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class ExpositionError extends Error {}

/** HELP text escapes backslash and newline; label values also escape the double quote. */
export const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
export const escapeLabelValue = (text: string) => escapeHelp(text).replace(/"/g, '\\"');

/** Go's strconv formatting of the special values, which is what the format specifies. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function labelText(labels: Labels): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return '';
  return `{${names.map((n) => `${n}="${escapeLabelValue(labels[n]!)}"`).join(',')}}`;
}

function checkFamily(f: MetricFamily): void {
  if (!METRIC_NAME.test(f.name)) throw new ExpositionError(`invalid metric name '${f.name}'`);
  if (f.type === 'counter' && !f.name.endsWith('_total')) throw new ExpositionError(`counter '${f.name}' must end in _total`);
  for (const s of f.samples) {
    for (const [name, value] of Object.entries(s.labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new ExpositionError(`${f.name}: invalid label name '${name}'`);
      if (typeof value !== 'string') throw new ExpositionError(`${f.name}: label '${name}' is not a string`);
    }
    if (typeof s.value !== 'number') throw new ExpositionError(`${f.name}: value ${String(s.value)} is not a number`);
    if (f.type === 'counter' && !(s.value >= 0)) throw new ExpositionError(`${f.name}: counter value ${s.value} is negative or NaN`);
  }
}

/** Accumulates families by name, so several collectors (e.g. one per interface) can feed one family. */
export class FamilySet {
  private readonly byName = new Map<string, { type: MetricType; help: string; samples: Sample[] }>();

  /** Declares the family (again is fine when type and help agree); a family without samples is still listed. */
  declare(name: string, type: MetricType, help: string): void {
    const known = this.byName.get(name);
    if (!known) this.byName.set(name, { type, help, samples: [] });
    else if (known.type !== type || known.help !== help) throw new ExpositionError(`metric '${name}' declared twice with different type or help`);
  }

  add(name: string, type: MetricType, help: string, labels: Labels, value: number): void {
    this.declare(name, type, help);
    this.byName.get(name)!.samples.push({ labels, value });
  }

  families(): MetricFamily[] {
    return [...this.byName].map(([name, f]) => ({ name, type: f.type, help: f.help, samples: f.samples }));
  }
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The exposition text: families sorted by name, samples by their label text, each family with one
 * HELP and one TYPE line. Throws ExpositionError on anything a scraper would reject: a name or label
 * outside the grammar, a counter not ending in _total or going negative, a family or label set twice.
 */
export function formatExposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const f of [...families].sort((a, b) => byText(a.name, b.name))) {
    if (seen.has(f.name)) throw new ExpositionError(`metric family '${f.name}' appears twice`);
    seen.add(f.name);
    checkFamily(f);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    const rows = f.samples.map((s) => [labelText(s.labels), formatValue(s.value)] as const).sort(([a], [b]) => byText(a, b));
    for (let i = 1; i < rows.length; i++) if (rows[i]![0] === rows[i - 1]![0]) throw new ExpositionError(`${f.name}: duplicate sample ${rows[i]![0] || '{}'}`);
    for (const [labels, value] of rows) lines.push(`${f.name}${labels} ${value}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
