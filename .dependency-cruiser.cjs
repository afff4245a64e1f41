// The import rules of the layout (docs/adr/0005-layout.md), checked by `make lint`.
// Each room under src/ may import only the rooms listed for it, so the tree reads as the data flow and
// no two rooms can import each other; on top, a few rules say what pure rooms must never reach.

/** Room → the rooms it may import. A room not listed here is refused until it is added. */
const ALLOWED = {
  cli: ['server', 'shared-cache', 'admission', 'pipeline', 'decide', 'policy', 'trust', 'kube', 'keys', 'discovery', 'signatures', 'signing', 'registry', 'reference', 'telemetry', 'util'],
  server: ['shared-cache', 'admission', 'pipeline', 'decide', 'policy', 'trust', 'kube', 'keys', 'registry', 'reference', 'telemetry', 'util'],
  trust: ['policy', 'kube', 'keys', 'signatures', 'reference', 'util'],
  kube: ['admission', 'decide', 'policy', 'registry', 'reference', 'util'],
  pipeline: ['admission', 'decide', 'policy', 'trust', 'keys', 'discovery', 'signatures', 'registry', 'reference', 'util'],
  admission: ['decide', 'policy', 'reference', 'util'],
  decide: ['policy', 'signatures', 'keys', 'reference', 'util'],
  policy: ['signatures', 'keys', 'reference', 'util'],
  signing: ['discovery', 'signatures', 'keys', 'registry', 'reference', 'util'],
  discovery: ['signatures', 'registry', 'reference', 'util'],
  signatures: ['keys', 'reference', 'util'],
  'shared-cache': ['registry', 'util'],
  registry: ['reference', 'util'],
  keys: ['util'],
  reference: ['util'],
  telemetry: ['util'],
  util: [],
};

const rooms = Object.keys(ALLOWED);

/** Rooms that decide or verify: no I/O of their own, no HTTP, no Kubernetes. */
const PURE = '^src/(decide|policy|signatures|keys|reference|admission)/';

module.exports = {
  forbidden: [
    ...rooms.map((room) => ({
      name: `room-${room}`,
      comment: `src/${room}/ may import only: ${ALLOWED[room].join(', ') || 'nothing outside itself'} (see .dependency-cruiser.cjs and the layout ADR)`,
      severity: 'error',
      from: { path: `^src/${room}/` },
      to: { path: '^src/', pathNot: [`^src/(${[room, ...ALLOWED[room]].join('|')})/`] },
    })),
    {
      name: 'room-unknown',
      comment: 'every folder under src/ is a room with declared imports; add a new one to ALLOWED',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: `^src/(${rooms.join('|')})/` },
      to: {},
    },
    {
      name: 'pure-rooms-do-no-io',
      comment: 'decision, policy, verifiers, keys, references and admission in/out do no I/O and know no HTTP server or Kubernetes client',
      severity: 'error',
      from: { path: PURE },
      to: { path: ['^src/util/(bounded-file|poll)\\.ts$', '^(node:)?(fs|fs/promises|http|https|http2|tls|dgram|child_process)$', 'node_modules/(undici|fastify|@kubernetes/client-node|pino|prom-client)/'] },
    },
    {
      name: 'no-circular',
      comment: 'modules form no import cycle',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
