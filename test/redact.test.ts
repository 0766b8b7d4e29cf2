// redactUrl: credentials in a URL's authority are removed; an '@' anywhere else (Go's `/@v/` paths) is not
// user info, and such URLs come back unchanged without a second parse.
import t from 'tap';
import { redactUrl } from '../src/redact.js';

t.test('user info is replaced, in strings and URLs', async (t) => {
  t.equal(redactUrl('https://ci:TOKEN@nexus.corp/repo/'), 'https://***@nexus.corp/repo/');
  t.equal(redactUrl('https://:TOKEN@nexus.corp/'), 'https://nexus.corp/');
  t.equal(redactUrl(new URL('http://user:pw@proxy.corp:3128/')), 'http://***@proxy.corp:3128/');
  t.equal(redactUrl('https://ci:TOKEN@nexus.corp'), 'https://***@nexus.corp/', 'no path');
  t.equal(redactUrl('https://ci:TOKEN@nexus.corp?q=1'), 'https://***@nexus.corp/?q=1', 'a query right after the host');
});

t.test("an '@' after the authority is not user info", async (t) => {
  const go = 'https://proxy.golang.org/golang.org/x/text/@v/v0.14.0.info';
  t.equal(redactUrl(go), go);
  t.equal(redactUrl('https://h.test/p?x=a@b'), 'https://h.test/p?x=a@b');
  t.equal(redactUrl('https://h.test/#a@b'), 'https://h.test/#a@b');
  t.equal(redactUrl('https://ci:TOKEN@h.test/@v/list'), 'https://***@h.test/@v/list', 'both');
});

t.test('spellings the URL parser reads differently are parsed, not guessed', async (t) => {
  // WHATWG: in special schemes '\' ends the authority too; the parse decides.
  t.equal(redactUrl('https://h.test\\@evil.test/'), new URL('https://h.test\\@evil.test/').href);
  t.equal(redactUrl('host.test:443'), 'host.test:443', 'an authority alone (tunnel records)');
  t.equal(redactUrl('not a url @ all'), 'not a url @ all');
});
