// The life of one run through the built CLI: exit statuses, signal forwarding, the private temp folder,
// the child's environment, the parent's files, the proxy port's guards, and the CA (DESIGN §1, §2, §4).
import t, { type Test } from 'tap';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorld, answer, CURL, type World } from './fixtures/detour.js';
import { makeTestCa } from './fixtures/tls.js';
import { startDetour, tryKill, until, within } from './fixtures/live.js';
import { hasCommand, isolatedEnv, run } from './fixtures/run.js';

// ---------------------------------------------------------------------------------------------------
// Helpers

/** Skip reason when a tool is missing; in CI a missing tool is a failure instead. */
function needs(...tools: string[]): string | false {
  const missing = tools.filter((tool) => !hasCommand(tool));
  if (!missing.length) return false;
  if (process.env.CI) {
    t.fail(`${missing.join(', ')} must be installed in CI`);
    return false;
  }
  return `${missing.join(', ')} not on PATH`;
}

/** Flags that keep a run small and hermetic: no upstream proxy, one preset. */
const QUIET = ['--no-upstream', '-m', 'npm'];

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

/** Entries of the world's TMPDIR that look like a detour run folder. */
const leftovers = (w: World) => readdirSync(w.tmp).filter((e) => e.startsWith('detour-'));

/** `env` output → object (values never contain newlines here). */
function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines(text)) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;
const countCerts = (s: string) => (s.match(PEM) ?? []).length;

/** A child loop that traps `sig`, prints `reply`, exits `status`; prints "ready PID" first. */
const trapping = (sig: string, reply: string, status: number) => [
  'sh',
  '-c',
  `trap "echo ${reply}; exit ${status}" ${sig}; echo "ready $$"; while :; do sleep 0.05; done`,
];

function openssl(args: string[], input?: string) {
  return run('openssl', args, { env: isolatedEnv(), timeoutMs: 20_000, ...(input !== undefined ? { input } : {}) });
}

/** notBefore/notAfter of a PEM file, as epoch ms. */
async function certDates(file: string): Promise<{ notBefore: number; notAfter: number }> {
  const r = await openssl(['x509', '-noout', '-dates', '-in', file]);
  if (r.code !== 0) throw new Error(r.stderr);
  const get = (k: string) => Date.parse(/^(?:\S+=)?(.*)$/.exec(lines(r.stdout).find((l) => l.startsWith(k + '='))!.slice(k.length + 1))![1]!);
  return { notBefore: get('notBefore'), notAfter: get('notAfter') };
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

// ---------------------------------------------------------------------------------------------------
// 1. Exit statuses (DESIGN §1)

t.test('exit status: the child’s code, 128+N for a signal, 127, 126; detour stays off stdout', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);

  let r = await w.detour([...QUIET, '--', 'sh', '-c', 'exit 7']);
  t.equal(r.code, 7, 'child code 7 is detour’s status');

  r = await w.detour([...QUIET, '--', 'sh', '-c', 'kill -TERM $$']);
  t.equal(r.code, 143, 'child killed by SIGTERM → 128+15');

  r = await w.detour([...QUIET, '--', '/no/such/command']);
  t.equal(r.code, 127, 'command not found → 127');
  t.equal(lines(r.stderr).length, 1, `one stderr line: ${r.stderr}`);
  t.match(r.stderr, /^detour: .*\/no\/such\/command\n$/, 'the line names the command');
  t.equal(r.stdout, '');

  const plain = join(w.work, 'not-executable.sh');
  writeFileSync(plain, '#!/bin/sh\necho should-not-run\n');
  chmodSync(plain, 0o644);
  r = await w.detour([...QUIET, '--', plain]);
  t.equal(r.code, 126, 'not executable → 126');
  t.equal(lines(r.stderr).length, 1, `one stderr line: ${r.stderr}`);
  t.match(r.stderr, /not-executable\.sh/);
  t.notMatch(r.stdout, /should-not-run/);

  r = await w.detour([...QUIET, '--', 'sh', '-c', 'echo hi']);
  t.equal(r.code, 0);
  t.equal(r.stdout, 'hi\n', 'stdout is exactly the child’s');
  t.equal(r.stderr, '', 'silent on stderr by default');

  r = await w.detour([...QUIET, '-v', '--', 'sh', '-c', 'echo hi']);
  t.equal(r.stdout, 'hi\n', 'with -v too, detour writes nothing on stdout');
  t.match(
    r.stderr,
    /^detour: 0 requests, 0 mirrored, 0 tunneled, 0 direct, 0 to origin, 0 blocked, 0 fallbacks, 0 failures, 0 B$/m,
    `the -v summary goes to stderr, every count zero for a child that made no request: ${r.stderr}`,
  );
});

t.test('usage errors: status 2, exactly one "detour:" line on stderr', async (t) => {
  const w = await makeWorld(t);
  const cases: [string, string[]][] = [
    ['--timeout abc', ['--timeout', 'abc', '--', 'true']],
    ['-m bogus', ['-m', 'bogus', '--', 'true']],
    ['no command', []],
  ];
  for (const [name, args] of cases) {
    const r = await w.detour(args);
    t.equal(r.code, 2, `${name}: status 2`);
    t.equal(lines(r.stderr).length, 1, `${name}: one line: ${JSON.stringify(r.stderr)}`);
    t.match(r.stderr, /^detour: \S/, `${name}: starts with "detour:"`);
    t.equal(r.stdout, '', `${name}: nothing on stdout`);
  }
});

// ---------------------------------------------------------------------------------------------------
// 2. Signals are forwarded to the child; detour waits and exits with the child's status (DESIGN §5)

t.test('INT, TERM, HUP and QUIT sent to detour reach the child', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  const cases: [NodeJS.Signals, number][] = [
    ['SIGTERM', 42],
    ['SIGINT', 43],
    ['SIGHUP', 44],
    ['SIGQUIT', 45],
  ];
  for (const [sig, status] of cases) {
    const name = sig.slice(3);
    const d = startDetour(t, w, [...QUIET, '--', ...trapping(name, `got-${name}`, status)]);
    const m = await d.waitFor(/^ready (\d+)$/m);
    d.adopt(Number(m[1]));
    process.kill(d.pid, sig);
    const { code } = await within(d.exited, 15_000, `detour to exit after ${sig}`);
    t.equal(code, status, `${sig}: detour exits with the trap’s status`);
    t.equal(d.stdout(), `ready ${m[1]}\ngot-${name}\n`, `${sig}: the child saw it, and only the child wrote stdout`);
    t.same(leftovers(w), [], `${sig}: no temp folder left`);
  }
});

t.test('a child that survives SIGTERM is SIGKILLed on the second SIGTERM: status 137', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  // The trap does not exit: the child outlives SIGTERM. Its echo tells us the first one was delivered,
  // so the second is not merged with it by the kernel.
  const d = startDetour(t, w, [...QUIET, '--', 'sh', '-c', 'trap "echo saw-TERM" TERM; echo "ready $$"; while :; do sleep 0.05; done']);
  const m = await d.waitFor(/^ready (\d+)$/m);
  d.adopt(Number(m[1]));
  process.kill(d.pid, 'SIGTERM');
  await d.waitFor(/^saw-TERM$/m);
  process.kill(d.pid, 'SIGTERM');
  const { code } = await within(d.exited, 10_000, 'detour to end after the second SIGTERM');
  t.equal(code, 137, 'child SIGKILLed → 128+9');
  t.equal(d.stdout().match(/saw-TERM/g)?.length, 1, 'the second SIGTERM was not merely forwarded');
  t.same(leftovers(w), [], 'no temp folder left');
});

// ---------------------------------------------------------------------------------------------------
// 3. The private temp folder (DESIGN §4): 0700, under TMPDIR, gone on every exit path

t.test('the run folder is 0700 under TMPDIR while the child runs, and gone after', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  const r = await w.detour([...QUIET, '--', 'sh', '-c', 'echo "$DETOUR_CA_FILE"; ls -ld "$(dirname "$DETOUR_CA_FILE")"']);
  t.equal(r.code, 0, r.stderr);
  const [caFile, listing] = lines(r.stdout);
  const folder = caFile!.slice(0, caFile!.lastIndexOf('/'));
  t.match(folder, new RegExp(`^${w.tmp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/detour-[^/]+$`), 'directly under the world’s TMPDIR');
  t.match(listing, /^drwx------ /, 'mode 0700 while running');
  t.notOk(existsSync(folder), 'removed after exit');
  t.same(leftovers(w), [], 'TMPDIR holds no detour-* entry');
});

t.test('no run folder is left when the child dies of a signal', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  const r = await w.detour([...QUIET, '--', 'sh', '-c', 'kill -KILL $$']);
  t.equal(r.code, 137);
  t.same(leftovers(w), []);
});

t.test('no run folder is left when detour is SIGTERMed while the child runs', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  const d = startDetour(t, w, [...QUIET, '--', 'sh', '-c', 'echo "ready $$ $DETOUR_CA_FILE"; while :; do sleep 0.05; done']);
  const m = await d.waitFor(/^ready (\d+) (\S+)$/m);
  d.adopt(Number(m[1]));
  t.ok(existsSync(m[2]!), 'the CA file exists while the child runs');
  process.kill(d.pid, 'SIGTERM');
  const { code } = await within(d.exited, 15_000, 'detour to exit after SIGTERM');
  t.equal(code, 143, 'the child died of the forwarded SIGTERM');
  t.same(leftovers(w), [], 'no temp folder left');
});

t.test('no run folder is left when detour fails at start-up after making it', async (t) => {
  const w = await makeWorld(t);
  const file = join(w.work, 'a-file');
  writeFileSync(file, 'not a folder\n');
  // inotify sees the run folder come and go, however briefly it lived.
  const made: string[] = [];
  const watcher = watch(w.tmp, (_event, name) => {
    if (name?.startsWith('detour-') && !made.includes(name)) made.push(name);
  });
  t.teardown(() => watcher.close());
  const r = await w.detour([...QUIET, '--ca-dir', join(file, 'ca'), '--', 'true']);
  t.equal(r.code, 2, `a configuration error found at start-up: status 2 (got ${r.code})`);
  t.equal(lines(r.stderr).length, 1, `one line, no stack trace: ${JSON.stringify(r.stderr)}`);
  t.match(r.stderr, /^detour: /);
  t.notOk(r.timedOut);
  t.ok(await until(() => made.length > 0, 2000), 'the run folder had been made before the failure (seen in TMPDIR)');
  t.same(leftovers(w), [], `TMPDIR holds no detour-* entry (made: ${made.join(', ')})`);
});

t.test('an unusable --ca-dir is a configuration error: status 2, one clear line', async (t) => {
  const w = await makeWorld(t);
  const file = join(w.work, 'a-file');
  writeFileSync(file, 'not a folder\n');
  const r = await w.detour([...QUIET, '--ca-dir', join(file, 'ca'), '--', 'true']);
  t.equal(r.code, 2, 'DESIGN §1: 2 for a usage or configuration error');
  t.equal(lines(r.stderr).length, 1, `one line, no stack trace: ${JSON.stringify(r.stderr)}`);
  t.match(r.stderr, /^detour: .*a-file/, 'naming the offending path');
});

// ---------------------------------------------------------------------------------------------------
// 4. What the child gets (DESIGN §2)

t.test('the child environment: proxy, NO_PROXY, git, Go, trust files, markers', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  const parent = {
    HTTPS_PROXY: 'http://127.0.0.1:9',
    ALL_PROXY: 'socks5://127.0.0.1:9',
    all_proxy: 'socks5://127.0.0.1:9',
    NO_PROXY: 'corp.example.com,registry.npmjs.org',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'user.name',
    GIT_CONFIG_VALUE_0: 'x',
    GOPRIVATE: 'a.example',
    NODE_EXTRA_CA_CERTS: w.ca.certFile,
  };
  const SEP = '=====detour-test-separator=====';
  const script = [
    'env',
    `echo ${SEP}`,
    'cat "$NODE_EXTRA_CA_CERTS"',
    `echo ${SEP}`,
    'cat "$DETOUR_CA_FILE"',
    `echo ${SEP}`,
    'tail -n "$(wc -l < "$DETOUR_CA_FILE")" "$SSL_CERT_FILE"',
  ].join('; ');
  const r = await w.detour(['--no-upstream', '-d', 'corp.example.com', '-d', 'github.com/acme-private', '-m', 'npm', '--', 'sh', '-c', script], {
    env: parent,
  });
  t.equal(r.code, 0, r.stderr);
  const [envText, nodeExtra, caPem, bundleTail] = r.stdout.split(`${SEP}\n`);
  const env = parseEnv(envText!);

  // Proxy
  const proxy = env.DETOUR_PROXY!;
  t.match(proxy, /^http:\/\/detour:[^@]+@127\.0\.0\.1:\d+$/, 'DETOUR_PROXY: per-run credential, loopback');
  for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'npm_config_proxy', 'npm_config_https_proxy']) {
    t.equal(env[k], proxy, `${k} is the detour proxy`);
  }
  t.notOk('ALL_PROXY' in env, 'ALL_PROXY removed');
  t.notOk('all_proxy' in env, 'all_proxy removed');

  // NO_PROXY
  for (const k of ['NO_PROXY', 'no_proxy']) {
    const entries = (env[k] ?? '').split(',');
    t.ok(entries.includes('127.0.0.1'), `${k} keeps loopback`);
    t.ok(entries.includes('corp.example.com'), `${k} keeps corp.example.com`);
    t.notOk(entries.includes('registry.npmjs.org'), `${k} drops the mirrored registry.npmjs.org`);
  }

  // git
  t.equal(env.GIT_CONFIG_COUNT, '2');
  t.equal(env.GIT_CONFIG_KEY_0, 'user.name', 'the parent’s entry is kept');
  t.equal(env.GIT_CONFIG_VALUE_0, 'x');
  t.equal(env.GIT_CONFIG_KEY_1, 'http.proxy');
  t.equal(env.GIT_CONFIG_VALUE_1, proxy);

  // Go
  t.equal(env.GOPRIVATE, 'a.example,corp.example.com,github.com/acme-private', '--direct appended to GOPRIVATE');
  t.notOk('GONOPROXY' in env, 'GONOPROXY not invented');
  t.notOk('GOPROXY' in env, 'GOPROXY never set');
  t.notOk('GOSUMDB' in env, 'GOSUMDB never set');

  // Trust
  const bundle = env.SSL_CERT_FILE!;
  const runDir = env.DETOUR_CA_FILE!.slice(0, env.DETOUR_CA_FILE!.lastIndexOf('/'));
  t.ok(bundle.startsWith(runDir + '/'), 'the bundle lives in the run folder');
  // CURL_CA_BUNDLE is the CA alone where curl's compiled-in CA directory holds the roots (test/trust.test.ts).
  t.ok([bundle, env.DETOUR_CA_FILE].includes(env.CURL_CA_BUNDLE), 'CURL_CA_BUNDLE is the bundle or the CA alone');
  for (const k of ['SSL_CERT_FILE', 'GIT_SSL_CAINFO', 'REQUESTS_CA_BUNDLE', 'PIP_CERT', 'CARGO_HTTP_CAINFO', 'AWS_CA_BUNDLE', 'npm_config_cafile']) {
    t.equal(env[k], bundle, `${k} is the one bundle`);
  }
  t.not(bundle, env.DETOUR_CA_FILE, 'the bundle is not the CA-only file');
  t.equal(countCerts(caPem!), 1, 'DETOUR_CA_FILE holds the CA alone');
  t.equal(env.DENO_CERT, env.DETOUR_CA_FILE, 'DENO_CERT adds the CA alone');
  t.equal(bundleTail, caPem, 'the bundle ends with the detour CA');

  t.not(env.NODE_EXTRA_CA_CERTS, bundle, 'NODE_EXTRA_CA_CERTS is not the bundle');
  t.not(env.NODE_EXTRA_CA_CERTS, w.ca.certFile, 'NODE_EXTRA_CA_CERTS is not the parent’s file');
  t.ok(env.NODE_EXTRA_CA_CERTS!.startsWith(runDir + '/'), 'the merged file lives in the run folder');
  t.equal(countCerts(nodeExtra!), 2, 'NODE_EXTRA_CA_CERTS holds two certificates');
  t.ok(nodeExtra!.includes(w.ca.certPem.trim()), '…the parent’s test CA');
  t.ok(nodeExtra!.includes(caPem!.trim()), '…and the detour CA');

  t.equal(env.DETOUR, '1');
});

// ---------------------------------------------------------------------------------------------------
// 5. The parent's files are never touched (DESIGN §2)

t.test('the parent’s config files are untouched and HOME gains nothing', { skip: needs('sh', 'git') }, async (t) => {
  const w = await makeWorld(t);
  const files: Record<string, string> = {
    '.gitconfig': '[user]\n\tname = Parent\n[http]\n\tproxy = http://127.0.0.1:9\n',
    '.npmrc': 'registry=https://registry.npmjs.org/\nproxy=http://127.0.0.1:9\n',
    '.config/go/env': 'GOPROXY=https://proxy.golang.org,direct\n',
  };
  const old = new Date('2020-01-02T03:04:05Z'); // any write would move the mtime off this
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(w.home, rel, '..'), { recursive: true });
    writeFileSync(join(w.home, rel), text);
    utimesSync(join(w.home, rel), old, old);
  }
  const before = Object.fromEntries(Object.keys(files).map((rel) => [rel, statSync(join(w.home, rel)).mtimeMs]));
  const listBefore = readdirSync(w.home, { recursive: true }).map(String).sort();

  const r = await w.detour([...QUIET, '--', 'sh', '-c', 'git config --get http.proxy; cat ~/.npmrc >/dev/null; echo "$DETOUR_PROXY"']);
  t.equal(r.code, 0, r.stderr);
  const [gitProxy, proxy] = lines(r.stdout);
  t.match(proxy, /^http:\/\/detour:/);
  t.equal(gitProxy, proxy, 'git’s http.proxy is detour’s: GIT_CONFIG_* wins over ~/.gitconfig');

  for (const [rel, text] of Object.entries(files)) {
    t.equal(readFileSync(join(w.home, rel), 'utf8'), text, `${rel}: same bytes`);
    t.equal(statSync(join(w.home, rel)).mtimeMs, before[rel], `${rel}: same mtime`);
  }
  t.same(readdirSync(w.home, { recursive: true }).map(String).sort(), listBefore, 'HOME has no new files');
});

// ---------------------------------------------------------------------------------------------------
// 6. The proxy port's guards (DESIGN §4)

t.test('the proxy answers 407 without the credential and 403 to requests addressed to itself', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const curl = 'curl -sS --max-time 10 -o /dev/null';
  const script = [
    'P=${DETOUR_PROXY##*:}',
    `echo "get-noauth $(${curl} -w '%{http_code}' -x http://127.0.0.1:$P http://example.org/)"`,
    `echo "connect-noauth $(${curl} -w '%{http_connect}' --proxytunnel -x http://127.0.0.1:$P https://example.org/ 2>/dev/null)"`,
    // --noproxy '': the child's NO_PROXY keeps loopback unproxied; here we want the proxy.
    `echo "get-self $(${curl} --noproxy '' -w '%{http_code}' -x "$DETOUR_PROXY" http://127.0.0.1:$P/)"`,
    `echo "connect-self $(${curl} --noproxy '' -w '%{http_connect}' --proxytunnel -x "$DETOUR_PROXY" https://127.0.0.1:$P/ 2>/dev/null)"`,
  ].join('\n');
  const r = await w.detour([...QUIET, '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  const got = Object.fromEntries(lines(r.stdout).map((l) => l.split(' ') as [string, string]));
  t.equal(got['get-noauth'], '407', 'plain request without credential → 407');
  t.equal(got['connect-noauth'], '407', 'CONNECT without credential → 407');
  t.equal(got['get-self'], '403', 'request addressed to the proxy itself → 403');
  t.equal(got['connect-self'], '403', 'CONNECT to the proxy itself → 403');
});

t.test('the proxy listens on 127.0.0.1 only', { skip: needs('sh') }, async (t) => {
  const w = await makeWorld(t);
  const r = await w.detour([...QUIET, '--', 'sh', '-c', 'echo "$DETOUR_PROXY"; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null']);
  t.equal(r.code, 0, r.stderr);
  const [proxy, ...table] = lines(r.stdout);
  const url = new URL(proxy!);
  t.equal(url.hostname, '127.0.0.1', 'DETOUR_PROXY names 127.0.0.1');
  const portHex = Number(url.port).toString(16).toUpperCase().padStart(4, '0');
  // /proc/net/tcp{,6}: "sl local_address rem_address st ...", st 0A = LISTEN.
  const listeners = table
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${portHex}`) && f[3] === '0A')
    .map((f) => f[1]!.split(':')[0]);
  t.ok(listeners.length >= 1, 'the proxy port is listening');
  t.same([...new Set(listeners)], ['0100007F'], 'every listener on the port is bound to 127.0.0.1');
});

t.test('the proxy refuses itself under any spelling of its address', async (t) => {
  const w = await makeWorld(t);
  // Raw CONNECTs (curl normalises some spellings itself), each bounded; prints "TARGET STATUS".
  const probe = join(w.work, 'probe.mjs');
  writeFileSync(
    probe,
    `import net from 'node:net';
const u = new URL(process.env.DETOUR_PROXY);
const auth = Buffer.from(decodeURIComponent(u.username) + ':' + decodeURIComponent(u.password)).toString('base64');
const ask = (head) => new Promise((resolve) => {
  const s = net.connect(Number(u.port), '127.0.0.1', () => s.write(head + 'Proxy-Authorization: Basic ' + auth + '\\r\\n\\r\\n'));
  let buf = '';
  const done = (v) => { clearTimeout(timer); s.destroy(); resolve(v); };
  const timer = setTimeout(() => done('timeout'), 5000);
  s.on('data', (d) => { buf += d; const m = /^HTTP\\/1\\.1 (\\d{3})/.exec(buf); if (m) done(m[1]); });
  s.on('error', (e) => done('error:' + e.code));
  s.on('close', () => done('closed'));
});
for (const host of ['127.0.0.1', '127.1', '2130706433', '0x7f000001', '[::ffff:127.0.0.1]']) {
  const target = host + ':' + u.port;
  console.log('CONNECT', target, await ask('CONNECT ' + target + ' HTTP/1.1\\r\\nHost: ' + target + '\\r\\n'));
}
for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]']) {
  const url = 'http://' + host + ':' + u.port + '/';
  console.log('GET', url, await ask('GET ' + url + ' HTTP/1.1\\r\\nHost: ' + host + ':' + u.port + '\\r\\nConnection: close\\r\\n'));
}
`,
  );
  const r = await w.detour([...QUIET, '--', process.execPath, probe]);
  t.equal(r.code, 0, r.stderr);
  const results = lines(r.stdout).map((l) => l.split(' '));
  t.equal(results.length, 7, r.stdout);
  for (const [method, target, status] of results) t.equal(status, '403', `${method} ${target} → 403`);
});

// ---------------------------------------------------------------------------------------------------
// 7. The CA (DESIGN §4)

t.test('the run CA: critical name constraints for the rule hosts only, CA:TRUE, valid for a day', { skip: needs('sh', 'openssl') }, async (t) => {
  const w = await makeWorld(t);
  const copy = join(w.work, 'run-ca.pem');
  const started = Date.now();
  const r = await w.detour(['--no-upstream', '-m', 'registry.npmjs.org=https://m.test', '--', 'sh', '-c', `cp "$DETOUR_CA_FILE" '${copy}'`]);
  t.equal(r.code, 0, r.stderr);
  const text = await openssl(['x509', '-noout', '-text', '-in', copy]);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /X509v3 Name Constraints: critical/);
  // The extension's body: from its heading to the next extension or the signature.
  const block = /X509v3 Name Constraints: critical\n([\s\S]*?)(?=\n\s*X509v3 |\n\s*Signature)/.exec(text.stdout)?.[1] ?? '';
  t.match(block, /Permitted:\s*\n\s*DNS:registry\.npmjs\.org\n/, 'permits DNS:registry.npmjs.org');
  t.same(text.stdout.match(/DNS:\S+/g), ['DNS:registry.npmjs.org', 'DNS:.registry.npmjs.org'], 'no other DNS name anywhere in the CA');
  t.match(block, /Excluded:\s*\n\s*DNS:\.registry\.npmjs\.org\n/, 'excludes its subdomains');
  t.match(text.stdout, /CA:TRUE/);
  t.match(text.stdout, /X509v3 Basic Constraints: critical/);

  const { notBefore, notAfter } = await certDates(copy);
  t.ok(Number.isFinite(notBefore) && Number.isFinite(notAfter), 'dates parsed');
  t.ok(notBefore <= Date.now(), 'already valid');
  t.ok(notAfter - started <= DAY + 5 * 60_000, `expires within a day of the run (notAfter ${new Date(notAfter).toISOString()})`);
  t.ok(notAfter - started >= DAY - 5 * 60_000, 'valid for about a day');
  t.ok(notAfter - notBefore <= DAY + 2 * HOUR, 'whole validity a day plus a little back-dating');
});

t.test('a mirrored CONNECT gets a leaf for that host, signed by the run CA', { skip: needs('sh', 'openssl') }, async (t) => {
  const w = await makeWorld(t);
  const caCopy = join(w.work, 'run-ca.pem');
  // openssl's own proxy support; the handshake is answered by detour, no request is sent upstream.
  const script = [
    `cp "$DETOUR_CA_FILE" '${caCopy}'`,
    'P=${DETOUR_PROXY##*:}; T=${DETOUR_PROXY#http://detour:}; T=${T%@*}',
    'openssl s_client -proxy 127.0.0.1:$P -proxy_user detour -proxy_pass "pass:$T" -connect registry.npmjs.org:443 -servername registry.npmjs.org -alpn h2,http/1.1 -CAfile "$DETOUR_CA_FILE" -verify_return_error </dev/null 2>&1',
  ].join('\n');
  const r = await w.detour(['--no-upstream', '-m', 'registry.npmjs.org=https://m.test', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
  t.match(r.stdout, /Verify return code: 0 \(ok\)/, 'chains to the run CA');
  t.match(r.stdout, /ALPN protocol: http\/1\.1/, 'ALPN: http/1.1 even when h2 is offered');
  t.match(r.stdout, /New, TLSv1\.[23], Cipher/, 'TLS 1.2+');
  const leaf = r.stdout.match(PEM)?.[0];
  t.ok(leaf, 'the leaf certificate was printed');
  if (!leaf) return;
  const leafFile = join(w.work, 'leaf.pem');
  writeFileSync(leafFile, leaf);
  const text = await openssl(['x509', '-noout', '-text', '-in', leafFile]);
  t.same(text.stdout.match(/DNS:\S+/g), ['DNS:registry.npmjs.org'], 'SAN is exactly the host');
  t.match(text.stdout, /CA:FALSE/);
  const leafDates = await certDates(leafFile);
  const caDates = await certDates(caCopy);
  t.ok(leafDates.notAfter <= caDates.notAfter, 'the leaf does not outlive the CA');
});

// ---------------------------------------------------------------------------------------------------
// 8. --ca-dir: kept, reused, replaced when the hosts change (DESIGN §1, §4)

t.test('--ca-dir keeps the CA (dir 0700, key 0600), reuses it, replaces it for other hosts', { skip: needs('sh', 'openssl') }, async (t) => {
  const w = await makeWorld(t);
  const dir = join(w.work, 'ca-dir');
  const runWith = (mirror: string) => w.detour(['--no-upstream', '--ca-dir', dir, '-m', mirror, '--', 'sh', '-c', 'cat "$DETOUR_CA_FILE"']);
  const mode = (p: string) => statSync(p).mode & 0o777;

  const first = await runWith('registry.npmjs.org=https://m.test');
  t.equal(first.code, 0, first.stderr);
  t.equal(mode(dir).toString(8), '700', 'DIR is 0700');
  t.equal(mode(join(dir, 'ca-key.pem')).toString(8), '600', 'the key is 0600');
  const kept = readFileSync(join(dir, 'ca.pem'), 'utf8');
  t.equal(first.stdout, kept, 'the child trusts the kept CA');

  const second = await runWith('registry.npmjs.org=https://m.test');
  t.equal(second.code, 0, second.stderr);
  t.equal(readFileSync(join(dir, 'ca.pem'), 'utf8'), kept, 'ca.pem reused unchanged');
  t.equal(second.stdout, kept, 'the second child gets the same CA');

  const third = await runWith('pypi.org=https://m.test');
  t.equal(third.code, 0, third.stderr);
  const replaced = readFileSync(join(dir, 'ca.pem'), 'utf8');
  t.not(replaced, kept, 'other hosts: a new CA replaces it');
  t.equal(third.stdout, replaced, 'and the child trusts the new one');
  t.equal(mode(join(dir, 'ca-key.pem')).toString(8), '600', 'the new key is 0600 too');
  const text = await openssl(['x509', '-noout', '-text', '-in', join(dir, 'ca.pem')]);
  t.same(text.stdout.match(/DNS:\S+/g), ['DNS:pypi.org', 'DNS:.pypi.org'], 'its constraints name the new host');
  t.same(leftovers(w), [], 'no run folder left either');
});

t.test('a root the parent gave one tool (CURL_CA_BUNDLE) still works for that tool on tunneled hosts', async (t) => {
  const w = await makeWorld(t);
  const corp = await makeTestCa();
  t.teardown(() => corp.cleanup());
  await w.https('pypi.corp.test', answer(200, 'corp index'), { untrusted: corp });
  const r = await w.detour([...w.flags(), '-d', 'pypi.corp.test', '-m', 'npm', '--', ...CURL, 'https://pypi.corp.test/simple/'], {
    env: { CURL_CA_BUNDLE: corp.certFile },
  });
  t.equal(r.stdout, 'corp index\n200', r.stderr);
});
