// Public API of gridwire for embedding from Node.
export * as keys from './keys/index.js';
export { native } from './native/binding.js';
