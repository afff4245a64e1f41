// Tenant policies: the policy document format, written by a namespace's owners, accepted only in a form
// that can add requirements and never take one away. A tenant policy is compiled on its own (its keys
// are never seen by the cluster policy or by another tenant) and only ever applies to objects in its own
// namespace, on top of the cluster decision: an image must satisfy the cluster policy AND the tenant
// policy. What a tenant policy may hold (docs/kubernetes.md, "Tenant policies"):
// - keys, rules with action verify (the default) or deny, metadata.name;
// - mode: enforce, defaults.failurePolicy: closed and defaults.unmatched: deny (deny images in this
//   namespace that none of the tenant's rules match), which only restate or tighten.
// Refused, each with a message naming the field: exemptions, breakGlass, action allow, mode warn/audit,
// defaults.unmatched allow, defaults.failurePolicy open, rules[].namespaces, digest pinning settings, and
// dct verifiers (they name a notary server that Signet would contact on the tenant's word).
// This module never decides an admission; it only produces the tenant's compiled policy.

import { createHash } from 'node:crypto';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import type { LoadTextOptions } from './load.js';
import { loadPolicyText } from './load.js';
import type { PathSegment } from './problem.js';
import { formatPath } from './problem.js';
import { quote } from '../util/quote.js';
import { parseSource } from './source.js';
import type { CompiledPolicy, PolicyLoadError, PolicyProblem } from './types.js';
import { isRecord } from '../util/is-record.js';

/** Changes when the same tenant text comes to mean something else, so no cache mixes the two. */
const TENANT_FORMAT_MARKER = 'signet-tenant-policy-1';

/** What the tenant layer does with an image none of its rules match. */
export type TenantUnmatched = 'ignore' | 'deny';

/**
 * A compiled tenant policy. Every rule is enforced and fails closed; nothing is exempt. When
 * `tenant.unmatched` is `ignore`, `defaults.unmatched` is `allow`: evaluated on its own, the tenant layer
 * raises no objection to images it does not cover. It must therefore only ever be combined with the
 * cluster decision (both must allow), never used in place of the cluster policy.
 */
export interface CompiledTenantPolicy extends CompiledPolicy {
  readonly tenant: {
    readonly namespace: string;
    readonly unmatched: TenantUnmatched;
  };
}

export interface TenantLoadOptions extends LoadTextOptions {
  /** The namespace the tenant policy belongs to (the ConfigMap's namespace). */
  readonly namespace: string;
}

interface Restriction {
  readonly path: readonly PathSegment[];
  readonly message: string;
  readonly at: 'key' | 'value';
}

const LOOSE_MODES: ReadonlySet<unknown> = new Set(['warn', 'audit']);

function modeProblem(mode: unknown): string {
  return `mode ${String(mode)} would let images that fail this rule in; tenant rules are always enforced, so remove mode (or write enforce)`;
}

/** Every field of a tenant document that could loosen a decision or reach beyond the namespace. */
function tenantRestrictions(data: unknown, namespace: string): Restriction[] {
  if (!isRecord(data)) return [];
  const problems: Restriction[] = [];
  if (data.exemptions !== undefined) {
    problems.push({ path: ['exemptions'], at: 'key', message: 'a tenant policy cannot exempt namespaces; exemptions are set in the cluster policy only. Remove exemptions' });
  }
  if (data.breakGlass !== undefined) {
    problems.push({ path: ['breakGlass'], at: 'key', message: 'a tenant policy cannot configure break-glass; it is set in the cluster policy only. Remove breakGlass' });
  }
  const defaults = isRecord(data.defaults) ? data.defaults : {};
  if (LOOSE_MODES.has(defaults.mode)) problems.push({ path: ['defaults', 'mode'], at: 'value', message: modeProblem(defaults.mode) });
  if (defaults.unmatched === 'allow') {
    problems.push({
      path: ['defaults', 'unmatched'],
      at: 'value',
      message:
        'a tenant policy cannot allow images, only add requirements; images none of its rules match already get no extra requirement from it. Remove unmatched, or write deny to also deny those images in this namespace',
    });
  }
  if (defaults.failurePolicy === 'open') {
    problems.push({ path: ['defaults', 'failurePolicy'], at: 'value', message: 'tenant requirements always fail closed; remove failurePolicy (or write closed)' });
  }
  if (defaults.pinDigests !== undefined) {
    problems.push({ path: ['defaults', 'pinDigests'], at: 'key', message: 'digest pinning is decided by the cluster policy; remove pinDigests' });
  }
  const rules = Array.isArray(data.rules) ? data.rules : [];
  rules.forEach((rule: unknown, index) => {
    if (!isRecord(rule)) return;
    if (rule.action === 'allow') {
      problems.push({
        path: ['rules', index, 'action'],
        at: 'value',
        message: 'a tenant rule cannot allow images (that would exempt them from the checks); tenant policies only add requirements, so use action verify or deny',
      });
    }
    if (LOOSE_MODES.has(rule.mode)) problems.push({ path: ['rules', index, 'mode'], at: 'value', message: modeProblem(rule.mode) });
    if (rule.namespaces !== undefined) {
      problems.push({
        path: ['rules', index, 'namespaces'],
        at: 'key',
        message: `a tenant policy applies only to objects in its own namespace (${quote(namespace)}); remove namespaces`,
      });
    }
    if (rule.pinDigest !== undefined) {
      problems.push({ path: ['rules', index, 'pinDigest'], at: 'key', message: 'digest pinning is decided by the cluster policy; remove pinDigest' });
    }
    const verifiers = Array.isArray(rule.verify) ? rule.verify : [];
    verifiers.forEach((verifier: unknown, verifierIndex) => {
      // Every other verifier only reads the image's own registry; dct names a server Signet would then
      // contact from inside the cluster, on the word of whoever can write a ConfigMap in this namespace.
      if (isRecord(verifier) && verifier.type === 'dct') {
        problems.push({
          path: ['rules', index, 'verify', verifierIndex, 'type'],
          at: 'value',
          message: 'a tenant policy cannot use dct: it names a notary server, which Signet would contact on the tenant\'s word; use cosign, notation or keyless, or ask the cluster administrators for a dct rule',
        });
      }
    });
  });
  return problems;
}

function byPosition(a: PolicyProblem, b: PolicyProblem): number {
  return (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) || (a.column ?? 0) - (b.column ?? 0);
}

/** The same shape and wording as load.ts produces, so operators read one format everywhere. */
function invalid(sourceName: string, problems: readonly PolicyProblem[]): PolicyLoadError {
  const sorted = [...problems].sort(byPosition);
  const lines = sorted.map((problem) => {
    const where = problem.line === undefined ? sourceName : `${sourceName}:${problem.line}:${problem.column ?? 1}`;
    return `  ${where}: ${problem.path === '' ? '' : `${problem.path}: `}${problem.message}`;
  });
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  return Object.freeze({
    code: 'POLICY_INVALID',
    message: [`policy ${sourceName} is invalid (${count}):`, ...lines].join('\n'),
    problems: Object.freeze(sorted.map((problem) => Object.freeze({ ...problem }))),
  });
}

function tenantVersion(namespace: string, policyVersion: string): string {
  const hash = createHash('sha256');
  for (const field of [TENANT_FORMAT_MARKER, namespace, policyVersion]) {
    const bytes = Buffer.from(field, 'utf8');
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(bytes.length));
    hash.update(length).update(bytes);
  }
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Loads a tenant's policy text: every check of an ordinary policy, plus the tenant restrictions, all
 * reported together. Never throws for bad input.
 */
export function loadTenantPolicyText(text: string, opts: TenantLoadOptions): Result<CompiledTenantPolicy, PolicyLoadError> {
  const loaded = loadPolicyText(text, opts);
  const parsed = parseSource(text);
  const restrictions: PolicyProblem[] = [];
  if (parsed.ok) {
    for (const restriction of tenantRestrictions(parsed.data, opts.namespace)) {
      const position = parsed.locate(restriction.path, restriction.at);
      restrictions.push({ path: formatPath(restriction.path), line: position.line, column: position.column, message: restriction.message });
    }
  }
  if (!loaded.ok) return err(restrictions.length === 0 ? loaded.error : invalid(opts.sourceName, [...loaded.error.problems, ...restrictions]));
  if (restrictions.length > 0) return err(invalid(opts.sourceName, restrictions));

  const base = loaded.value;
  const written = parsed.ok && isRecord(parsed.data) && isRecord(parsed.data.defaults) ? parsed.data.defaults.unmatched : undefined;
  const unmatched: TenantUnmatched = written === 'deny' ? 'deny' : 'ignore';
  const policy: CompiledTenantPolicy = {
    ...base,
    version: tenantVersion(opts.namespace, base.version),
    defaults: Object.freeze({ mode: 'enforce', unmatched: unmatched === 'deny' ? 'deny' : 'allow', failurePolicy: 'closed', pinDigests: false }),
    exemptNamespaces: Object.freeze([]),
    isNamespaceExempt: () => false,
    breakGlass: undefined,
    tenant: Object.freeze({ namespace: opts.namespace, unmatched }),
  };
  return ok(Object.freeze(policy));
}
