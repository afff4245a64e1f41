// The Sigstore system for the pipeline: the classic cosign `sha256-<hex>.sig` layers (for keyless
// certificates; discovery/cosign.ts) and the Sigstore bundles attached as OCI referrers
// (discovery/sigstore-bundles.ts), judged together by signatures/sigstore/verify.ts.
import { repositoryName } from '../../reference/parse.js';
import type { TrustedKey } from '../../keys/types.js';
import { ok } from '../../util/result.js';
import type { Result } from '../../util/result.js';
import { discoverCosignSignatures } from '../../discovery/cosign.js';
import type { CompiledSigstoreVerifier } from '../../signatures/sigstore/policy.js';
import type { CheckTarget, SystemCheckError, SystemReport } from './check.js';
import type { CosignSignatureLayer } from '../../signatures/cosign/verify.js';
import type { SignatureCheck } from '../../signatures/types.js';
import { verifySigstoreSignatures } from '../../signatures/sigstore/verify.js';
import type { SigstoreTrust } from '../../signatures/sigstore/verify.js';
import { discoverSigstoreBundles } from '../../discovery/sigstore-bundles.js';

export { MAX_BUNDLE_BYTES, MAX_BUNDLE_REFERRERS, SIGSTORE_BUNDLE_ARTIFACT_TYPE } from '../../discovery/sigstore-bundles.js';

/**
 * Key-based bundles are signatures by the policy's named keys, so a `cosign` rule entry can be
 * passed as is: its keys, required annotations and identity check apply to bundles too.
 */
export interface CosignKeysVerifier {
  readonly type: 'cosign';
  readonly keys: readonly TrustedKey[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly identity?: 'ignore' | 'repository';
}

export async function checkSigstore(
  target: CheckTarget,
  verifier: CompiledSigstoreVerifier | CosignKeysVerifier,
): Promise<Result<SystemReport, SystemCheckError>> {
  const options = target.signal === undefined ? {} : { signal: target.signal };
  const name = repositoryName(target.repo);
  const trust: SigstoreTrust =
    verifier.type === 'keyless'
      ? verifier.trust
      : { kind: 'key', keys: verifier.keys, annotations: verifier.annotations ?? {}, identity: verifier.identity ?? 'ignore' };

  const checks: SignatureCheck[] = [];
  let layers: readonly CosignSignatureLayer[] = [];
  let lookedAt = `Sigstore bundle referrers of ${target.digest} in ${name}`;
  // Key-signed `.sig` layers are the cosign verifier's; only certificates make a `.sig` layer ours.
  if (trust.kind === 'keyless') {
    const discovered = await (target.cosignSignatures?.() ?? discoverCosignSignatures(target.registry, target.repo, target.digest, options));
    if (!discovered.ok) return discovered;
    checks.push(...discovered.value.rejected);
    layers = discovered.value.layers;
    lookedAt = `tag ${discovered.value.tag} and ${lookedAt}`;
  }

  const bundles = await discoverSigstoreBundles(target);
  if (!bundles.ok) return bundles;
  checks.push(...bundles.value.rejected);

  // One signature at a time, with a turn of the event loop before each: a tenant's own trust root
  // and identity patterns decide how long one check takes (bounded: tens of milliseconds at worst,
  // see MATCH_WORK_LIMIT), and 48 of them in one go would hold up health checks and every other review.
  const input = { imageDigest: target.digest, imageRepository: name, trust, now: target.now };
  for (const [index, layer] of layers.entries()) {
    await nextTurn();
    checks.push(...verifySigstoreSignatures({ ...input, layers: [layer], firstLayerPosition: index + 1, bundles: [] }));
  }
  for (const blob of bundles.value.blobs) {
    await nextTurn();
    checks.push(...verifySigstoreSignatures({ ...input, layers: [], bundles: [blob] }));
  }
  return ok({ checks, lookedAt });
}

/** Lets timers and I/O (health probes, other reviews) run before the next piece of CPU work. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
