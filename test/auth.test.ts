// Authenticated team mirrors: credentials in a target URL go to that target alone, as Basic auth, and
// appear nowhere detour prints or writes (-v, --log-file, --trace, error bodies, check, config errors).
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, makeWorld } from './fixtures/detour.js';
import { npmPackage, npmRegistryHandler } from './fixtures/npmRegistry.js';
import type { Handler } from './fixtures/servers.js';

const TOKEN = 'nexusS3cretT0ken';
const BASIC = `Basic ${Buffer.from(`ci:${TOKEN}`).toString('base64')}`;
/** The secret in every form it could leak in: as written, and inside the Basic header. */
const leaks = (text: string) => [TOKEN, BASIC.slice(6)].filter((s) => text.includes(s));

/** A team registry (Nexus style) at /repository/npm that answers 401 without its credentials. */
function nexusNpm(inner: Handler): Handler {
  return (req, res, body) => {
    if (req.headers.authorization !== BASIC) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Basic realm="nexus"' });
      res.end('authentication required\n');
      return;
    }
    const url = req.url ?? '/';
    if (!url.startsWith('/repository/npm/')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such repository\n');
      return;
    }
    req.url = url.slice('/repository/npm'.length);
    return inner(req, res, body);
  };
}

const CURL_SH = "curl -sS --max-time 30 -w ' %{http_code}\\n' -H 'Authorization: Bearer client-token'";

t.test('a team mirror gets its Basic credentials; the next mirror and the origin never see them; nothing prints them', async (t) => {
  const w = await makeWorld(t);
  const pkg = npmPackage('acme-widget', '1.0.0');
  // Nexus writes its own URLs into packuments, without credentials.
  const nexus = await w.https('nexus.corp', nexusNpm(npmRegistryHandler([pkg], 'https://nexus.corp/repository/npm')));
  const publicMirror = await w.https('registry.npmmirror.com', answer(404, '{"error":"not found"}', { 'content-type': 'application/json' }));
  const origin = await w.https('registry.npmjs.org', answer(200, '{"name":"only-at-origin"}', { 'content-type': 'application/json' }));
  const log = join(w.tmp, 'run.log');
  const trace = join(w.tmp, 'run.har');
  const script = [
    `${CURL_SH} https://registry.npmjs.org/acme-widget`,
    `${CURL_SH} https://registry.npmjs.org/only-at-origin`,
  ].join('; ');
  const spec = `npm=https://ci:${TOKEN}@nexus.corp/repository/npm/|npmmirror|origin`;
  const r = await w.detour([...w.flags(), '-v', '--log-file', log, '--trace', trace, '-m', spec, '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  const [packument, fallback] = r.stdout.split('\n');
  t.match(packument, / 200$/, 'the team mirror answered with its credentials');
  t.match(packument, '"tarball":"https://registry.npmjs.org/acme-widget/-/acme-widget-1.0.0.tgz"', 'its URLs (written without credentials) were canonicalised');
  t.equal(fallback, '{"name":"only-at-origin"} 200');

  t.same(nexus.requests.map((q) => q.headers.authorization), [BASIC, BASIC], 'the team mirror got Basic auth on both requests, never the client’s token');
  t.same(publicMirror.requests.map((q) => q.headers.authorization), [undefined], 'the next mirror got no credentials at all');
  t.same(origin.requests.map((q) => q.headers.authorization), ['Bearer client-token'], 'the origin got the client’s own token, not the team mirror’s');

  const har = readFileSync(trace, 'utf8');
  t.match(har, '"targetUrl":"https://nexus.corp/repository/npm/acme-widget"', 'HAR names the team mirror without credentials');
  for (const [what, text] of [['-v output', r.stderr], ['--log-file', readFileSync(log, 'utf8')], ['--trace', har]] as const) {
    t.same(leaks(text), [], `${what}: no credentials`);
  }
  t.match(r.stderr, /GET https:\/\/registry\.npmjs\.org\/acme-widget \[mirror\] → nexus\.corp\/repository\/npm 200/);
});

t.test('credentials stay out of a 502 body, of detour check, and of configuration errors', async (t) => {
  const w = await makeWorld(t);
  w.map('dead.mirror.test', await w.deadPort());
  let r = await w.detour([...w.flags(), '-m', `registry.npmjs.org=https://ci:${TOKEN}@dead.mirror.test/npm`, '--', 'curl', '-sS', '-w', ' %{http_code}', 'https://registry.npmjs.org/x']);
  t.match(r.stdout, /^detour: every target failed[\s\S]*dead\.mirror\.test\/npm[\s\S]*E_CONNECT[\s\S]* 502$/, 'the 502 body names the target');
  t.same(leaks(r.stdout + r.stderr), [], '…without its credentials');

  const nexus = await w.https('nexus.corp', nexusNpm(npmRegistryHandler([npmPackage('is-number', '7.0.0')], 'https://nexus.corp/repository/npm')));
  r = await w.detour([...w.flags(), 'check', '-m', `npm=https://ci:${TOKEN}@nexus.corp/repository/npm/`]);
  t.equal(r.code, 0, `check: ${r.stdout}${r.stderr}`);
  t.match(r.stdout, /registry\.npmjs\.org\s+nexus\.corp\/repository\/npm\s+200/, 'the probe passed with the credentials');
  t.same(nexus.requests.map((q) => q.headers.authorization), [BASIC]);
  t.same(leaks(r.stdout + r.stderr), [], 'check prints no credentials');

  for (const spec of [`npm=https://ci:${TOKEN}@nexus.corp/x?q=1`, `nexus.corp=https://ci:${TOKEN}@nexus.corp/x#frag`, `npm=ci:${TOKEN}@nexus.corp`]) {
    r = await w.detour(['--no-upstream', '-m', spec, '--', 'true']);
    t.equal(r.code, 2, spec);
    t.match(r.stderr, /^detour: .*\n$/, 'one line');
    t.same(leaks(r.stderr), [], `no credentials: ${r.stderr.trim()}`);
  }
  const config = join(w.tmp, 'config.json');
  const files = {
    'truncated JSON': `{"mirror": ["npm=https://ci:${TOKEN}@nexus.corp/repository/npm/"`,
    'a bad target': `{"mirror": ["npm=https://ci:${TOKEN}@nexus.corp/repository/npm/?q"]}`,
    'a value of the wrong kind': `{"timeout": "https://ci:${TOKEN}@nexus.corp/"}`,
  };
  for (const [what, text] of Object.entries(files)) {
    writeFileSync(config, text);
    r = await w.detour(['--no-upstream', '--config', config, '--', 'true']);
    t.equal(r.code, 2, r.stderr);
    t.same(leaks(r.stderr), [], `config file with ${what}: ${r.stderr.trim()}`);
  }
  r = await w.detour(['--no-upstream', '--', 'true'], { env: { DETOUR_MIRROR: `npm=https://ci:${TOKEN}@nexus.corp/repository/npm/#x` } });
  t.equal(r.code, 2, r.stderr);
  t.same(leaks(r.stderr), [], `DETOUR_MIRROR: ${r.stderr.trim()}`);
});
