// Debian's archive (deb.debian.org/debian) and security archive (deb.debian.org/debian-security,
// security.debian.org/debian-security), for apt. Facts relied on, read in apt 2.6.1's source (Debian/apt, tag
// 2.6.1; this machine runs apt 2.6.2) and checked with apt-get 2.6.2 in test/debian.test.ts:
//
// - Proxy (methods/http.cc `HttpServerState::Open`): the first of `Acquire::<m>::Proxy::<host>` (DIRECT: none),
//   `Acquire::<m>::Proxy`, then the environment: `http_proxy`, and for a TLS source `https_proxy` when set. Only
//   the lower-case names; `no_proxy` (lower-case) then clears it for matching hosts. `<m>` is `https` then
//   `http` (methods/aptmethod.h `ConfigFind`: the https binary also reads `Acquire::http::…`). So any proxy in
//   apt's configuration (apt.conf.d, APT_CONFIG, `-o`) wins over detour's http_proxy/https_proxy, and apt then
//   does not go through detour at all. Credentials in the proxy URL are sent as `Proxy-Authorization: Basic`
//   (plain http: `HttpMethod::SendReq`; https: a CONNECT, `UnwrapHTTPConnect`).
// - Plain http sources (Debian's images: `URIs: http://deb.debian.org/debian`) reach the proxy as absolute-URI
//   requests (`GET http://deb.debian.org/debian/dists/…`), which detour routes by rule without any trust.
// - https sources (the same binary, /usr/lib/apt/methods/https → http) verify with GnuTLS
//   (methods/connect.cc `UnwrapTLS`): `Acquire::https::CaInfo` when set, else
//   `gnutls_certificate_set_x509_system_trust`, which Debian's GnuTLS 3.7 reads from the compiled-in
//   /etc/ssl/certs/ca-certificates.crt: no variable (SSL_CERT_FILE included) changes it. Settings are looked up
//   per host first (`setPostfixForMethodNames` in methods/basehttp.cc: `Acquire::https::<host>::CaInfo` before
//   `Acquire::https::CaInfo`).
// - Configuration (apt-pkg/init.cc `pkgInitConfig`): the file named by APT_CONFIG first, then
//   `Dir::Etc::parts` (/etc/apt/apt.conf.d), then `Dir::Etc::main` (/etc/apt/apt.conf), then `-o`; a later value
//   replaces an earlier one. `#include "FILE";` reads a file in place (apt-pkg/contrib/configuration.cc
//   `ReadConfigFile`; a missing one is an error there, while a missing APT_CONFIG is only a warning).
// - As root, apt's download methods run as the sandbox user `_apt` (`APT::Sandbox::User`), which cannot read
//   detour's run folder (0700): a CaInfo there is refused ("Could not load certificates from …"), see README.
// - Layout: a mirror's `…/debian` base serves what deb.debian.org/debian serves (dists/, pool/); a Release file
//   names indexes by relative path and Packages names .debs by relative `Filename`, so no metadata is rewritten.
//   apt checks the InRelease signature against its keyrings and every index and .deb against the signed hashes,
//   whichever host served them.
import { statSync } from 'node:fs';
import type { Ecosystem, EcosystemRun, PresetRoute } from './types.js';

const ARCHIVE = 'deb.debian.org';
const SECURITY = 'security.debian.org';

/**
 * The security archive at a mirror: beside its Debian base (`…/debian` → `…/debian-security`), as the public
 * mirrors lay them out. A base that does not end in `/debian` (a team's `…/repository/debian-proxy`) is not
 * assumed to serve it: security updates then stay with the other targets of the chain.
 */
function securityBase(root: URL): URL | undefined {
  const m = /^(.*\/)debian\/?$/.exec(root.pathname);
  return m ? new URL(`${root.origin}${m[1]}debian-security`) : undefined;
}

const securityRoute = (host: string): PresetRoute => ({ host, pathPrefix: '/debian-security', mount: '', mirrorBase: securityBase });

/** A file apt would read (RealFileExists); an APT_CONFIG naming anything else is only warned about by apt. */
function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The child's APT_CONFIG: the run's bundle as apt's https CA, around the user's own APT_CONFIG. The global
 * line comes first so that a CaInfo of the user's (their file, apt.conf.d) still wins for hosts detour does not
 * decrypt; the per-host lines come last, so the hosts detour decrypts verify against its CA whatever the
 * user's global setting. Undefined when a path cannot be written in apt's syntax (no escapes in its strings).
 */
export function aptConfig(parentConfig: string | undefined, hosts: readonly string[], bundle: string): string | undefined {
  const unquotable = (s: string) => /["\n\r]/.test(s);
  if (unquotable(bundle) || (parentConfig && unquotable(parentConfig))) return undefined;
  return [
    '// Written by detour for one run: apt trusts its CA for https (GnuTLS reads no CA variable).',
    `Acquire::https::CaInfo "${bundle}";`,
    ...(parentConfig && isFile(parentConfig) ? [`#include "${parentConfig}";`] : []),
    ...hosts.map((h) => `Acquire::https::${h}::CaInfo "${bundle}";`),
    '',
  ].join('\n');
}

export const debian: Ecosystem = {
  name: 'debian',
  description: 'Debian archive and security updates (apt over http or https)',
  routes: [
    { host: ARCHIVE, pathPrefix: '/debian', mount: '', probe: '/debian/dists/stable/Release.gpg' },
    securityRoute(ARCHIVE),
    securityRoute(SECURITY),
  ],
  mirrors: {
    tuna: 'https://mirrors.tuna.tsinghua.edu.cn/debian',
    aliyun: 'https://mirrors.aliyun.com/debian',
  },
  defaultChain: 'tuna|aliyun|origin',

  // apt's https method trusts only its CaInfo setting or GnuTLS's compiled-in bundle: for https sources on the
  // hosts detour decrypts, the child's APT_CONFIG names the run's bundle. Plain http sources need nothing.
  prepare: (_parent, serves): EcosystemRun => {
    const hosts = [ARCHIVE, SECURITY].filter((h) => serves(h, 443));
    if (!hosts.length) return {};
    return {
      files: (parent, facts): Record<string, string> => {
        const text = aptConfig(parent.APT_CONFIG, hosts, facts.bundle);
        return text ? { 'apt.conf': text } : {};
      },
      childEnv: (_p, facts): NodeJS.ProcessEnv => (facts.files['apt.conf'] ? { APT_CONFIG: facts.files['apt.conf'] } : {}),
    };
  },
};
