// npm: the public registry (registry.npmjs.org). Checked 2026-12-02.
//
// Facts relied on (npm's registry API, github.com/npm/registry/blob/main/docs/REGISTRY-API.md; npm config docs):
// - Packuments are JSON documents at `/<name>` naming each version's `dist.tarball` by absolute URL; tarballs
//   are `.tgz` files, never rewritten (their integrity is in the lockfile).
// - npm reads its proxy and no-proxy settings from npm_config_proxy / npm_config_https_proxy /
//   npm_config_noproxy (an .npmrc `proxy=` would otherwise win over HTTP(S)_PROXY).
import type { Ecosystem } from './types.js';

/** npm: packuments (JSON), never tarballs. */
const npmMetadata = (suffix: string, ct: string) => /json/i.test(ct) && !/\.tgz$/i.test(suffix);

export const npm: Ecosystem = {
  name: 'npm',
  description: 'npm registry',
  routes: [
    { host: 'registry.npmjs.org', pathPrefix: '', mount: '', isMetadata: npmMetadata, probe: '/is-number' },
    // yarn 1's default registry, the same content under another name. Not probed: its targets are
    // registry.npmjs.org's, so `detour check` would ask each mirror the same question twice.
    { host: 'registry.yarnpkg.com', pathPrefix: '', mount: '', isMetadata: npmMetadata },
  ],
  mirrors: {
    npmmirror: 'https://registry.npmmirror.com',
    tencent: 'https://mirrors.cloud.tencent.com/npm',
    huawei: 'https://mirrors.huaweicloud.com/repository/npm',
  },
  defaultChain: 'npmmirror|origin',

  prepare: () => ({
    childEnv: (_parent, facts) => ({
      npm_config_proxy: facts.proxyUrl,
      npm_config_https_proxy: facts.proxyUrl,
      npm_config_noproxy: facts.noProxy,
    }),
  }),
};
