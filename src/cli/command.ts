// The shape every subcommand module exports as its default, and the one error type the CLI turns into a
// one-line message and an exit code (2 for bad input, as wg(8) does).
export interface Command {
  readonly summary: string;
  run(args: string[]): Promise<number>;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Reads all of standard input as text (for `pubkey`, `-useconf` and the like). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
