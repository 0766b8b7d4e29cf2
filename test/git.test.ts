// git clone through a raw rule to a fake mirror served by the real `git http-backend`.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitHttpBackendHandler, makeBareRepo } from './fixtures/git.js';
import { answer, makeWorld, needs } from './fixtures/detour.js';

t.test('git clone https://github.com/... is served by the mirror; github.com sees nothing', { skip: needs('git') }, async (t) => {
  const w = await makeWorld(t);
  const root = join(w.work, 'mirror-root');
  await makeBareRepo(join(root, 'acme/widget.git'), { 'README.md': '# widget from the mirror\n' });
  const origin = await w.https('github.com', answer(500, 'origin must not be asked'));
  const mirror = await w.https('git.mirror.test', gitHttpBackendHandler(root, { prefix: '/github.com' }));
  const r = await w.detour(
    [...w.flags(), '-v', '-m', 'github.com=https://git.mirror.test/github.com', '--', 'git', 'clone', '--quiet', 'https://github.com/acme/widget.git', 'widget'],
    { env: { GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' }, timeoutMs: 60_000 },
  );
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(w.work, 'widget/README.md'), 'utf8'), '# widget from the mirror\n');
  t.equal(origin.requests.length, 0, 'github.com received nothing');
  t.ok(mirror.requests.some((q) => q.url.startsWith('/github.com/acme/widget.git/info/refs')), 'mirror saw the ref discovery');
  t.ok(mirror.requests.some((q) => q.method === 'POST' && q.url.endsWith('/git-upload-pack')), 'mirror served the pack (POST with a body)');
  t.match(r.stderr, /POST https:\/\/github\.com\/acme\/widget\.git\/git-upload-pack \[mirror\] → git\.mirror\.test\/github\.com 200/);
});
