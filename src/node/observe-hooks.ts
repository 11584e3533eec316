// The runner's only contact with logging and metrics: pino records on stderr, each WireGuard device's
// peer events logged, and — when node.json asks for it — a Prometheus endpoint over every running
// interface and the planetary node.
import { createLogger, type Logger } from '../observe/log.js';
import { serveMetrics } from '../observe/metrics.js';
import { logDeviceEvents } from '../observe/wg-events.js';
import type { PlanetaryNode } from '../planetary/node.js';
import type { WireGuardDevice } from '../wireguard/device.js';

export type { Logger } from '../observe/log.js';

export interface ObserveHooks {
  readonly log: Logger;
  addWireGuard(name: string, device: WireGuardDevice): void;
  removeWireGuard(name: string): void;
  setPlanetary(node: PlanetaryNode | undefined): void;
  close(): Promise<void>;
}

export interface ObserveOptions {
  readonly log?: { readonly level?: string; readonly format?: 'json' | 'text' };
  readonly metrics?: { readonly listen: string };
}

export async function startObserveHooks(options: ObserveOptions, destination: string | number = 2): Promise<ObserveHooks> {
  const log = createLogger({ name: 'gridwire', destination, ...options.log });
  // serveMetrics logs where it listens.
  const metrics = options.metrics ? (await serveMetrics(options.metrics.listen, { logger: log })).server : undefined;
  const unlog = new Map<string, () => void>();
  return {
    log,
    addWireGuard(name, device) {
      unlog.set(name, logDeviceEvents(device, log, name));
      metrics?.addWireGuard(name, device);
    },
    removeWireGuard(name) {
      unlog.get(name)?.();
      unlog.delete(name);
      metrics?.removeWireGuard(name);
    },
    setPlanetary: (node) => metrics?.setPlanetary(node),
    close: async () => {
      for (const stop of unlog.values()) stop();
      unlog.clear();
      await metrics?.close();
    },
  };
}
