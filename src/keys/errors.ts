/**
 * Thrown for key material that cannot be used. The message is one lower-case line, fit to follow
 * "gridwire: ", and quotes at most one character of the key.
 */
export class KeyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFormatError';
  }
}

export function expectLength(key: Uint8Array, length: number, what: string): Uint8Array {
  if (key.length !== length) {
    throw new KeyFormatError(`${what} has the wrong length: ${key.length} bytes, expected ${length}`);
  }
  return key;
}
