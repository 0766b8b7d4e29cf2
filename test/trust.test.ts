// The trust variables the child gets: every variable that REPLACES a tool's roots points at a bundle
// holding the roots that tool would have used plus detour's CA.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorld } from './fixtures/detour.js';

const REPLACING = [
  'SSL_CERT_FILE',
  'CURL_CA_BUNDLE',
  'GIT_SSL_CAINFO',
  'REQUESTS_CA_BUNDLE',
  'PIP_CERT',
  'CARGO_HTTP_CAINFO',
  'AWS_CA_BUNDLE',
  'npm_config_cafile',
  'HTTPLIB2_CA_CERTS',
  'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH',
  'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE',
  'NIX_SSL_CERT_FILE',
];

const certs = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

t.test('httplib2, gRPC, gcloud and nix get a bundle with the CA, like SSL_CERT_FILE; a parent’s own file is kept in it', async (t) => {
  const w = await makeWorld(t);
  // A parent that gave gcloud its own corporate root: that root stays trusted by gcloud under detour.
  const corp = join(w.tmp, 'corp.pem');
  writeFileSync(corp, w.ca.certPem);
  const script = `for v in ${REPLACING.join(' ')}; do eval "f=\\$$v"; echo "== $v $f"; cat "$f"; done; echo "== CA"; cat "$DETOUR_CA_FILE"`;
  const r = await w.detour(['--no-upstream', '-m', 'npm', '--', 'sh', '-c', script], { env: { CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE: corp } });
  t.equal(r.code, 0, r.stderr);
  const sections = r.stdout.split(/^== /m).filter(Boolean).map((s) => {
    const [name, file] = s.slice(0, s.indexOf('\n')).split(' ');
    return { name: name!, file, pems: certs(s) };
  });
  const byName = Object.fromEntries(sections.map((s) => [s.name, s]));
  const ca = byName.CA?.pems[0];
  t.ok(ca, 'the CA');
  for (const v of REPLACING) {
    const { file, pems } = byName[v] ?? { pems: [] };
    t.ok(file?.endsWith('.pem'), `${v} is set to a bundle: ${file}`);
    t.equal(pems[pems.length - 1], ca, `${v}: the bundle ends with detour's CA`);
  }
  for (const v of ['HTTPLIB2_CA_CERTS', 'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH', 'NIX_SSL_CERT_FILE']) {
    t.equal(byName[v]?.file, byName.SSL_CERT_FILE?.file, `${v} is SSL_CERT_FILE's bundle (${byName[v]?.pems.length} certificates: the system roots, then the CA)`);
  }
  t.same(byName.CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE?.pems, [...certs(readFileSync(corp, 'utf8')), ca], 'gcloud: its own root, then the CA');
});

t.test('wget (GnuTLS reads no CA variable) gets a WGETRC: the parent’s own wgetrc, then the bundle as ca_certificate', async (t) => {
  const w = await makeWorld(t);
  const script = 'printf "%s\\n" "$SSL_CERT_FILE"; cat "$WGETRC"; grep -c "BEGIN CERTIFICATE" "$SSL_CERT_FILE" >&2';
  let r = await w.detour(['--no-upstream', '-m', 'npm', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  let [bundle, ...rc] = r.stdout.trimEnd().split('\n');
  t.same(rc, [`ca_certificate = ${bundle}`], 'no wgetrc of their own: the line alone');
  writeFileSync(join(w.home, '.wgetrc'), 'tries = 3');
  const own = join(w.tmp, 'own-wgetrc');
  writeFileSync(own, 'header = X-Team: a\n');
  r = await w.detour(['--no-upstream', '-m', 'npm', '--', 'sh', '-c', script]);
  [bundle, ...rc] = r.stdout.trimEnd().split('\n');
  t.same(rc, ['tries = 3', `ca_certificate = ${bundle}`], '~/.wgetrc first');
  r = await w.detour(['--no-upstream', '-m', 'npm', '--', 'sh', '-c', script], { env: { WGETRC: own } });
  [bundle, ...rc] = r.stdout.trimEnd().split('\n');
  t.same(rc, ['header = X-Team: a', `ca_certificate = ${bundle}`], 'the parent’s WGETRC instead of ~/.wgetrc, as wget reads it');
  t.ok(Number(r.stderr.trim()) > 1, `the file named is a bundle (${r.stderr.trim()} certificates)`);
});
