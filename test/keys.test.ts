// detour's keys and certificates (src/keys.ts, src/ca.ts), checked by OpenSSL: ECDSA P-256 keys, a CA whose
// critical name constraints hold even against a thief with its key, leaves that Apple's verifier would take
// (SAN, serverAuth, short validity), private keys written nowhere but --ca-dir, and a kept RSA CA from an
// earlier version replaced cleanly. The clients' own acceptance is proved by the end-to-end suites.
import t, { type Test } from 'tap';
import { createPublicKey, verify } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorld, answer, needs, CURL, type World } from './fixtures/detour.js';
import { isolatedEnv, run } from './fixtures/run.js';
import { isCurrentKey, newKeyPair, signDer } from '../dist/keys.js';

const openssl = (args: string[], input?: string) =>
  run('openssl', args, { env: isolatedEnv(), timeoutMs: 20_000, ...(input !== undefined ? { input } : {}) });

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;
const DAY = 24 * 60 * 60 * 1000;
const RULE = 'registry.npmjs.org=https://m.test';

/** Files under the world's HOME, TMPDIR and work folder that hold a PEM private key, listed by the child. */
const FIND_KEYS = 'grep -rl -e "PRIVATE KEY" "$HOME" "$TMPDIR" "$PWD" || true';

/** A child script that copies the run CA to `caCopy` and prints the leaf detour presents for registry.npmjs.org. */
const handshake = (caCopy: string) =>
  [
    `cp "$DETOUR_CA_FILE" '${caCopy}'`,
    'P=${DETOUR_PROXY##*:}; T=${DETOUR_PROXY#http://detour:}; T=${T%@*}',
    'openssl s_client -proxy 127.0.0.1:$P -proxy_user detour -proxy_pass "pass:$T" -connect registry.npmjs.org:443 -servername registry.npmjs.org -CAfile "$DETOUR_CA_FILE" -verify_return_error -showcerts </dev/null 2>&1',
    'echo =====keys=====',
    FIND_KEYS,
  ].join('\n');

/** openssl x509 -text, failing the test when OpenSSL cannot read the file. */
async function x509Text(t: Test, file: string): Promise<string> {
  const r = await openssl(['x509', '-noout', '-text', '-in', file]);
  t.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** The body of one extension in `openssl x509 -text` output, from its heading to the next one. */
const extension = (text: string, heading: string) =>
  new RegExp(`${heading}\\n([\\s\\S]*?)(?=\\n\\s*X509v3 |\\n\\s*Signature Algorithm)`).exec(text)?.[1] ?? '';

/**
 * A leaf for `san` (an openssl -addext value) signed with the CA key at `caKey`, as a thief holding the key
 * would make it: every extension a server certificate needs, so that only the name can fail.
 */
async function forgedLeaf(w: World, caCert: string, caKey: string, cn: string, san: string): Promise<string> {
  const out = join(w.work, `forged-${cn}-${san.replace(/\W/g, '_')}.pem`);
  const r = await openssl([
    'req', '-x509', '-CA', caCert, '-CAkey', caKey, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', '/dev/null', '-subj', `/CN=${cn}`, '-days', '1', '-out', out,
    '-addext', `subjectAltName=${san}`, '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=serverAuth',
  ]);
  if (r.code !== 0) throw new Error(`openssl req: ${r.stderr}`);
  return out;
}

t.test('keys are ECDSA P-256, distinct, and sign in DER that OpenSSL and node:crypto accept', { skip: needs('openssl') }, async (t) => {
  const [a, b] = [newKeyPair(), newKeyPair()];
  t.equal(a.privateKey.asymmetricKeyType, 'ec');
  t.equal(a.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.ok(isCurrentKey(a.privateKey), 'a key this version makes is current');
  t.not(a.spki.toString('hex'), b.spki.toString('hex'), 'two keys, two public keys');
  const message = Buffer.from('detour');
  const signature = signDer(message, a.privateKey);
  t.equal(signature[0], 0x30, 'an ECDSA-Sig-Value SEQUENCE (DER), not IEEE P1363');
  t.ok(verify('sha256', message, createPublicKey({ key: a.spki, format: 'der', type: 'spki' }), signature), 'verifies with the SPKI');
  t.notOk(verify('sha256', message, createPublicKey({ key: b.spki, format: 'der', type: 'spki' }), signature), 'not with another key');
  const check = await openssl(['pkey', '-check', '-noout'], a.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  t.equal(check.code, 0, check.stdout + check.stderr);
  t.match(check.stdout + check.stderr, /Key is valid/);
});

t.test('the run CA and a leaf, as OpenSSL reads them; no private key on disk', { skip: needs('sh', 'openssl') }, async (t) => {
  const w = await makeWorld(t);
  const caFile = join(w.work, 'run-ca.pem');
  const started = Date.now();
  const r = await w.detour(['--no-upstream', '-m', RULE, '-m', 'pypi=https://m.test', '--', 'sh', '-c', handshake(caFile)]);
  t.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
  const [handshakeOut, keyFiles] = r.stdout.split('=====keys=====\n');
  t.match(handshakeOut, /Verify return code: 0 \(ok\)/, 'OpenSSL verifies the chain in the handshake');
  t.equal(keyFiles, '', 'no file under HOME, TMPDIR (the run folder included) or the working folder holds a private key');

  const ca = await x509Text(t, caFile);
  t.match(ca, /Signature Algorithm: ecdsa-with-SHA256/);
  t.match(ca, /Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/);
  t.match(ca, /X509v3 Basic Constraints: critical\n\s*CA:TRUE, pathlen:0\n/);
  t.match(ca, /X509v3 Key Usage: critical\n\s*Certificate Sign, CRL Sign\n/);
  const constraints = extension(ca, 'X509v3 Name Constraints: critical');
  t.match(ca, /X509v3 Name Constraints: critical/, 'name constraints present and critical');
  t.same(
    constraints.split('\n').map((l) => l.trim()),
    ['Permitted:', 'DNS:registry.npmjs.org', 'DNS:pypi.org', 'DNS:files.pythonhosted.org',
      'Excluded:', 'DNS:.registry.npmjs.org', 'DNS:.pypi.org', 'DNS:.files.pythonhosted.org',
      'IP:0.0.0.0/0.0.0.0', 'IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0'],
    'permits the rule hosts only; excludes their subdomains and every IPv4/IPv6 address',
  );
  const caKeyId = /X509v3 Subject Key Identifier: *\n\s*([0-9A-F:]+)\n/.exec(ca)?.[1];
  t.ok(caKeyId, 'subject key identifier');

  const leaf = handshakeOut!.match(PEM)?.[0];
  t.ok(leaf, 'the leaf certificate was printed');
  if (!leaf) return;
  const leafFile = join(w.work, 'leaf.pem');
  writeFileSync(leafFile, leaf);
  const verified = await openssl(['verify', '-x509_strict', '-CAfile', caFile, leafFile]);
  t.equal(verified.code, 0, verified.stdout + verified.stderr);
  t.match(verified.stdout, /leaf\.pem: OK/, 'openssl verify -x509_strict -CAfile ca.pem leaf.pem');
  const text = await x509Text(t, leafFile);
  t.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  t.match(text, /NIST CURVE: P-256/);
  t.match(text, /Subject: CN ?= ?registry\.npmjs\.org\n/);
  t.match(text, /X509v3 Basic Constraints: critical\n\s*CA:FALSE\n/);
  t.match(text, /X509v3 Key Usage: critical\n\s*Digital Signature\n/, 'an ECDSA key signs; no keyEncipherment (RFC 5480)');
  t.match(text, /X509v3 Extended Key Usage: *\n\s*TLS Web Server Authentication\n/, 'serverAuth (Apple requires it)');
  t.match(text, /X509v3 Subject Alternative Name: *\n\s*DNS:registry\.npmjs\.org\n/, 'SAN dNSName (Apple requires it)');
  t.equal(/X509v3 Authority Key Identifier: *\n\s*(?:keyid:)?([0-9A-F:]+)\n/.exec(text)?.[1], caKeyId, 'authority key identifier = the CA’s');
  t.match(text, /Serial Number:\s*\n\s*[4-7][0-9a-f]:/, 'a positive 16-byte serial, minimally encoded');
  const dates = await openssl(['x509', '-noout', '-startdate', '-enddate', '-in', leafFile]);
  const [notBefore, notAfter] = [/notBefore=(.*)/, /notAfter=(.*)/].map((re) => Date.parse(re.exec(dates.stdout)![1]!));
  t.ok(notAfter! - notBefore! <= DAY + 2 * 60 * 60 * 1000, 'valid about a day: far below Apple’s 825 days');
  t.ok(notBefore! <= started && notAfter! > Date.now(), 'valid now');
});

t.test('a thief with a kept CA key cannot sign for another name, a subdomain or an IP', { skip: needs('sh', 'openssl') }, async (t) => {
  const w = await makeWorld(t);
  const dir = join(w.work, 'ca-dir');
  const r = await w.detour(['--no-upstream', '--ca-dir', dir, '-m', RULE, '--', 'sh', '-c', FIND_KEYS]);
  t.equal(r.code, 0, r.stderr);
  const [caCert, caKey] = [join(dir, 'ca.pem'), join(dir, 'ca-key.pem')];
  t.equal(r.stdout, `${caKey}\n`, 'the kept key is the only private key on disk');
  t.equal((statSync(caKey).mode & 0o777).toString(8), '600', 'and it is 0600');
  const key = await openssl(['pkey', '-noout', '-text', '-in', caKey]);
  t.match(key.stdout, /NIST CURVE: P-256/, 'an ECDSA P-256 key');

  const verifyLeaf = (file: string) => openssl(['verify', '-x509_strict', '-CAfile', caCert, file]);
  const good = await verifyLeaf(await forgedLeaf(w, caCert, caKey, 'registry.npmjs.org', 'DNS:registry.npmjs.org'));
  t.equal(good.code, 0, `a leaf for the rule host verifies (the forging itself works): ${good.stdout}${good.stderr}`);
  const other = await verifyLeaf(await forgedLeaf(w, caCert, caKey, 'evil.test', 'DNS:evil.test'));
  t.not(other.code, 0, 'a leaf for an unlisted name fails');
  t.match(other.stdout + other.stderr, /permitted subtree violation/, 'because of the name constraint');
  const sub = await verifyLeaf(await forgedLeaf(w, caCert, caKey, 'evil.registry.npmjs.org', 'DNS:evil.registry.npmjs.org'));
  t.not(sub.code, 0, 'a leaf for a subdomain of a rule host fails');
  t.match(sub.stdout + sub.stderr, /excluded subtree violation/);
  const ip = await verifyLeaf(await forgedLeaf(w, caCert, caKey, 'registry.npmjs.org', 'IP:127.0.0.1'));
  t.not(ip.code, 0, 'a leaf for an IP address fails');
  t.match(ip.stdout + ip.stderr, /excluded subtree violation/);
});

t.test('--ca-dir: an RSA CA kept by an earlier version is replaced by a P-256 one, then reused', { skip: needs('sh', 'openssl', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  await w.https('m.test', answer(200, 'from the mirror'));
  const dir = join(w.work, 'ca-dir');
  const [caCert, caKey] = [join(dir, 'ca.pem'), join(dir, 'ca-key.pem')];
  // The earlier layout: ca.pem, ca-key.pem (RSA-2048, PKCS#8) and ca.json naming the hosts, valid 30 days:
  // everything an earlier version checked before reusing it holds, only the key type is old.
  mkdirSync(dir, { mode: 0o700 });
  const old = await openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '30',
    '-subj', '/CN=detour run CA (old)', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'nameConstraints=critical,permitted;DNS:registry.npmjs.org',
  ]);
  t.equal(old.code, 0, old.code === 0 ? 'an RSA CA as an earlier version kept it' : old.stderr);
  writeFileSync(join(dir, 'ca.json'), JSON.stringify({ hosts: 'registry.npmjs.org' }) + '\n');
  const oldPem = readFileSync(caCert, 'utf8');

  const runOnce = () => w.detour([...w.flags(), '--ca-dir', dir, '-m', RULE, '--', 'sh', '-c',
    `cat "$DETOUR_CA_FILE"; ${CURL.map((a) => `'${a}'`).join(' ')} https://registry.npmjs.org/left-pad`]);
  const first = await runOnce();
  t.equal(first.code, 0, first.stderr);
  const kept = readFileSync(caCert, 'utf8');
  t.not(kept, oldPem, 'the RSA CA is replaced');
  t.ok(first.stdout.startsWith(kept), 'the child trusts the new CA');
  t.match(first.stdout, /from the mirror\n200$/, 'and curl verifies a leaf from it');
  t.match((await openssl(['pkey', '-noout', '-text', '-in', caKey])).stdout, /NIST CURVE: P-256/, 'the kept key is P-256 now');
  t.equal((statSync(caKey).mode & 0o777).toString(8), '600', 'and 0600');
  t.match(await x509Text(t, caCert), /X509v3 Name Constraints: critical/);

  const second = await runOnce();
  t.equal(second.code, 0, second.stderr);
  t.equal(readFileSync(caCert, 'utf8'), kept, 'the P-256 CA is reused on the next run');
  t.match(second.stdout, /from the mirror\n200$/);
});
