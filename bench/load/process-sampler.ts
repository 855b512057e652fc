/**
 * CPU and memory of a process from /proc (Linux): utime+stime of /proc/<pid>/stat and VmRSS of
 * /proc/<pid>/status, sampled at a fixed interval. CPU is reported as a percentage of one core over a
 * window; RSS as the peak and last sample in the window. Also the whole machine's busy share from /proc/stat,
 * so a reader can tell whether the cores were saturated (e.g. by a background job).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  /* keep 100 */
}

export interface CpuMem {
  /** CPU time used in the window, as % of one core. */
  cpuPct: number;
  /**
   * The main thread (the event loop) alone, from /proc/<pid>/schedstat: % of the window on a CPU, and % of it
   * runnable but waiting for a CPU (other processes had the cores). The rest it was idle or blocked (I/O).
   */
  mainThread: { cpuPct: number; runQueueWaitPct: number } | null;
  peakRssMiB: number;
  lastRssMiB: number;
}

/** Process CPU seconds (user + system) and RSS bytes, or null when /proc is unavailable. */
export function readProc(pid: number): { cpuS: number; rss: number } | null {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return null;
  try {
    const s = readFileSync(stat, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): utime is field 14, stime field 15.
    const cpuS = (Number(f[11]) + Number(f[12])) / clkTck;
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuS, rss: m ? Number(m[1]) * 1024 : 0 };
  } catch {
    return null;
  }
}

/** Busy and total jiffies of all CPUs (/proc/stat first line). */
function readMachine(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Main thread's nanoseconds on a CPU and waiting on a run queue. */
function readSchedstat(pid: number): { runNs: number; waitNs: number } | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isFinite(run) && Number.isFinite(wait) ? { runNs: run, waitNs: wait } : null;
  } catch {
    return null;
  }
}

export class ProcessSampler {
  private sched0: { runNs: number; waitNs: number } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private first: { cpuS: number; rss: number } | null = null;
  private last: { cpuS: number; rss: number } | null = null;
  private peakRss = 0;
  private machine0: { busy: number; total: number } | null = null;

  constructor(private readonly pid: number, private readonly intervalMs = 250) {}

  get available(): boolean {
    return readProc(this.pid) !== null;
  }

  /** Starts a window. */
  start(): void {
    this.t0 = performance.now();
    this.first = readProc(this.pid);
    this.last = this.first;
    this.peakRss = this.first?.rss ?? 0;
    this.machine0 = readMachine();
    this.sched0 = readSchedstat(this.pid);
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  private sample(): void {
    const s = readProc(this.pid);
    if (!s) return;
    this.last = s;
    this.peakRss = Math.max(this.peakRss, s.rss);
  }

  /** Ends the window: the process's CPU and memory, and the machine's busy share (% of all cores). */
  stop(): CpuMem & { machineBusyPct: number | null } {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const wallS = (performance.now() - this.t0) / 1000;
    const sched1 = readSchedstat(this.pid);
    const pctOfWall = (ns: number) => +((100 * ns) / 1e9 / wallS).toFixed(1);
    const mainThread = this.sched0 && sched1
      ? { cpuPct: pctOfWall(sched1.runNs - this.sched0.runNs), runQueueWaitPct: pctOfWall(sched1.waitNs - this.sched0.waitNs) }
      : null;
    const m1 = readMachine();
    const machineBusyPct = this.machine0 && m1 && m1.total > this.machine0.total
      ? +((100 * (m1.busy - this.machine0.busy)) / (m1.total - this.machine0.total)).toFixed(1)
      : null;
    const mib = (b: number) => +(b / 2 ** 20).toFixed(1);
    return {
      cpuPct: this.first && this.last ? +((100 * (this.last.cpuS - this.first.cpuS)) / wallS).toFixed(1) : NaN,
      mainThread,
      peakRssMiB: mib(this.peakRss),
      lastRssMiB: mib(this.last?.rss ?? 0),
      machineBusyPct,
    };
  }
}

/** This process's CPU over a window, as % of one core (process.cpuUsage; works everywhere). */
export function selfCpu(): () => number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const c = process.cpuUsage(c0);
    return +((100 * (c.user + c.system) / 1000) / (performance.now() - t0)).toFixed(1);
  };
}
