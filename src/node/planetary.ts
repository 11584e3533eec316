// The planetary node's config from node.json: a yggdrasil config file, or a key and a few fields.
// Peers named in node.json are not in it: they arrive through plan(), like chain-named ones.
import { resolve } from 'node:path';
import type { Keystore } from '../keystore/index.js';
import {
  generatePlanetaryConfig,
  loadPlanetaryConfigFile,
  unsupportedTransportWarnings,
  validatePlanetaryConfig,
  type PlanetaryConfig,
} from '../planetary/config.js';
import type { PlanetarySectionConfig } from './config.js';
import { planetaryPrivateKey } from './keys.js';
import type { Logger } from './observe-hooks.js';

export async function planetaryConfig(section: PlanetarySectionConfig, baseDir: string, keystore: Keystore, log: Logger): Promise<PlanetaryConfig> {
  let config: PlanetaryConfig;
  if (section.config !== undefined) {
    const loaded = loadPlanetaryConfigFile(resolve(baseDir, section.config));
    for (const warning of [...loaded.warnings, ...unsupportedTransportWarnings(loaded.config)]) log.warn({ file: section.config }, warning);
    config = loaded.config;
  } else {
    // No multicast discovery and no admin socket unless asked: a grid node finds its peers on the chain,
    // and the default socket path is one per machine.
    config = {
      ...generatePlanetaryConfig(await planetaryPrivateKey(section.key!, keystore)),
      Listen: section.listen ?? [],
      IfName: section.ifName ?? 'auto',
      AdminListen: section.adminListen ?? 'none',
      MulticastInterfaces: [],
    };
  }
  validatePlanetaryConfig(config);
  return config;
}
