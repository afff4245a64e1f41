// A real PKI made by the `openssl` binary in a temporary folder, for Notation timestamp and
// revocation tests: CAs run by `openssl ca` (so certificates can be revoked and CRLs issued), leaf
// certificates with the validity window and extensions a test needs, RFC 3161 tokens by
// `openssl ts -reply`, and Notation JWS envelopes signed with an openssl-made key.
//
//   const pki = new OpensslPki(dir);
//   const root = pki.rootCa('acme-root', '/C=US/ST=WA/O=Acme/CN=Acme Root');
//   const leaf = root.issue('signer', '/C=US/ST=WA/O=Acme/CN=signer', { profile: 'codeSigning' });
//   const tsa = pki.rootCa('tsa-root', '/C=US/O=Stamps/CN=Stamps Root').issue('tsa', '/C=US/O=Stamps/CN=Stamps TSA', { profile: 'timeStamping' });
//   const jws = signNotationJws({ key: leaf.keyPem, chain: [leaf, root], target });
//   const stamped = withTimestamp(jws, pki.timestamp(jws.signature, tsa, [tsa, tsaRoot]));
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';

/** Every openssl call is bounded: a stuck child must not hang the suite. */
const OPENSSL_TIMEOUT_MS = 20_000;

export function openssl(args: readonly string[], options: { cwd?: string; input?: Buffer } = {}): Buffer {
  return execFileSync('openssl', [...args], { cwd: options.cwd, input: options.input, timeout: OPENSSL_TIMEOUT_MS, stdio: ['pipe', 'pipe', 'pipe'] });
}

export interface IssuedCertificate {
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly der: Buffer;
}

export type Profile = 'codeSigning' | 'timeStamping' | 'intermediate' | 'ocspSigning';

export interface IssueOptions {
  readonly profile: Profile;
  /** openssl time format YYYYMMDDHHMMSSZ, or a Date. Default: one hour ago. */
  readonly notBefore?: Date;
  /** Default: in ten years. */
  readonly notAfter?: Date;
  /** Authority information access OCSP responder URL (revocation tests). */
  readonly ocspUrl?: string;
  /** CRL distribution point URL (revocation tests). */
  readonly crlUrl?: string;
}

function opensslTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

const PROFILES: Record<Profile, () => string> = {
  codeSigning: () => 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = codeSigning',
  timeStamping: () => 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = critical, timeStamping',
  intermediate: () => 'basicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign',
  ocspSigning: () => 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = OCSPSigning',
};

/** One CA run by `openssl ca` in its own folder (index.txt, serial, crlnumber). */
export class OpensslCa {
  readonly certificate: IssuedCertificate;
  readonly #dir: string;
  readonly #config: string;

  constructor(dir: string, certificate: IssuedCertificate) {
    this.#dir = dir;
    this.certificate = certificate;
    this.#config = join(dir, 'ca.cnf');
    mkdirSync(join(dir, 'newcerts'), { recursive: true });
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), `${(Math.floor(Math.random() * 0xefff) + 0x1000).toString(16).padStart(4, '0')}\n`);
    writeFileSync(join(dir, 'crlnumber'), '01\n');
    writeFileSync(
      this.#config,
      `[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 1
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
countryName = optional
stateOrProvinceName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
`,
    );
  }

  get dir(): string {
    return this.#dir;
  }

  /** A new key and a certificate for it, signed by this CA. */
  issue(name: string, subject: string, options: IssueOptions): IssuedCertificate {
    const keyPath = join(this.#dir, `${name}.key`);
    const csrPath = join(this.#dir, `${name}.csr`);
    const certPath = join(this.#dir, `${name}.crt`);
    const extPath = join(this.#dir, `${name}.ext`);
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
    openssl(['req', '-new', '-key', keyPath, '-subj', subject, '-out', csrPath]);
    const extra = [
      options.ocspUrl !== undefined ? `authorityInfoAccess = OCSP;URI:${options.ocspUrl}` : '',
      options.crlUrl !== undefined ? `crlDistributionPoints = URI:${options.crlUrl}` : '',
    ].filter((line) => line !== '');
    writeFileSync(extPath, `[ ext ]\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n${PROFILES[options.profile]()}\n${extra.join('\n')}\n`);
    const notBefore = options.notBefore ?? new Date(Date.now() - 3600_000);
    const notAfter = options.notAfter ?? new Date(Date.now() + 10 * 365 * 86400_000);
    openssl([
      'ca', '-batch', '-notext', '-config', this.#config, '-cert', this.certificate.certPath, '-keyfile', this.certificate.keyPath,
      '-in', csrPath, '-out', certPath, '-extfile', extPath, '-extensions', 'ext',
      '-startdate', opensslTime(notBefore), '-enddate', opensslTime(notAfter),
    ]);
    return loaded(name, certPath, keyPath);
  }

  /** A subordinate CA (pathlen 0) run from its own folder. */
  intermediate(name: string, subject: string): OpensslCa {
    const issued = this.issue(name, subject, { profile: 'intermediate' });
    const dir = join(this.#dir, name);
    return new OpensslCa(dir, issued);
  }

  /** Marks the certificate revoked in this CA's database (for `openssl ocsp -index` and CRLs). */
  revoke(certificate: IssuedCertificate, reason = 'keyCompromise'): void {
    openssl(['ca', '-batch', '-config', this.#config, '-cert', this.certificate.certPath, '-keyfile', this.certificate.keyPath, '-revoke', certificate.certPath, '-crl_reason', reason]);
  }

  /** A CRL (DER) of this CA's revocations, valid for `hours` (default 24). */
  crl(hours = 24): Buffer {
    const out = join(this.#dir, 'crl.pem');
    openssl(['ca', '-batch', '-config', this.#config, '-cert', this.certificate.certPath, '-keyfile', this.certificate.keyPath, '-gencrl', '-crlhours', String(hours), '-out', out]);
    return openssl(['crl', '-in', out, '-outform', 'DER']);
  }

  /** When `revoke` marked the certificate revoked (from the CA database; openssl keeps whole seconds). */
  revokedAt(certificate: IssuedCertificate): Date {
    const serial = openssl(['x509', '-in', certificate.certPath, '-noout', '-serial']).toString('utf8').trim().replace(/^serial=/, '').toUpperCase();
    const line = readFileSync(this.indexPath, 'utf8').split('\n').find((entry) => entry.startsWith('R\t') && entry.split('\t')[3] === serial);
    const stamp = line?.split('\t')[2]?.split(',')[0];
    if (stamp === undefined) throw new Error(`certificate ${certificate.name} is not revoked in ${this.indexPath}`);
    // YYMMDDHHMMSSZ (UTCTime) in the database.
    const [yy, mo, dd, hh, mi, ss] = [0, 2, 4, 6, 8, 10].map((at) => Number(stamp.slice(at, at + 2)));
    return new Date(Date.UTC(2000 + yy!, mo! - 1, dd!, hh!, mi!, ss!));
  }

  /** The CA database, for `openssl ocsp -index`. */
  get indexPath(): string {
    return join(this.#dir, 'index.txt');
  }
}

function loaded(name: string, certPath: string, keyPath: string): IssuedCertificate {
  const certPem = readFileSync(certPath, 'utf8');
  const der = openssl(['x509', '-in', certPath, '-outform', 'DER']);
  return { name, certPath, keyPath, certPem: certPem.slice(certPem.indexOf('-----BEGIN CERTIFICATE-----')), keyPem: readFileSync(keyPath, 'utf8'), der };
}

export class OpensslPki {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** A self-signed root CA (EC P-256, CA:TRUE critical, keyCertSign+cRLSign critical). */
  rootCa(name: string, subject: string): OpensslCa {
    const dir = join(this.#dir, name);
    mkdirSync(dir, { recursive: true });
    const keyPath = join(dir, 'ca.key');
    const certPath = join(dir, 'ca.crt');
    const cnf = join(dir, 'req.cnf');
    writeFileSync(
      cnf,
      '[ req ]\ndistinguished_name = dn\nx509_extensions = v3_root\n[ dn ]\n[ v3_root ]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\n',
    );
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
    openssl(['req', '-x509', '-new', '-config', cnf, '-key', keyPath, '-subj', subject, '-days', '3650', '-sha256', '-set_serial', '1', '-out', certPath]);
    return new OpensslCa(dir, loaded(name, certPath, keyPath));
  }

  /**
   * An RFC 3161 TimeStampToken (DER, `openssl ts -reply -token_out`) over `data` (the signature
   * value), signed by `tsa` with `chain` embedded, using a signing-certificate-v2 attribute (SHA-256).
   */
  timestamp(data: Buffer, tsa: IssuedCertificate, chain: readonly IssuedCertificate[], options: { accuracy?: string; hash?: 'sha256' | 'sha384' } = {}): Buffer {
    const dir = join(this.#dir, `ts-${Date.now()}-${Math.random().toString(16).slice(2)}`);
    mkdirSync(dir, { recursive: true });
    const dataPath = join(dir, 'data');
    writeFileSync(dataPath, data);
    const chainPath = join(dir, 'chain.pem');
    writeFileSync(chainPath, chain.map((c) => c.certPem).join(''));
    const cnf = join(dir, 'tsa.cnf');
    writeFileSync(
      cnf,
      `[ tsa ]
default_tsa = tsa1
[ tsa1 ]
serial = ${join(dir, 'serial')}
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = ${options.accuracy ?? 'secs:1'}
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`,
    );
    writeFileSync(join(dir, 'serial'), '01\n');
    const query = join(dir, 'q.tsq');
    openssl(['ts', '-query', '-data', dataPath, `-${options.hash ?? 'sha256'}`, '-cert', '-out', query]);
    const token = join(dir, 'token.der');
    openssl(['ts', '-reply', '-config', cnf, '-queryfile', query, '-signer', tsa.certPath, '-inkey', tsa.keyPath, '-chain', chainPath, '-token_out', '-out', token]);
    return readFileSync(token);
  }
}

export interface NotationJws {
  /** The envelope as JSON members (flattened JWS). */
  readonly json: { payload: string; protected: string; header: Record<string, unknown>; signature: string };
  /** The raw signature value: what a timestamp countersigns. */
  readonly signature: Buffer;
}

export interface SignJwsOptions {
  /** PEM private key of the signing certificate (EC P-256: ES256). */
  readonly key: string;
  /** Signing certificate first, root last. */
  readonly chain: readonly { readonly der: Buffer }[];
  readonly target: { readonly mediaType: string; readonly digest: string; readonly size: number };
  readonly signingTime?: string;
}

/** A notary.x509 JWS envelope, as `notation sign` makes it (ES256 with the openssl-made key). */
export function signNotationJws(options: SignJwsOptions): NotationJws {
  const header = {
    alg: 'ES256',
    cty: 'application/vnd.cncf.notary.payload.v1+json',
    'io.cncf.notary.signingScheme': 'notary.x509',
    'io.cncf.notary.signingTime': options.signingTime ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    crit: ['io.cncf.notary.signingScheme'],
  };
  const protectedText = Buffer.from(JSON.stringify(header)).toString('base64url');
  const payloadText = Buffer.from(JSON.stringify({ targetArtifact: options.target })).toString('base64url');
  const signature = nodeSign('sha256', Buffer.from(`${protectedText}.${payloadText}`, 'ascii'), { key: createPrivateKey(options.key), dsaEncoding: 'ieee-p1363' });
  return {
    json: {
      payload: payloadText,
      protected: protectedText,
      header: { x5c: options.chain.map((c) => c.der.toString('base64')), 'io.cncf.notary.signingAgent': 'signet-tests/1.0' },
      signature: signature.toString('base64url'),
    },
    signature,
  };
}

/** The envelope with `token` as its `io.cncf.notary.timestampSignature` (standard base64, as notation-go writes it). */
export function withTimestamp(jws: NotationJws, token: Buffer): NotationJws {
  return { ...jws, json: { ...jws.json, header: { ...jws.json.header, 'io.cncf.notary.timestampSignature': token.toString('base64') } } };
}

export function envelopeBytes(jws: NotationJws): Buffer {
  return Buffer.from(JSON.stringify(jws.json), 'utf8');
}
