// The shared store against a real redis-server: sealed values, refusals of what was not sealed with
// the replicas' key (or was moved, or expired), claims, and Redis going away without failing anyone.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisSharedStore } from '../../src/shared-cache/redis-store.js';
import { haveTools } from '../support/registry-server.js';
import { forgedSealedValue, startRedis, type RunningRedis } from '../support/redis-server.js';

const maybe = haveTools('redis-server') ? describe : describe.skip;

maybe('RedisSharedStore', () => {
  let redis: RunningRedis;
  let raw: Redis;
  const key = randomBytes(32);
  const stores: RedisSharedStore[] = [];
  const problems: string[] = [];
  const store = (overrides: Partial<ConstructorParameters<typeof RedisSharedStore>[0]> = {}): RedisSharedStore => {
    const made = new RedisSharedStore({ url: redis.url, hmacKey: key, commandTimeoutMs: 200, onProblem: (m) => problems.push(m), ...overrides });
    stores.push(made);
    return made;
  };
  /** Waits for the background write of set() to land. */
  const landed = async (name: string, by: RedisSharedStore): Promise<void> => {
    for (let i = 0; i < 100 && (await raw.exists(by.redisName(name))) === 0; i++) await new Promise((r) => setTimeout(r, 10));
  };
  const ready = async (s: RedisSharedStore): Promise<void> => {
    expect(await s.whenReady(5000)).toBe(true);
  };

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    raw?.disconnect();
    await redis?.close();
  });

  test('a value set by one replica is read by another with the same key, until its TTL', async () => {
    const a = store();
    const b = store();
    await ready(a);
    await ready(b);
    a.set('tag\u0000anonymous\u0000r/x:1', Buffer.from('hello'), 60_000);
    await landed('tag\u0000anonymous\u0000r/x:1', a);
    // Redis holds no readable name: neither the registry nor the credential hash.
    expect((await raw.keys('*')).some((k) => k.includes('r/x') || k.includes('anonymous'))).toBe(false);
    expect((await b.get('tag\u0000anonymous\u0000r/x:1', 60_000))?.toString()).toBe('hello');
    expect(b.stats()).toMatchObject({ hits: 1, rejected: 0 });
    expect(await b.get('tag\u0000anonymous\u0000r/x:2', 60_000)).toBeUndefined();
    expect(b.stats().misses).toBe(1);
  });

  test('refused: a value not sealed with the key, one sealed with another key, one moved to another name, one past its expiry', async () => {
    const writer = store();
    const reader = store();
    await ready(writer);
    await ready(reader);
    await raw.set(reader.redisName('forged'), Buffer.from('{"digest":"sha256:00"}'));
    expect(await reader.get('forged', 60_000)).toBeUndefined();
    // Framed as a sealed value, with a MAC that is not the key's: only the MAC check refuses it.
    await raw.set(reader.redisName('framed'), forgedSealedValue(Buffer.from('{"digest":"sha256:00"}')));
    expect(await reader.get('framed', 60_000)).toBeUndefined();

    const stranger = store({ hmacKey: randomBytes(32) });
    await ready(stranger);
    stranger.set('other-key', Buffer.from('x'), 60_000);
    await landed('other-key', stranger);
    // Another key names entries differently too; put its value where this key would look.
    await raw.set(reader.redisName('other-key'), (await raw.getBuffer(stranger.redisName('other-key')))!);
    expect(await reader.get('other-key', 60_000)).toBeUndefined();

    writer.set('original', Buffer.from('value'), 60_000);
    await landed('original', writer);
    await raw.set(writer.redisName('moved'), (await raw.getBuffer(writer.redisName('original')))!);
    expect(await reader.get('moved', 60_000)).toBeUndefined();
    expect((await reader.get('original', 60_000))?.toString()).toBe('value');

    const later = store({ now: () => Date.now() + 120_000 });
    await ready(later);
    expect(await later.get('original', 60_000)).toBeUndefined();
    expect(reader.stats().rejected).toBe(4);
    expect(later.stats().rejected).toBe(1);
  });

  test('an entry sealed to live longer than its kind may is refused, even with the right key', async () => {
    const writer = store();
    await ready(writer);
    writer.set('long', Buffer.from('v'), 10 * 365 * 86_400_000);
    await landed('long', writer);
    expect(await writer.get('long', 30_000)).toBeUndefined();
    expect((await writer.get('long', 20 * 365 * 86_400_000))?.toString()).toBe('v');
  });

  test('a claim is held by one replica until released or expired', async () => {
    const a = store();
    const b = store();
    await ready(a);
    await ready(b);
    expect(await a.claim('manifest x', 5_000)).toBe(true);
    expect(await b.claim('manifest x', 5_000)).toBe(false);
    a.release('manifest x');
    let reclaimed = false;
    for (let i = 0; i < 100 && !reclaimed; i++) {
      reclaimed = await b.claim('manifest x', 50);
      if (!reclaimed) await new Promise((r) => setTimeout(r, 10));
    }
    expect(reclaimed).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(await a.claim('manifest x', 5_000)).toBe(true);
  });

  test('Redis down: misses and go-aheads, never an error; the breaker opens; back when Redis is', async () => {
    const s = store({ breakerOpenMs: 300 });
    await ready(s);
    s.set('kept', Buffer.from('v'), 60_000);
    await landed('kept', s);
    await redis.stop();
    for (let i = 0; i < 6; i++) expect(await s.get('kept', 60_000)).toBeUndefined();
    expect(await s.claim('anything', 1000)).toBe(true);
    expect(s.stats()).toMatchObject({ breakerOpen: true });
    expect(s.stats().errors).toBeGreaterThanOrEqual(5);
    s.set('ignored while open', Buffer.from('v'), 60_000);

    await redis.restart();
    raw.disconnect();
    raw = new Redis(redis.url);
    let value: Buffer | undefined;
    for (let i = 0; i < 100 && value === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      s.set('after', Buffer.from('back'), 60_000);
      value = await s.get('after', 60_000);
    }
    expect(value?.toString()).toBe('back');
    expect(s.stats().breakerOpen).toBe(false);
    expect(problems.some((p) => p.includes('failures in a row'))).toBe(true);
  }, 30_000);

  test('configuration errors are refused at start, without echoing the secret', () => {
    expect(() => new RedisSharedStore({ url: redis.url, hmacKey: Buffer.alloc(16) })).toThrow('the shared cache key must be at least 32 bytes, got 16');
    expect(() => new RedisSharedStore({ url: 'http://127.0.0.1:1', hmacKey: key })).toThrow('the shared cache URL must start with redis:// or rediss://, not http://');
    expect(() => new RedisSharedStore({ url: 'not a url :secret', hmacKey: key })).toThrow(/^the shared cache URL is not a valid URL \(expected redis:\/\/host:port or rediss:\/\/host:port\)$/);
  });

  test('problems reported never carry the password or the key', async () => {
    const password = 'Sup3r-secret-pw';
    const locked = await startRedis({ password: 'the-right-one' });
    const seen: string[] = [];
    const s = new RedisSharedStore({ url: `redis://default:${password}@127.0.0.1:${locked.port}`, hmacKey: key, onProblem: (m) => seen.push(m) });
    stores.push(s);
    const right = new RedisSharedStore({ url: `redis://127.0.0.1:${locked.port}`, password: 'the-right-one', hmacKey: key });
    stores.push(right);
    await ready(right);
    right.set('x', Buffer.from('v'), 60_000);
    for (let i = 0; i < 50 && (await right.get('x', 60_000)) === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await right.get('x', 60_000))?.toString()).toBe('v');
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await s.get('x', 60_000)).toBeUndefined();
    expect(seen.length).toBeGreaterThan(0);
    for (const line of seen) {
      expect(line).not.toContain(password);
      expect(line).not.toContain(key.toString('hex'));
      expect(line).not.toContain(key.toString('base64'));
    }
    await s.close();
    await right.close();
    await locked.close();
  });
});
