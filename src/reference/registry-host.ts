// Registry host checking: decides whether the first component of an image name is a valid
// `host[:port]` and returns its one canonical spelling. Policies match on the canonical form, so every
// way of writing the same registry must either map to one string or be rejected; a second spelling
// that reached the runtime unchanged could otherwise slip past a policy written for the first.
//
// Decisions (kept deliberately stricter than docker/distribution, never looser):
// - Host names must be lower case. DNS would treat `Registry.Example.com` as `registry.example.com`,
//   but folding case is not safe for dotless names: `MyOrg/app` is read as registry `MyOrg` (Docker's
//   rule), and folding it to `myorg/app` would turn it into the Docker Hub repository `myorg/app`.
//   Rejecting keeps one meaning per string.
// - IPv6 literals (hex and colons in brackets, as distribution allows) must be real IPv6 addresses and
//   are rewritten to their compressed lower-case form (RFC 5952), because `[FE80:0::1]` and `[fe80::1]`
//   are one address with one canonical text.
// - Ports must be decimal 1..65535 without leading zeros (`:05000` is the same port as `:5000`).

import { isIPv6 } from 'node:net';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { quote } from '../util/quote.js';

const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const IPV6_TEXT = /^[0-9A-Fa-f:]+$/;
const DIGITS = /^[0-9]+$/;

function checkPort(port: string, registry: string): Result<string, string> {
  if (port.length === 0) {
    return err(`registry ${quote(registry)} has ":" without a port number`);
  }
  if (!DIGITS.test(port)) {
    return err(`port ${quote(port)} of registry ${quote(registry)} must be numeric`);
  }
  const value = Number(port);
  if (port.length > 5 || value < 1 || value > 65535 || port.startsWith('0')) {
    return err(`port ${quote(port)} of registry ${quote(registry)} must be a number from 1 to 65535 without leading zeros`);
  }
  return ok(port);
}

function checkIpv6Host(registry: string): Result<string, string> {
  const close = registry.indexOf(']');
  if (close < 0) {
    return err(`registry ${quote(registry)} has "[" without a closing "]"`);
  }
  const address = registry.slice(1, close);
  const afterAddress = registry.slice(close + 1);
  if (!IPV6_TEXT.test(address) || !isIPv6(address)) {
    return err(`registry ${quote(registry)} has an invalid IPv6 address ${quote(address)}`);
  }
  // WHATWG URL serialises IPv6 hosts in RFC 5952 form; the address was validated above, so this cannot throw.
  const canonicalAddress = new URL(`http://[${address}]/`).hostname;
  if (afterAddress.length === 0) {
    return ok(canonicalAddress);
  }
  if (!afterAddress.startsWith(':')) {
    return err(`registry ${quote(registry)} has unexpected text ${quote(afterAddress)} after "]"`);
  }
  const port = checkPort(afterAddress.slice(1), registry);
  return port.ok ? ok(`${canonicalAddress}:${port.value}`) : port;
}

function checkNamedHost(registry: string): Result<string, string> {
  const colon = registry.indexOf(':');
  const hostName = colon < 0 ? registry : registry.slice(0, colon);
  if (hostName.length === 0) {
    return err(`registry ${quote(registry)} has an empty host name`);
  }
  const badLabel = hostName.split('.').find((label) => !HOST_LABEL.test(label));
  if (badLabel !== undefined) {
    const detail = badLabel.length === 0 ? 'an empty label' : `the invalid label ${quote(badLabel)}`;
    return err(
      `registry host ${quote(hostName)} is not a valid host name: it has ${detail} ` +
        '(labels are letters, digits and inner "-", separated by ".")',
    );
  }
  if (hostName !== hostName.toLowerCase()) {
    const hint = colon < 0 && !hostName.includes('.')
      ? '; a first path component with upper-case letters is read as a registry host, and Docker Hub namespaces are lower case'
      : '';
    return err(`registry host ${quote(hostName)} must be lower case${hint}`);
  }
  if (colon < 0) {
    return ok(hostName);
  }
  const port = checkPort(registry.slice(colon + 1), registry);
  return port.ok ? ok(`${hostName}:${port.value}`) : port;
}

/** Checks `host[:port]` or `[ipv6][:port]`; returns the canonical spelling or a sentence saying what is wrong. */
export function checkRegistryHost(registry: string): Result<string, string> {
  return registry.startsWith('[') ? checkIpv6Host(registry) : checkNamedHost(registry);
}
