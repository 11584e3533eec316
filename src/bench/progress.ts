// Progress on stderr while the bench runs: one self-rewriting line on a terminal, plain lines otherwise
// (so a log or CI shows each step once).
export class Progress {
  private done = 0;
  private readonly started = performance.now();
  private readonly tty: boolean;

  constructor(
    private total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  /** Announces the step now starting. */
  step(scope: string, what: string): void {
    this.done++;
    this.write(`[${String(this.done).padStart(String(this.total).length)}/${this.total} ${this.elapsed()}] ${scope}: ${what}`);
  }

  /** Steps that will not run after all (a skipped or failed scenario) leave the count. */
  skip(steps: number): void {
    this.total -= steps;
  }

  /** A message that stays on screen (skips, failures). */
  note(text: string): void {
    if (this.tty) this.out.write('\r\x1b[K');
    this.out.write(`${text}\n`);
  }

  finish(): void {
    if (this.tty) this.out.write('\r\x1b[K');
    this.out.write(`bench finished in ${this.elapsed()}\n`);
  }

  private elapsed(): string {
    const s = Math.round((performance.now() - this.started) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }

  private write(line: string): void {
    if (this.tty) this.out.write(`\r\x1b[K${line.slice(0, (this.out.columns || 120) - 1)}`);
    else this.out.write(`${line}\n`);
  }
}
