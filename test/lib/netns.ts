// Test gates over the namespace lab (src/netns/lab.ts): skip with a printed reason when root, TUN,
// netns or a reference peer is missing, except under GRIDWIRE_REQUIRE_INTEROP=1, where that fails.
import { accessSync, constants } from 'node:fs';
import { Lab, labSupportProblems, peerPath, type Env, type PeerName } from '../../src/netns/lab.js';

export * from '../../src/netns/lab.js';


/** The part of node:test's TestContext the gates need; tests can pass a fake. */
export interface Gate {
  readonly name: string;
  skip(message?: string): void;
  diagnostic?(message: string): void;
}

// ---------------------------------------------------------------------------------------------------
// Skip-or-fail gates

/** True when CI demands that interop tests really run (missing capabilities fail instead of skipping). */
export function interopRequired(env: Env = process.env): boolean {
  return env.GRIDWIRE_REQUIRE_INTEROP === '1';
}

/**
 * Skips the test (returning false) when `missing` lists anything, or throws when interop is required.
 * Callers `return` on false because t.skip() only marks the test; it doesn't stop the body.
 */
export function gate(t: Gate, missing: readonly string[], env: Env = process.env): boolean {
  if (missing.length === 0) return true;
  const reason = missing.join('; ');
  if (interopRequired(env)) throw new Error(`GRIDWIRE_REQUIRE_INTEROP=1 but ${reason}`);
  // The SKIP line alone is easy to miss among passes; say why, under the test's name.
  if (t.diagnostic) t.diagnostic(`skipping: ${reason}`);
  else process.stderr.write(`skipping "${t.name}": ${reason}\n`);
  t.skip(reason);
  return false;
}

export function requireRoot(t: Gate, env: Env = process.env): boolean {
  return gate(t, labSupportProblems(), env);
}

/** Gate for tests that need reference peers (see peerPath); also checks root/TUN/netns. */
export function requirePeer(t: Gate, names: PeerName | readonly PeerName[], env: Env = process.env): boolean {
  const list = typeof names === 'string' ? [names] : names;
  const missing = list.flatMap((n) => {
    const p = peerPath(n, env);
    try {
      accessSync(p, constants.X_OK);
      return [];
    } catch {
      return [`peer ${n} not found at ${p} (run: bash test/peers/install.sh)`];
    }
  });
  return gate(t, [...labSupportProblems(), ...missing], env);
}

export async function withLab<T>(t: { after(fn: () => unknown): void }, body: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = new Lab();
  t.after(() => lab.cleanup());
  try {
    return await body(lab);
  } finally {
    await lab.cleanup();
  }
}

/**
 * Deletes gw-<pid>-* namespaces whose creating process is gone (left by a crashed or killed run).
 * Namespaces of live processes, including parallel runs, are never touched.
 */
