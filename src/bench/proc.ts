// What the bench reads from /proc: CPU time and memory of the engine processes, and machine-wide busy time.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime+stime of a process (all its threads) or of one thread (`/proc/<pid>/task/<tid>`), in seconds. */
function statCpu(path: string): number {
  try {
    // The command name may contain spaces and parentheses; fields are counted after the last ')'.
    const fields = readFileSync(path, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return 0;
  }
}

/** CPU seconds used so far by these processes together (an exited one counts 0). */
export function cpuSeconds(pids: readonly number[]): number {
  return pids.reduce((s, pid) => s + statCpu(`/proc/${pid}/stat`), 0);
}

/**
 * CPU seconds of this process's threads other than the main (JavaScript) thread: the engine threads
 * when an engine runs in-process and the main thread generates its traffic.
 */
export function nonMainThreadCpuSeconds(): number {
  let total = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    if (Number(tid) !== process.pid) total += statCpu(`/proc/self/task/${tid}/stat`);
  }
  return total;
}

function statusKiB(pid: number | 'self', field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Peak resident set size (VmHWM) in bytes. */
export const peakRss = (pid: number | 'self'): number => statusKiB(pid, 'VmHWM') * 1024;
/** Current resident set size (VmRSS) in bytes. */
export const rss = (pid: number | 'self'): number => statusKiB(pid, 'VmRSS') * 1024;

/** Busy (user, nice, system, irq, softirq, steal) CPU seconds of the whole machine, all cores summed. */
export function machineBusySeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return (user + nice + system + irq + softirq + steal) / clockTicks();
}

/** The 1-minute load average, for the report's statement of the machine's load. */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
