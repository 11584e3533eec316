// Text formats as yggdrasil 0.5.12 writes them: JSON as Go's encoding/json does (admin socket, `-json`)
// and commented HJSON as hjson-go v4 does (`-genconf`, `-normaliseconf`). Reading HJSON is left to the
// `hjson` package; only the writers need Go's exact byte layout, so tools diffing configs see no change.
import Hjson from 'hjson';

/**
 * A JSON value for the writers. A `Map` is written in its own order (a Go struct: fields as declared);
 * a plain object is a Go map and is written with its keys sorted bytewise, as Go sorts map keys.
 */
export type GoValue = null | boolean | number | string | readonly GoValue[] | GoStruct | { readonly [key: string]: GoValue };
export type GoStruct = ReadonlyMap<string, GoValue>;

/** Builds a Go struct from ordered entries; `undefined` values are dropped (Go's `omitempty`). */
export function goStruct(entries: ReadonlyArray<readonly [string, GoValue | undefined]>): GoStruct {
  return new Map(entries.filter((e): e is [string, GoValue] => e[1] !== undefined));
}

// The writers below (and the admin socket's echo of a request) recurse once per level and overflow the
// stack at a few thousand levels (the parser somewhat later); no real config or request comes near
// this, so deeper text is refused up front.
export const MAX_NESTING = 1000;
const tooDeep = () => new Error(`nested more than ${MAX_NESTING} levels deep`);

/** Parses HJSON (JSON is HJSON); an empty or blank text is an empty object, as yggdrasil treats it. */
export function parseHjson(text: string): unknown {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = Hjson.parse(text);
  } catch (err) {
    throw err instanceof RangeError && /call stack/.test(err.message) ? tooDeep() : err;
  }
  if (nesting(value) > MAX_NESTING) throw tooDeep();
  return value;
}

/** How many arrays and objects deep a parsed value goes, without recursing. */
export function nesting(root: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 0]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [value, depth] = top;
    if (value === null || typeof value !== 'object') continue;
    max = Math.max(max, depth + 1);
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return max;
}

function sortedKeys(map: { readonly [key: string]: unknown }): string[] {
  return Object.keys(map).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function entriesOf(value: GoStruct | { readonly [key: string]: GoValue }): Array<[string, GoValue]> {
  if (value instanceof Map) return [...value.entries()];
  const map = value as { readonly [key: string]: GoValue };
  return sortedKeys(map).map((k) => [k, map[k]!]);
}

// ---------------------------------------------------------------------------------------------------
// Go encoding/json

const GO_JSON_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function goJsonString(s: string): string {
  // Go escapes HTML-significant characters and U+2028/9 by default, and writes lone surrogates
  // (invalid UTF-8 once encoded) as U+FFFD.
  const body = s.replace(
    /["\\\x00-\x1f<>&\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => GO_JSON_ESCAPES[c] ?? (c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff ? '\\ufffd' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
  return `"${body}"`;
}

/** Go's float64 text: the shortest round-trip form, which is what JavaScript prints too (but Go keeps -0). */
function goJsonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`cannot encode ${n} as JSON`);
  return Object.is(n, -0) ? '-0' : String(n);
}

function encodeJson(value: GoValue, indent: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return goJsonNumber(value);
  if (typeof value === 'string') return goJsonString(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v: GoValue) => inner + encodeJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = entriesOf(value as GoStruct);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${goJsonString(k)}: ${encodeJson(v, inner)}`).join(',\n')}\n${indent}}`;
}

/** `json.MarshalIndent(v, "", "  ")` (no trailing newline; Go's json.Encoder adds one). */
export function goJson(value: GoValue): string {
  return encodeJson(value, '');
}

// ---------------------------------------------------------------------------------------------------
// hjson-go v4 Marshal

// Character classes of hjson-go's encoder. Go's \s is ASCII-only, hence the explicit [\t\n\f\r ].
const UNSAFE = '\\x7f-\\x9f\\u00ad\\u0600-\\u0604\\u070f\\u17b4\\u17b5\\u200c-\\u200f\\u2028-\\u202f\\u2060-\\u206f\\ufeff\\ufff0-\\uffff';
const NEEDS_ESCAPE = new RegExp(`[\\\\"\\x00-\\x1f${UNSAFE}]`, 'g');
const NEEDS_QUOTES = new RegExp(`^[\\t\\n\\f\\r ]|^"|^'|^#|^/\\*|^//|^\\{|^\\}|^\\[|^\\]|^:|^,|[\\t\\n\\f\\r ]$|[\\x00-\\x1f${UNSAFE}]`);
const NEEDS_ESCAPE_ML = new RegExp(`'''|^[\\t\\n\\f\\r ]+$|[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f${UNSAFE}]`);
const STARTS_WITH_KEYWORD = /^(true|false|null)[\t\n\f\r ]*((,|\]|\}|#|\/\/|\/\*).*)?$/s;
const NEEDS_ESCAPE_NAME = /[,{[}\]\t\n\f\r :#"']|\/\/|\/\*/;
const HJSON_META: Record<string, string> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\' };

/** hjson-go's tryParseNumber(stopAtNext): would a quoteless value starting like this read as a number? */
function startsWithNumber(text: string): boolean {
  const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?[\t\n\f\r ]*/.exec(text);
  if (!m) return false;
  const rest = text.slice(m[0].length);
  return rest === '' || /^(?:[,}\]#]|\/\/|\/\*)/.test(rest);
}

function quoteEscaped(s: string): string {
  return `"${s.replace(NEEDS_ESCAPE, (c) => HJSON_META[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

function hjsonKey(key: string): string {
  return key === '' || NEEDS_ESCAPE_NAME.test(key) ? quoteEscaped(key) : key;
}

/** Returns the value text including its separator from the key (' ' normally, a line break for ''' blocks). */
function hjsonString(value: string, indent: string): string {
  if (value === '') return ' ""';
  const needsQuotes = NEEDS_QUOTES.test(value) || startsWithNumber(value) || STARTS_WITH_KEYWORD.test(value);
  if (!needsQuotes) return ` ${value}`;
  NEEDS_ESCAPE.lastIndex = 0;
  if (!NEEDS_ESCAPE.test(value)) return ` "${value}"`;
  if (NEEDS_ESCAPE_ML.test(value)) return ` ${quoteEscaped(value)}`;
  const lines = value.split('\n');
  if (lines.length === 1) return ` '''${value}'''`;
  const inner = `${indent}  `;
  return `\n${inner}'''${lines.map((l) => `\n${l === '' ? '' : inner + l}`).join('')}\n${inner}'''`;
}

function hjsonNumber(n: number): string {
  // hjson-go prints floats with a two-digit exponent and no negative zero.
  if (Object.is(n, -0)) return '0';
  return goJsonNumber(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

function encodeHjson(value: GoValue, indent: string): string {
  if (value === null) return ' null';
  if (typeof value === 'boolean') return ` ${value}`;
  if (typeof value === 'number') return ` ${hjsonNumber(value)}`;
  if (typeof value === 'string') return hjsonString(value, indent);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []';
    const items = value.map((v: GoValue) => `\n${inner}${encodeHjson(v, inner).replace(/^ /, '')}`);
    return ` [${items.join('')}\n${indent}]`;
  }
  const entries = entriesOf(value as GoStruct);
  if (entries.length === 0) return ' {}';
  return ` {${entries.map(([k, v]) => `\n${inner}${hjsonKey(k)}:${encodeHjson(v, inner)}`).join('')}\n${indent}}`;
}

/** A top-level field for the HJSON writer: its value, and the comment hjson-go writes above it. */
export interface HjsonField {
  readonly key: string;
  readonly value: GoValue;
  readonly comment?: string;
}

/**
 * hjson-go's Marshal of a struct whose fields carry `comment` tags: each comment line as `# …` above
 * its field, and a blank line after every commented field but the last. No trailing newline.
 */
export function commentedHjson(fields: readonly HjsonField[]): string {
  let out = '{';
  fields.forEach((field, i) => {
    out += '\n';
    if (i > 0 && fields[i - 1]!.comment !== undefined) out += '\n';
    for (const line of field.comment?.split('\n') ?? []) out += `  # ${line}\n`;
    out += `  ${hjsonKey(field.key)}:${encodeHjson(field.value, '  ')}`;
  });
  return `${out}\n}`;
}
