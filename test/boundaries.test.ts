// The run's boundaries, each pinned by a test that fails when the promise breaks (a mutation audit found
// them unheld): who may use the proxy port (a wrong credential is refused like a missing one), what the
// child's NO_PROXY lets go around detour (never the parent's `*`), and what the -v summary counts.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answer, makeWorld, needs } from './fixtures/detour.js';
import { isolatedEnv, run } from './fixtures/run.js';

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

/** key=value lines → object (values never contain newlines here). */
function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines(text)) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

// ---------------------------------------------------------------------------------------------------
// The proxy port (DESIGN §4)

t.test('a wrong credential gets 407 as a missing one does: wrong token, wrong user, swapped, empty, longer', { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  // Stand-ins for the target: a proxy that let a wrong credential through would reach them, never the internet.
  const plain = await w.http('example.org', answer(200, 'plain origin'));
  const tls = await w.https('example.org', answer(200, 'tls origin'));
  const curl = 'curl -sS --max-time 10 -o /dev/null';
  const script = [
    'P=${DETOUR_PROXY##*:}; T=${DETOUR_PROXY#http://detour:}; T=${T%@*}',
    // Same length as the token, every letter and digit changed.
    "W=$(printf %s \"$T\" | tr 'A-Za-z0-9' 'B-ZAb-za1-90')",
    '[ "$W" != "$T" ] && [ ${#W} -eq ${#T} ] && echo "wrong-token-differs yes"',
    'for pair in "wrong-token detour:$W" "wrong-user other:$T" "swapped $T:detour" "empty-token detour:" "longer-token detour:${T}x"; do',
    '  name=${pair%% *}; cred=${pair#* }',
    `  echo "get-$name $(${curl} -w '%{http_code}' -x "http://$cred@127.0.0.1:$P" http://example.org/)"`,
    `  echo "connect-$name $(${curl} -w '%{http_connect}' --proxytunnel -x "http://$cred@127.0.0.1:$P" https://example.org/ 2>/dev/null)"`,
    'done',
    // The right credential, for contrast: the same requests are served.
    `echo "get-right $(${curl} -w '%{http_code}' -x "$DETOUR_PROXY" http://example.org/)"`,
  ].join('\n');
  const r = await w.detour([...w.flags(), '-m', 'npm', '--', 'sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  const got = Object.fromEntries(lines(r.stdout).map((l) => l.split(' ') as [string, string]));
  t.equal(got['wrong-token-differs'], 'yes', 'the wrong token has the right length and differs');
  for (const name of ['wrong-token', 'wrong-user', 'swapped', 'empty-token', 'longer-token']) {
    t.equal(got[`get-${name}`], '407', `plain request, ${name} → 407`);
    t.equal(got[`connect-${name}`], '407', `CONNECT, ${name} → 407`);
  }
  t.equal(got['get-right'], '200', 'the run’s own credential is served');
  t.equal(plain.requests.length, 1, 'only the request with the right credential reached the target');
  t.equal(tls.connections(), 0, 'no CONNECT reached the target');
});

// ---------------------------------------------------------------------------------------------------
// The child's NO_PROXY (DESIGN §2: loopback kept, nothing that bypasses a mirrored host)

t.test("the parent's NO_PROXY=* is dropped for the child: a mirrored host still goes through detour", { skip: needs('sh', 'curl') }, async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('registry.npmmirror.com', answer(200, 'from mirror'));
  const origin = await w.https('registry.npmjs.org', answer(200, 'from origin'));
  // --resolve: a curl that went around the proxy would dial 127.0.0.1:443 (nothing there), never the internet;
  // through the proxy curl resolves nothing, so the option is inert. (curl reads `*` only as NO_PROXY's whole
  // value; the Go client below reads it anywhere in the list.)
  const script = [
    'echo "NO_PROXY=$NO_PROXY"',
    'echo "no_proxy=$no_proxy"',
    'echo "npm_config_noproxy=$npm_config_noproxy"',
    "echo \"curl=$(curl -sS --max-time 20 --resolve registry.npmjs.org:443:127.0.0.1 -w ' %{http_code}' https://registry.npmjs.org/left-pad)\"",
  ].join('\n');
  const r = await w.detour([...w.flags(), '-v', '-m', 'npm=https://registry.npmmirror.com', '--', 'sh', '-c', script], {
    env: { NO_PROXY: '*', no_proxy: '*' },
  });
  t.equal(r.code, 0, r.stderr);
  const got = parseEnv(r.stdout);
  for (const k of ['NO_PROXY', 'no_proxy', 'npm_config_noproxy']) {
    const entries = (got[k] ?? '').split(',');
    t.notOk(entries.includes('*'), `${k} lost the parent's *: ${got[k]}`);
    t.ok(entries.includes('127.0.0.1'), `${k} keeps loopback`);
  }
  t.equal(got.curl, 'from mirror 200', `curl in the child went through detour to the mirror: ${r.stderr}`);
  t.match(r.stderr, /GET https:\/\/registry\.npmjs\.org\/left-pad \[mirror\]/, 'detour saw the request');
  t.equal(mirror.requests.length, 1);
  t.equal(origin.requests.length, 0);
});

/** A Go HTTP client that routes by the proxy variables (Go reads `*` anywhere in NO_PROXY as "every host"). A
 *  direct dial of HOST:443 goes to $DIRECT_TO, a 127.0.0.1 stand-in: a client that bypassed the proxy stays local. */
const GO_CLIENT = `package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	d := &net.Dialer{}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == os.Getenv("DIRECT_HOST") {
			addr = os.Getenv("DIRECT_TO")
		}
		return d.DialContext(ctx, network, addr)
	}
	res, err := (&http.Client{Transport: tr}).Get(os.Args[1])
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	b, _ := io.ReadAll(res.Body)
	fmt.Printf("%s %d\\n", b, res.StatusCode)
}
`;

t.test("the parent's NO_PROXY=* is dropped for the child: a Go client reaches the mirrored host through detour", { skip: needs('go') }, async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('registry.npmmirror.com', answer(200, 'from mirror'));
  const origin = await w.https('registry.npmjs.org', answer(200, 'from origin'));
  const goEnv = { GOCACHE: join(w.work, 'gocache'), GOPATH: join(w.work, 'gopath'), GOTOOLCHAIN: 'local', GOFLAGS: '', GO111MODULE: 'auto', HOME: w.home };
  writeFileSync(join(w.work, 'client.go'), GO_CLIENT);
  // Built before detour runs: only the standard library, nothing fetched.
  const built = await run('go', ['build', '-o', 'client', 'client.go'], { cwd: w.work, env: isolatedEnv(goEnv), timeoutMs: 120_000 });
  t.equal(built.code, 0, built.stderr);
  const r = await w.detour([...w.flags(), '-v', '-m', 'npm=https://registry.npmmirror.com', '--', join(w.work, 'client'), 'https://registry.npmjs.org/left-pad'], {
    env: { NO_PROXY: '*', no_proxy: '*', DIRECT_HOST: 'registry.npmjs.org:443', DIRECT_TO: `127.0.0.1:${origin.port}` },
  });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'from mirror 200\n', `the Go client went through detour to the mirror: ${r.stderr}`);
  t.equal(mirror.requests.length, 1);
  t.equal(origin.requests.length, 0, 'the origin (reached only by a client that went around detour) received nothing');
});

// ---------------------------------------------------------------------------------------------------
// The -v summary (DESIGN §1)

t.test('the -v summary counts what the run did: one mirrored request, its bytes, nothing else', { skip: needs('curl') }, async (t) => {
  const w = await makeWorld(t);
  const mirror = await w.https('registry.npmmirror.com', answer(200, 'x'.repeat(2048)));
  const r = await w.detour([...w.flags(), '-v', '-m', 'npm=https://registry.npmmirror.com', '--', 'curl', '-sS', '--max-time', '20', '-o', '/dev/null', 'https://registry.npmjs.org/left-pad']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '', 'nothing on stdout');
  t.equal(mirror.requests.length, 1);
  // A request answered by the mirror is counted as mirrored under any counting rule; 2048 B is 2.0 KiB.
  t.match(
    r.stderr,
    /^detour: 1 request, 1 mirrored, 0 tunneled, 0 direct, 0 to origin, 0 blocked, 0 fallbacks, 0 failures, 2\.0 KiB$/m,
    `the summary line: ${r.stderr}`,
  );
  t.match(r.stderr, /^detour: +mirrored +registry\.npmmirror\.com 1$/m, 'the mirrored detail names the target once');
});
