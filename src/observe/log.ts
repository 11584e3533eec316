// Structured logs for the long-running commands: pino, one JSON object a line, written synchronously
// to stderr (or a file) so nothing is lost when a daemon exits. `format: 'text'` turns the same records
// into one readable line each, for a terminal, without another dependency.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export type LogFormat = 'json' | 'text';

export interface LoggerOptions {
  /** trace | debug | info | warn | error | fatal | silent; default info. */
  level?: string;
  /** A file path (appended to) or a file descriptor; default 2 (stderr). */
  destination?: string | number;
  /** Added to every record as `name`. */
  name?: string;
  /** Default json. */
  format?: LogFormat;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];

export class LogOptionError extends Error {}

export function checkLogLevel(level: string): string {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new LogOptionError(`unknown log level '${level}' (expected one of ${LOG_LEVELS.join(', ')})`);
  }
  return level;
}

export function checkLogFormat(format: string): LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new LogOptionError(`unknown log format '${format}' (expected ${LOG_FORMATS.join(' or ')})`);
  }
  return format as LogFormat;
}

// Fields every pino record has, which the text line shows in its own place or not at all.
const FRAME = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname']);

/** One pino JSON record as `2026-01-02T03:04:05.678Z INFO  name: message key=value …` (values quoted as logfmt does). */
export function textLine(record: string): string {
  const r = JSON.parse(record) as Record<string, unknown>;
  const label = (pino.levels.labels[r['level'] as number] ?? String(r['level'])).toUpperCase().padEnd(5);
  const fields = Object.entries(r)
    .filter(([k]) => !FRAME.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/[\s"=]/.test(v) && v !== '' ? v : JSON.stringify(v)}`);
  const name = typeof r['name'] === 'string' ? `${r['name']}: ` : '';
  return `${new Date(r['time'] as number).toISOString()} ${label} ${name}${String(r['msg'] ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
}

// pino writes one whole record per call.
const textStream = (sink: DestinationStream): DestinationStream => ({ write: (record: string) => sink.write(textLine(record)) });

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = checkLogLevel(opts.level ?? 'info');
  const format = checkLogFormat(opts.format ?? 'json');
  const sink = pino.destination({ dest: opts.destination ?? 2, sync: true, append: true, mkdir: false });
  return pino(
    {
      level,
      ...(opts.name !== undefined && { name: opts.name }),
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    format === 'text' ? textStream(sink) : sink,
  );
}
