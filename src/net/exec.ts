// Running system commands (ip, …) for the commands and the node runner.
import { execFile } from 'node:child_process';

/** Runs a command quietly; rejects with its first line of stderr. */
export function exec(argv: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), (err, stdout, stderr) => {
      if (err) reject(new Error(`'${argv.join(' ')}' failed: ${stderr.trim().split('\n')[0] || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Runs a command that changes the system, announcing it on stderr as wg-quick does. */
export function run(argv: readonly string[]): Promise<string> {
  process.stderr.write(`[#] ${argv.join(' ')}\n`);
  return exec(argv);
}
