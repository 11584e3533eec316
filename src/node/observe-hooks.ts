// The runner's only contact with logging and metrics. For now: JSON lines on stderr (pino's field
// names and numeric levels) and no metrics endpoint. The integrator switches this file, and only this
// file, to src/observe/log.ts (createLogger) and src/observe/metrics.ts (MetricsServer): same shape.
import type { PlanetaryNode } from '../planetary/node.js';
import type { WireGuardDevice } from '../wireguard/device.js';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type LevelName = keyof typeof LEVELS;

export type LogFn = (fields: Record<string, unknown>, msg: string) => void;

export interface Logger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

export interface ObserveHooks {
  readonly log: Logger;
  addWireGuard(name: string, device: WireGuardDevice): void;
  removeWireGuard(name: string): void;
  setPlanetary(node: PlanetaryNode | undefined): void;
  close(): Promise<void>;
}

export interface ObserveOptions {
  readonly log?: { readonly level?: string };
  /** Accepted and ignored until src/observe/metrics.ts is wired in. */
  readonly metrics?: { readonly listen: string };
}

export async function startObserveHooks(options: ObserveOptions, write = (line: string) => process.stderr.write(line)): Promise<ObserveHooks> {
  const threshold = LEVELS[(options.log?.level ?? 'info') as LevelName] ?? LEVELS.info;
  const at =
    (level: number): LogFn =>
    (fields, msg) => {
      if (level >= threshold) write(`${JSON.stringify({ level, time: Date.now(), name: 'gridwire', ...fields, msg })}\n`);
    };
  return {
    log: { debug: at(LEVELS.debug), info: at(LEVELS.info), warn: at(LEVELS.warn), error: at(LEVELS.error) },
    addWireGuard: () => undefined,
    removeWireGuard: () => undefined,
    setPlanetary: () => undefined,
    close: async () => undefined,
  };
}
