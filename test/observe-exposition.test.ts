// The text exposition formatter: exact output for known input, escaping, ordering, merging, every
// refusal, and a randomized round trip through the strict reader in test/lib/prometheus-text.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHelp, escapeLabelValue, ExpositionError, FamilySet, formatExposition, formatValue, type MetricFamily } from '../src/observe/exposition.js';
import { parseExposition } from './lib/prometheus-text.js';

test('exposition: exact text for a small set, families and samples sorted', () => {
  const set = new FamilySet();
  set.add('b_bytes_total', 'counter', 'Bytes.', { peer: 'y', interface: 'wg0' }, 20);
  set.add('a_up', 'gauge', 'Up.', {}, 1);
  set.add('b_bytes_total', 'counter', 'Bytes.', { interface: 'wg0', peer: 'x' }, 10);
  assert.equal(
    formatExposition(set.families()),
    [
      '# HELP a_up Up.',
      '# TYPE a_up gauge',
      'a_up 1',
      '# HELP b_bytes_total Bytes.',
      '# TYPE b_bytes_total counter',
      'b_bytes_total{interface="wg0",peer="x"} 10',
      'b_bytes_total{interface="wg0",peer="y"} 20',
      '',
    ].join('\n'),
  );
  assert.equal(formatExposition([]), '');
});

test('exposition: escaping of label values and help text', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeHelp('a\\b"c\nd'), 'a\\\\b"c\\nd', 'help keeps double quotes as they are');
  const text = formatExposition([{ name: 'm', type: 'gauge', help: 'line 1\nline "2" \\', samples: [{ labels: { v: 'q"uo\\te\nnl' }, value: 3 }] }]);
  assert.equal(text, '# HELP m line 1\\nline "2" \\\\\n# TYPE m gauge\nm{v="q\\"uo\\\\te\\nnl"} 3\n');
  const parsed = parseExposition(text).get('m')!;
  assert.equal(parsed.help, 'line 1\nline "2" \\');
  assert.deepEqual(parsed.samples, [{ labels: { v: 'q"uo\\te\nnl' }, value: 3 }]);
});

test('exposition: special values as Go writes them', () => {
  assert.deepEqual([NaN, Infinity, -Infinity, 0, -1.5, 1e21, 2 ** 53].map(formatValue), ['NaN', '+Inf', '-Inf', '0', '-1.5', '1e+21', '9007199254740992']);
  const text = formatExposition([{ name: 'g', type: 'gauge', help: 'h', samples: [{ labels: { k: 'a' }, value: NaN }, { labels: { k: 'b' }, value: -Infinity }] }]);
  const values = parseExposition(text).get('g')!.samples.map((s) => s.value);
  assert.ok(Number.isNaN(values[0]));
  assert.equal(values[1], -Infinity);
});

test('exposition: one HELP and TYPE per family however many sources feed it', () => {
  const set = new FamilySet();
  for (const ifname of ['wg1', 'wg0', 'wg2']) {
    set.declare('x_total', 'counter', 'X.');
    set.add('x_total', 'counter', 'X.', { interface: ifname }, 1);
  }
  set.declare('empty_total', 'counter', 'Declared, no samples.');
  const text = formatExposition(set.families());
  assert.equal(text.match(/^# HELP x_total /gm)?.length, 1);
  assert.equal(text.match(/^# TYPE x_total /gm)?.length, 1);
  assert.deepEqual(parseExposition(text).get('x_total')!.samples.map((s) => s.labels['interface']), ['wg0', 'wg1', 'wg2']);
  assert.match(text, /# TYPE empty_total counter\n/);
});

test('exposition: everything a scraper would reject is refused with a clear error', () => {
  const g = (over: Partial<MetricFamily>): MetricFamily => ({ name: 'g', type: 'gauge', help: 'h', samples: [], ...over });
  const cases: Array<[string, MetricFamily[], RegExp]> = [
    ['bad metric name', [g({ name: '1abc' })], /invalid metric name '1abc'/],
    ['dash in name', [g({ name: 'a-b' })], /invalid metric name/],
    ['counter without _total', [g({ name: 'bytes', type: 'counter' })], /counter 'bytes' must end in _total/],
    ['bad label name', [g({ samples: [{ labels: { 'a-b': 'x' }, value: 1 }] })], /invalid label name 'a-b'/],
    ['reserved label name', [g({ samples: [{ labels: { __name__: 'x' }, value: 1 }] })], /invalid label name '__name__'/],
    ['non-string label', [g({ samples: [{ labels: { a: 1 as unknown as string }, value: 1 }] })], /label 'a' is not a string/],
    ['non-number value', [g({ samples: [{ labels: {}, value: '1' as unknown as number }] })], /is not a number/],
    ['negative counter', [g({ name: 'c_total', type: 'counter', samples: [{ labels: {}, value: -1 }] })], /negative/],
    ['NaN counter', [g({ name: 'c_total', type: 'counter', samples: [{ labels: {}, value: NaN }] })], /negative or NaN/],
    ['duplicate series', [g({ samples: [{ labels: { a: 'x', b: 'y' }, value: 1 }, { labels: { b: 'y', a: 'x' }, value: 2 }] })], /duplicate sample \{a="x",b="y"\}/],
    ['duplicate family', [g({}), g({})], /metric family 'g' appears twice/],
  ];
  for (const [what, families, message] of cases) assert.throws(() => formatExposition(families), (e: unknown) => e instanceof ExpositionError && message.test((e as Error).message), what);
  const set = new FamilySet();
  set.declare('m', 'gauge', 'one');
  assert.throws(() => set.declare('m', 'gauge', 'two'), /declared twice/);
  assert.throws(() => set.declare('m', 'counter', 'one'), /declared twice/);
});

test('exposition: random families survive a round trip through the strict reader', () => {
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '\n', '{', '}', '=', ',', 'é', '…', '#'];
  const text = (n: number) => Array.from({ length: rand(n) }, () => alphabet[rand(alphabet.length)]).join('');
  for (let round = 0; round < 200; round++) {
    const set = new FamilySet();
    const expected = new Map<string, Map<string, number>>();
    for (let f = 0; f < 1 + rand(4); f++) {
      const counter = rand(2) === 0;
      const name = `m${f}_${counter ? 'total' : 'value'}`;
      const help = text(12);
      set.declare(name, counter ? 'counter' : 'gauge', help);
      const seen = new Map<string, number>();
      for (let s = 0; s < rand(5); s++) {
        const labels = { peer: text(8), b: String(s) };
        const value = counter ? rand(1e6) : rand(1e6) - 5e5 + rand(100) / 100;
        set.add(name, counter ? 'counter' : 'gauge', help, labels, value);
        seen.set(JSON.stringify(Object.entries(labels).sort()), value);
      }
      expected.set(name, seen);
    }
    const parsed = parseExposition(formatExposition(set.families()));
    assert.deepEqual([...parsed.keys()].sort(), [...expected.keys()].sort());
    for (const [name, samples] of expected) {
      const got = new Map(parsed.get(name)!.samples.map((s) => [JSON.stringify(Object.entries(s.labels).sort()), s.value]));
      assert.deepEqual(got, samples, `round ${round} ${name}`);
    }
  }
});

test('strict reader: rejects what it should (so passing it means something)', () => {
  const bad = [
    'm 1',
    'm{a="x} 1\n',
    'm{a="\\x"} 1\n',
    '# TYPE m gauge\n# TYPE m gauge\nm 1\n',
    'm 1\n# TYPE m gauge\n',
    '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n',
    'm{a="x"} 1\nm{a="x"} 2\n',
    'm{a="x",a="y"} 1\n',
    'm one\n',
    '# TYPE m wrong\n',
  ];
  for (const text of bad) assert.throws(() => parseExposition(text), Error, JSON.stringify(text));
});
