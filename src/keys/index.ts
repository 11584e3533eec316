export { KeyFormatError } from './errors.js';
export {
  KEY_BASE64_LENGTH,
  KEY_LENGTH,
  clampPrivateKey,
  decodeKey,
  encodeKey,
  generatePresharedKey,
  generatePrivateKey,
  parseKeyText,
  publicKey,
} from './wireguard.js';
export {
  PLANETARY_PRIVATE_KEY_LENGTH,
  PLANETARY_PUBLIC_KEY_LENGTH,
  addressBytesForKey,
  addressForKey,
  formatPlanetaryPrivateKey,
  generatePlanetaryKey,
  parsePlanetaryPrivateKey,
  planetaryPublicKey,
  subnetBytesForKey,
  subnetForKey,
} from './planetary.js';
export { formatIPv6 } from './ipv6.js';
export { readPrivateKeyFile, warnIfWorldAccessibleOutput, writePrivateKeyFile, type Warn } from './keyfile.js';
