// PyPI: the simple index (pypi.org/simple) and its files (files.pythonhosted.org). Checked 2026-12-02.
//
// Facts relied on (PEP 503 and PEP 691, packaging.python.org/en/latest/specifications/simple-repository-api/):
// - Project pages are HTML or JSON at `/simple/<project>/`; file links may be relative to the page
//   (mirrors serve `../../packages/…`), so they are made absolute before canonicalising.
// - Files live under `/packages/…` on files.pythonhosted.org, and mirrors keep that path under their root.
import type { Ecosystem } from './types.js';

/** PyPI: simple-index pages, HTML or JSON. */
const pypiMetadata = (_suffix: string, ct: string) => /html|json/i.test(ct);

export const pypi: Ecosystem = {
  name: 'pypi',
  description: 'Python Package Index (simple index and files)',
  routes: [
    { host: 'pypi.org', pathPrefix: '/simple', mount: '/simple', isMetadata: pypiMetadata, relativeLinks: true, probe: '/simple/six/' },
    // Listed before pypi.org/packages: a mirror's /packages URLs canonicalise to files.pythonhosted.org.
    { host: 'files.pythonhosted.org', pathPrefix: '/packages', mount: '/packages' },
    // Relative hrefs are made absolute on files.pythonhosted.org; a client that cached a page from before
    // (or reads one through another path) may still ask pypi.org/packages: route those files too.
    { host: 'pypi.org', pathPrefix: '/packages', mount: '/packages' },
  ],
  mirrors: {
    tuna: 'https://pypi.tuna.tsinghua.edu.cn',
    aliyun: 'https://mirrors.aliyun.com/pypi',
    ustc: 'https://mirrors.ustc.edu.cn/pypi',
    tencent: 'https://mirrors.cloud.tencent.com/pypi',
  },
  defaultChain: 'tuna|aliyun|origin',
};
