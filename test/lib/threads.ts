// The names of this process's threads, as the kernel reports them (what top -H and perf show).
import { readFileSync, readdirSync } from 'node:fs';

export function threadNames(): string[] {
  return readdirSync('/proc/self/task').map((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return ''; // the thread ended between the listing and the read
    }
  });
}
