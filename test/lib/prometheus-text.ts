// A strict reader of the Prometheus text exposition format 0.0.4, written from the format's
// description, for checking what gridwire serves: it throws on anything a scraper would reject or
// warn about (bad names, bad escapes, a TYPE after its samples, a family split in two, a repeated
// series, a missing final newline).

export interface ParsedFamily {
  type: string | undefined;
  help: string | undefined;
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function unescape(text: string, quote: boolean, line: number): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quote) return '"';
    throw new Error(`line ${line}: invalid escape \\${c}`);
  });
}

function parseValue(text: string, line: number): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`line ${line}: '${text}' is not a value`);
  return Number(text);
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\.)*)"(,|$)`);
  let rest = text;
  while (rest !== '') {
    const m = re.exec(rest);
    if (!m) throw new Error(`line ${line}: malformed labels at '${rest}'`);
    const name = m[1]!;
    if (name.startsWith('__')) throw new Error(`line ${line}: reserved label name ${name}`);
    if (name in labels) throw new Error(`line ${line}: label ${name} repeated`);
    labels[name] = unescape(m[2]!, true, line);
    rest = rest.slice(m[0].length);
    if (m[3] === ',' && rest === '') break; // a trailing comma is allowed
  }
  return labels;
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, ParsedFamily>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  const enter = (name: string, line: number): ParsedFamily => {
    if (name !== current) {
      if (closed.has(name)) throw new Error(`line ${line}: family ${name} appears in two places`);
      if (current) closed.add(current);
      current = name;
    }
    let f = families.get(name);
    if (!f) families.set(name, (f = { type: undefined, help: undefined, samples: [] }));
    return f;
  };
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    const meta = new RegExp(`^#\\s+(HELP|TYPE)\\s+(${NAME})(?:\\s(.*))?$`).exec(raw);
    if (meta) {
      const [, kind, name, rest = ''] = meta;
      const f = enter(name!, line);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`line ${line}: second HELP for ${name}`);
        f.help = unescape(rest, false, line);
      } else {
        if (f.type !== undefined) throw new Error(`line ${line}: second TYPE for ${name}`);
        if (f.samples.length) throw new Error(`line ${line}: TYPE for ${name} after its samples`);
        if (!TYPES.has(rest)) throw new Error(`line ${line}: unknown type '${rest}'`);
        f.type = rest;
      }
      return;
    }
    if (raw.startsWith('#')) return;
    const m = new RegExp(`^(${NAME})(?:\\{(.*)\\})?[ \\t]+(\\S+)(?:[ \\t]+(-?\\d+))?$`).exec(raw);
    if (!m) throw new Error(`line ${line}: malformed sample '${raw}'`);
    const name = m[1]!;
    const labels = parseLabels(m[2] ?? '', line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`line ${line}: series ${key} repeated`);
    series.add(key);
    enter(name, line).samples.push({ labels, value: parseValue(m[3]!, line) });
  });
  return families;
}

/** The one sample of `name` whose labels include `match`; throws when there is none or several. */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, match: Record<string, string> = {}): number {
  const found = (families.get(name)?.samples ?? []).filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${JSON.stringify(match)}`);
  return found[0]!.value;
}
