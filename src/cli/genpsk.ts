import { generatePresharedKey } from '../keys/index.js';
import { keyGeneratingCommand } from './genkey.js';

export default keyGeneratingCommand(
  'genpsk',
  'print a new WireGuard preshared key (like wg genpsk)',
  generatePresharedKey,
);
