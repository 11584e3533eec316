// The keystore: named WireGuard and planetary private keys on disk, 0700/0600.
export { Keystore, checkKeyName, type LoadedKey, type StoredKey, type Warn } from './keystore.js';
export { KeystoreError } from './errors.js';
export { defaultKeystoreDir } from './location.js';
export { KEY_TYPES, isKeyType, type KeyType } from './key-types.js';
