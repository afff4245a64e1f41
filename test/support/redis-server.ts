// A real redis-server (Debian package `redis-server`) on a free loopback port, without persistence,
// for the shared cache's tests and benchmark. It can be stopped and started again on the same port
// (Redis going away and coming back in the middle of reviews).
//   const redis = await startRedis();
//   ... redis.url ...
//   await redis.stop(); await redis.restart(); await redis.close();
import { createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import { freePort } from './free-port.js';
import { exited, launch, stopChild, type Started } from './child.js';

export interface RunningRedis {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** Stops the server (SIGTERM), keeping the port for restart(). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Stops it for good. */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/** `password`: required of clients (`--requirepass`). */
export async function startRedis(options: { readonly password?: string } = {}): Promise<RunningRedis> {
  const port = await freePort();
  const extra = options.password !== undefined ? ['--requirepass', options.password] : [];
  let server: Started | undefined = await launchOn(port, extra);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (server) await stopChild(server.child);
      server = undefined;
    },
    async restart() {
      if (server) await stopChild(server.child);
      server = await launchOn(port, extra);
    },
    async close() {
      if (server) await stopChild(server.child);
      server = undefined;
    },
  };
}

async function launchOn(port: number, extra: readonly string[]): Promise<Started> {
  const started = launch('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'yes', ...extra]);
  const until = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < until) {
    if (exited(started.child)) throw new Error(`redis-server exited at start:\n${started.output()}`);
    if (await answersPing(port)) return started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stopChild(started.child);
  throw new Error(`redis-server did not answer PING on port ${port} within ${READY_TIMEOUT_MS} ms:\n${started.output()}`);
}

/** One inline PING over a raw socket, so the helper depends on nothing but Node. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    // With a password required, the refusal (-NOAUTH) also says the server is up.
    socket.once('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString('utf8'))));
  });
}

/**
 * A value framed exactly as the shared cache seals one (version 1, expiry, 32-byte MAC, value) but
 * with a random MAC: what a writer to Redis without the replicas' key can produce at best. Tests use
 * it so that only the MAC check stands between the forgery and the reader.
 */
export function forgedSealedValue(value: Buffer, ttlMs = 10_000): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt8(1, 0);
  header.writeBigUInt64BE(BigInt(Date.now() + ttlMs), 1);
  return Buffer.concat([header, randomBytes(32), value]);
}
