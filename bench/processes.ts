// Starts and stops the benchmark's helper processes (webhook, ceiling server, logging proxy) and
// makes sure none outlives the run: each is tracked from spawn to exit and killed on any way out.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const STOP_GRACE_MS = 5_000;

const running = new Set<ChildProcess>();

/** Last resort on exit: whatever is still running gets SIGKILL (exit handlers cannot wait). */
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Text the process wrote (its log file's tail), for error messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** stdout and stderr go to this file (a webhook logging at info must not be read by the load generator's process). */
  readonly logFile: string;
}

/** Spawns `node ARGS` with output to a file. */
export function spawnNode(o: SpawnOptions): Child {
  const fd = openSync(o.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...o.args], { env: o.env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  return track(o.name, child, () => tail(o.logFile));
}

/**
 * Spawns `node ARGS` whose first stdout line is a JSON object (it announces its port); resolves
 * with that object. stderr goes to the log file.
 */
export async function spawnAnnouncing(o: SpawnOptions, timeoutMs: number): Promise<{ child: Child; announcement: Record<string, unknown> }> {
  const fd = openSync(o.logFile, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(process.execPath, [...o.args], { env: o.env, stdio: ['ignore', 'pipe', fd] });
  } finally {
    closeSync(fd);
  }
  const child = track(o.name, proc, () => tail(o.logFile));
  const lines = createInterface({ input: proc.stdout! });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${o.name} did not announce itself within ${timeoutMs} ms: ${child.output()}`)), timeoutMs);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(line);
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${o.name} exited (${signal ?? code}) before announcing itself: ${child.output()}`));
      });
    });
    // Later lines are drained so the child never blocks on a full pipe.
    lines.on('line', () => undefined);
    return { child, announcement: JSON.parse(first) as Record<string, unknown> };
  } catch (error) {
    lines.close();
    await child.stop();
    throw error;
  }
}

function track(name: string, proc: ChildProcess, output: () => string): Child {
  running.add(proc);
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  void exited.then(() => running.delete(proc));
  if (proc.pid === undefined) throw new Error(`could not start ${name}: ${output()}`);
  const pid = proc.pid;
  let stopping: Promise<void> | undefined;
  return {
    name,
    pid,
    process: proc,
    output,
    stop: () => {
      stopping ??= (async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), STOP_GRACE_MS);
        });
        if ((await Promise.race([exited.then(() => 'exited' as const), late])) === 'late') {
          proc.kill('SIGKILL');
          await exited;
        }
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Kills every child still running (used on failure and on signals). */
export async function stopAll(): Promise<void> {
  const all = [...running];
  await Promise.all(
    all.map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          const timer = setTimeout(() => {
            proc.kill('SIGKILL');
          }, STOP_GRACE_MS);
          proc.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          proc.kill('SIGTERM');
        }),
    ),
  );
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-3000);
  } catch {
    return '(no output)';
  }
}

/** Resident and peak resident memory of a process, in bytes, from /proc/<pid>/status. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]) * 1024;
  };
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

let clockTicks: number | undefined;

/** CPU time (user + system, every thread) a process has used so far, in seconds, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are plain.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`/proc/${pid}/stat is not in the expected format`);
  return (utime + stime) / clockTicks;
}
