/** Anything wrong with a key name, a key file or the keystore directory; the message is one line. */
export class KeystoreError extends Error {
  constructor(
    message: string,
    /** 'input' for a bad request (bad name, unknown key, key exists), 'state' for a problem on disk. */
    readonly kind: 'input' | 'state',
  ) {
    super(message);
    this.name = 'KeystoreError';
  }
}
