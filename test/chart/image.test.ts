// The Dockerfile and .dockerignore against what the chart expects of the image: the user the pod
// runs as, the port it probes, the entrypoint its args follow, and a build context without secrets.
// No docker binary here, so the files are read, not built.
import { existsSync, readFileSync } from 'node:fs';
import { readDefaultValues, at } from './support/helm.js';

const root = new URL('../../', import.meta.url);
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

function instruction(name: string): string[] {
  return instructions.filter((line) => line.toUpperCase().startsWith(`${name} `)).map((line) => line.slice(name.length + 1).trim());
}

describe('Dockerfile', () => {
  it('is multi-stage: builds with npm ci and tsc, installs production dependencies only, runs on distroless Node 24', () => {
    const stages = instruction('FROM');
    expect(stages).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS deps', '${RUNTIME_IMAGE}']);
    expect(instruction('ARG')).toEqual(['NODE_IMAGE=node:24-slim', 'RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot']);
    const runs = instruction('RUN');
    expect(runs).toContain('npm ci --no-audit --no-fund');
    expect(runs).toContain('npx tsc -p tsconfig.build.json');
    expect(runs.some((r) => r.startsWith('npm ci --omit=dev --ignore-scripts'))).toBe(true);
    // The runtime stage copies only built output and production dependencies.
    expect(instruction('COPY').filter((c) => c.startsWith('--from='))).toEqual(['--from=deps /app/node_modules ./node_modules', '--from=build /src/dist ./dist']);
  });

  it('runs as the uid and gid the chart sets, on the port the chart probes, with `signet serve` as entrypoint', () => {
    const values = readDefaultValues();
    expect(instruction('USER')).toEqual([`${String(at(values, 'podSecurityContext', 'runAsUser'))}:${String(at(values, 'podSecurityContext', 'runAsGroup'))}`]);
    expect(instruction('EXPOSE')).toEqual([String(values['containerPort'])]);
    const entrypoint = JSON.parse(instruction('ENTRYPOINT')[0]!) as string[];
    expect(entrypoint).toEqual(['/nodejs/bin/node', '--max-semi-space-size=16', '/app/dist/cli.js', 'serve']);
    // dist/cli.js is what tsc makes of src/cli.ts with tsconfig.build.json (rootDir src, outDir dist).
    const build = JSON.parse(readFileSync(new URL('tsconfig.build.json', root), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(existsSync(new URL('src/cli.ts', root))).toBe(true);
  });

  it('may pass --ignore-scripts: no production dependency in package-lock.json has an install script', () => {
    const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages).filter(([path, p]) => path !== '' && !p.dev && p.hasInstallScript).map(([path]) => path);
    expect(withScripts).toEqual([]);
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(new URL('.dockerignore', root), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('excludes everything, then lets in exactly what the Dockerfile copies from the context', () => {
    expect(patterns[0]).toBe('*');
    const allowed = patterns.slice(1).map((p) => p.replace(/^!/, ''));
    const copiedFromContext = instruction('COPY')
      .filter((c) => !c.startsWith('--from='))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    expect([...new Set(copiedFromContext)].sort()).toEqual([...allowed].sort());
    for (const secretish of ['node_modules', '.git', '.tools', 'test', '.signet-local', 'dist']) expect(allowed).not.toContain(secretish);
  });
});
