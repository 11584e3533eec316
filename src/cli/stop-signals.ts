// SIGINT and SIGTERM turned into an AbortSignal, so that a command in the middle of setting something up
// finishes the step under way and takes down what it built, instead of the signal killing it half-way
// (as wg-quick's trap does).
import { constants } from 'node:os';
import { CliError } from './command.js';

export interface StopSignals {
  /** Aborted by the first SIGINT/SIGTERM; the reason is a CliError exiting 128 + the signal's number. */
  readonly signal: AbortSignal;
  /** The signals' default action again. */
  release(): void;
}

export function catchStopSignals(command: string): StopSignals {
  const controller = new AbortController();
  // Later signals abort nothing more: whatever the first one started (a clean stop) runs to its end.
  const onSignal = (name: NodeJS.Signals) => controller.abort(new CliError(`${command}: interrupted by ${name}`, 128 + constants.signals[name]));
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return { signal: controller.signal, release: () => void process.off('SIGINT', onSignal).off('SIGTERM', onSignal) };
}

/** Calls `fn` once the signal is aborted: at once if it already is. */
export function onAbort(signal: AbortSignal, fn: () => void): void {
  if (signal.aborted) fn();
  else signal.addEventListener('abort', fn, { once: true });
}
