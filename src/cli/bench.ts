// `gridwire bench`: gridwire against the reference implementations installed here, side by side in one
// run on namespaces and veth pairs it builds and removes (src/bench/). --no-tun runs the in-process
// data-plane bench instead, which needs no root.
import { CliError, type Command } from './command.js';
import { labSupportProblems } from '../netns/lab.js';
import { SCENARIOS } from '../bench/scenarios.js';
import { runNetns, selectScenarios } from '../bench/run.js';

const ID_WIDTH = Math.max(...SCENARIOS.map((s) => s.id.length));

const DEFAULT_SECONDS = 2;
const DEFAULT_REPEAT = 3;

function usage(): string {
  return [
    'usage: gridwire bench [--only <id>[,<id>...]] [--mechanisms] [--duration <seconds>] [--repeat <n>] [--json]',
    '       gridwire bench --no-tun [--duration <seconds>] [--repeat <n>] [--json]',
    '',
    '  --only       run only these pairs (the raw veth ceiling and the floors always run: every ratio and',
    '               latency refers to the ceiling, and each latency target names its floor):',
    ...SCENARIOS.map((s) => `                 ${s.id.padEnd(ID_WIDTH)} ${s.label}${s.variant ? ' [--mechanisms]' : ''}`),
    '  --mechanisms also run the [--mechanisms] pairs: gridwire with one mechanism off, against the full engine',
    `  --duration   seconds per measurement (default ${DEFAULT_SECONDS})`,
    `  --repeat     rounds (default ${DEFAULT_REPEAT}): figures are medians, with their spread; each pair takes`,
    '               about 8× the duration per round, plus setup (the default full run: about 6 minutes)',
    '  --json       print the result as JSON on stdout (progress stays on stderr)',
    '  --no-tun     no root: two engines without a TUN in this process over loopback UDP, one fed synthetic',
    '               packets by a native injector, and an initiation flood: the data plane alone',
    '',
    'Needs root (network namespaces and TUN devices) unless --no-tun is given. Pairs whose peer binary is not',
    'installed (see test/peers/install.sh) are reported as skipped.',
    '',
  ].join('\n');
}

interface Options {
  only?: string[];
  mechanisms: boolean;
  repeat: number;
  seconds: number;
  json: boolean;
  noTun: boolean;
}

function parseArgs(args: string[]): Options | 'help' {
  const o: Options = { seconds: DEFAULT_SECONDS, repeat: DEFAULT_REPEAT, mechanisms: false, json: false, noTun: false };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new CliError(`bench: ${flag} needs a value\n${usage()}`);
      return v;
    };
    if (flag === '-h' || flag === '--help') return 'help';
    else if (flag === '--json') o.json = true;
    else if (flag === '--no-tun') o.noTun = true;
    else if (flag === '--mechanisms') o.mechanisms = true;
    else if (flag === '--repeat') {
      const v = value();
      o.repeat = Number(v);
      if (!(Number.isInteger(o.repeat) && o.repeat >= 1 && o.repeat <= 50)) throw new CliError(`bench: --repeat must be a whole number of rounds in 1..50, not '${v}'`);
    }
    else if (flag === '--only') o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (flag === '--duration') {
      const v = value();
      o.seconds = Number(v);
      if (!(o.seconds > 0 && o.seconds <= 600)) throw new CliError(`bench: --duration must be a number of seconds in (0, 600], not '${v}'`);
    } else throw new CliError(`bench: unknown option '${args[i]}'\n${usage()}`);
  }
  if (o.noTun && (o.only || o.mechanisms)) throw new CliError(`bench: ${o.only ? '--only' : '--mechanisms'} selects engine pairs, which --no-tun does not run`);
  if (o.only) {
    try {
      selectScenarios(o.only);
    } catch (err) {
      throw new CliError(`bench: ${(err as Error).message}`);
    }
  }
  return o;
}

const bench: Command = {
  summary: 'benchmark gridwire against wireguard-go and yggdrasil (root), or its data plane alone (--no-tun)',
  async run(args) {
    const o = parseArgs(args);
    if (o === 'help') {
      process.stdout.write(usage());
      return 0;
    }
    if (!o.noTun) {
      const problems = labSupportProblems();
      if (problems.length) {
        throw new CliError(
          `bench: cannot build the namespaces and veth pairs this needs (${problems.join('; ')}).\n` +
            'Run it as root, or run `gridwire bench --no-tun` to measure the data plane alone without root.',
          1,
        );
      }
    }
    const { formatReport } = await import('../bench/report.js');
    const report = o.noTun
      ? await (await import('../bench/notun.js')).runNoTun(o.seconds, o.repeat)
      : await runNetns({ seconds: o.seconds, repeat: o.repeat, mechanisms: o.mechanisms, ...(o.only && { only: o.only }) });
    process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    const failed = report.scenarios.filter((s) => s.status === 'failed');
    return failed.length ? 1 : 0;
  },
};

export default bench;
