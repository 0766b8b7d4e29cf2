// The `docker` preset: Docker Hub's registry (registry-1.docker.io, the host every client asks for `docker.io/…`
// images) through a registry mirror that keeps the `/v2/…` paths, then the origin. Facts relied on (checked
// 2026-12-02):
//
// - Clients (containers/image 5.23.1, as Debian's skopeo 1.9.3, podman and buildah use it; `docker/docker_client.go`):
//   `docker.io` is asked as registry-1.docker.io (`newDockerClient`, dockerRegistry); `detectPropertiesHelper`
//   pings `GET /v2/` once per image and keeps the WWW-Authenticate challenges of THAT answer for every later
//   request (`setupRequestAuth`: "we're using the challenges from the /v2/ ping response and not the one from the
//   destination URL in this request"); a Bearer challenge makes it `GET <realm>?service=…&scope=…`
//   (`getBearerToken`), with Basic credentials from auth.json when it has some for docker.io, and send
//   `Authorization: Bearer <token>`; no challenge (a 200 ping) means no Authorization at all. Redirects are
//   followed by Go's http.Client, which drops Authorization on a redirect to another host.
// - Proxy and trust: `pkg/tlsclientconfig` `NewTransport` sets `Proxy: http.ProxyFromEnvironment` (HTTPS_PROXY,
//   NO_PROXY; loopback never proxied; the URL's user:password become Proxy-Authorization on CONNECT) and
//   `DisableKeepAlives: true` (one CONNECT per request). Roots: Go's crypto/x509 on Linux reads SSL_CERT_FILE and
//   SSL_CERT_DIR (`root_unix.go`; checked: skopeo refuses a registry signed by a test CA with "x509: certificate
//   signed by unknown authority", and serves it with SSL_CERT_FILE naming that CA); `SetupCertificates` adds the `*.crt` of `~/.config/containers/certs.d/<host>/`,
//   `/etc/containers/certs.d/<host>/` or `/etc/docker/certs.d/<host>/` (host `docker.io` for Docker Hub) to that
//   system pool, so detour's SSL_CERT_FILE bundle still counts. registries.conf (`pkg/sysregistriesv2`:
//   `~/.config/containers/registries.conf` if it exists, else /etc/containers/registries.conf plus the .d
//   folders; skopeo's hidden `--registries-conf`) may name `[[registry.mirror]]`s of its own, which the client
//   then asks directly: detour leaves those alone (tunneled, or routed when a rule names them).
// - Token protocol (distribution docs/spec/auth/token.md, v2.8.2): `Www-Authenticate: Bearer
//   realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:…:pull"`; the token
//   request repeats `service` and one `scope` parameter per space-separated scope; the answer has `token` (or
//   `access_token`) and `expires_in`, 60 seconds when omitted.
// - A registry mirror serves the same `/v2/<name>/…` paths (Docker Hub's official images as `library/<name>`)
//   with the same digests: DaoCloud/public-image-mirror README (docker.io → docker.m.daocloud.io, "all
//   hash(sha256) match the source", blobs cached on third-party object storage, i.e. redirected there).
//   Docker Hub redirects blob GETs to its storage hosts with a signed URL: production.cloudflare.docker.com,
//   production.cloudfront.docker.com, docker-images-prod.<id>.r2.cloudflarestorage.com (Docker docs, "Allowlist
//   for Docker Desktop", content/manuals/desktop/setup/allow-list.md, 2025); they get no rule here.
//
// Authentication, decided (see README "Container registries"): detour answers a target's 401 itself (the
// route's `challenge`, src/challenge.ts) wherever that target got no credentials of the client's: it asks the
// realm the challenge names, anonymously or with a team mirror's own credentials when the realm is on the
// mirror's host, and sends the request again with the token. So an anonymous mirror and a mirror with its own
// realm both answer the client's ping with 200; the client never learns a mirror's realm (it would send its
// Docker Hub login there) nor holds a mirror's token (it would send it to Docker Hub); a request that falls back
// to Docker Hub gets a token from auth.docker.io for Docker Hub alone. Docker Hub's own 401 to the ping reaches
// the client (`clientLearns`): when the ping falls back (mirror down, `-m docker=origin`), the client does Docker
// Hub's dance itself, with its own login, and its token goes to registry-1.docker.io, which detour forwards to
// the origin only (never to a mirror: another host). The price: while a mirror answers the ping, the client never
// logs in, so pushes to Docker Hub and private repositories need `-m docker=origin` or `-d registry-1.docker.io`
// (README). Manifests and blobs are never altered (digests); a mirror's
// redirect to a path on its own host comes back through detour (canonical Location), one to a storage host is
// followed through a tunnel.
import type { CredentialChallenge, Ecosystem } from './types.js';

/** A Bearer challenge's parameters (RFC 7235 auth-params: token or quoted-string values), or undefined. */
export function bearerParams(value: string): Map<string, string> | undefined {
  const m = /^\s*bearer\s+(.*)$/is.exec(value);
  if (!m) return undefined;
  const params = new Map<string, string>();
  const re = /([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/g;
  for (let p = re.exec(m[1]!); p; p = re.exec(m[1]!)) {
    params.set(p[1]!.toLowerCase(), p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!);
  }
  return params;
}

/** The token request a Bearer challenge asks for: the realm with `service` and each `scope` (token.md). */
export function tokenRequest(wwwAuthenticate: readonly string[]): URL | undefined {
  for (const value of wwwAuthenticate) {
    const params = bearerParams(value);
    const realm = params?.get('realm');
    if (!params || !realm) continue;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      return undefined;
    }
    const service = params.get('service');
    if (service) url.searchParams.append('service', service);
    for (const scope of (params.get('scope') ?? '').split(' ')) if (scope) url.searchParams.append('scope', scope);
    return url;
  }
  return undefined;
}

/** A token has the characters of an HTTP token68 at most (JWTs do): nothing that could break the header. */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** `{"token": …, "expires_in": …}` (or `access_token`) → `Bearer …`, valid for expires_in seconds (60 when absent). */
export function bearerToken(body: string): { authorization: string; ttlMs: number } | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { token, access_token: accessToken, expires_in: expiresIn } = doc as Record<string, unknown>;
  const value = typeof token === 'string' && token ? token : typeof accessToken === 'string' ? accessToken : '';
  if (!TOKEN.test(value)) return undefined;
  const seconds = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 60;
  return { authorization: `Bearer ${value}`, ttlMs: seconds * 1000 };
}

/** The ping, where containers/image (and go-containerregistry, Docker's own client) read the registry's challenges. */
const isPing = (path: string) => path === '/v2/' || path === '/v2';

const registryTokens: CredentialChallenge = {
  issuerUrl: tokenRequest,
  credential: bearerToken,
  clientLearns: isPing,
  refusedWriteHint: 'the mirror answered the registry ping, so the client never logged in; push with -m docker=origin or -d registry-1.docker.io',
};

export const docker: Ecosystem = {
  name: 'docker',
  description: 'Docker Hub registry (registry-1.docker.io /v2/; skopeo, podman, crane, oras, helm — not the docker daemon)',
  routes: [
    // The whole host: a mirror's redirect to a path on its own host comes back here as the origin's (Location).
    { host: 'registry-1.docker.io', pathPrefix: '', mount: '', canonicalHeaders: ['location'], probe: '/v2/', challenge: registryTokens },
  ],
  mirrors: { daocloud: 'https://docker.m.daocloud.io' },
  defaultChain: 'daocloud|origin',
};
