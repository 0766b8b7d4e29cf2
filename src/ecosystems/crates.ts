// crates.io: the sparse index (index.crates.io) and downloads (static.crates.io). Checked 2026-12-02.
//
// Facts relied on (doc.rust-lang.org/cargo/reference/registry-index.html, "Sparse protocol" and "Index
// configuration"):
// - `/config.json` names the download host (`dl`) and the API (`api`); index lines name no host.
// - `cargo publish` sends the crates.io token to `api`: a mirror's config.json names its own API
//   (rsproxy: `"api":"https://rsproxy.cn"`), so the client always gets the origin's document.
// - Downloads: static.crates.io/crates/<c>/<c>-<v>.crate; mirrors serve the API form
//   <mirror>/api/v1/crates/<c>/<v>/download.
import type { Ecosystem } from './types.js';

/** static.crates.io/crates/<c>/<c>-<v>.crate  →  <mirror>/api/v1/crates/<c>/<v>/download */
function cratesDownloadPath(suffix: string): string {
  const m = /^\/([^/]+)\/\1-(.+)\.crate$/.exec(suffix);
  return m ? `/${m[1]}/${m[2]}/download` : suffix;
}

/** crates: only config.json names download hosts; index lines do not. */
const cratesMetadata = (suffix: string) => suffix === '/config.json';
/** crates.io's config.json, as index.crates.io serves it. */
const CRATES_CONFIG = '{"dl":"https://static.crates.io/crates","api":"https://crates.io"}';
const cratesConfig = (suffix: string) => (suffix === '/config.json' ? CRATES_CONFIG : undefined);

export const crates: Ecosystem = {
  name: 'crates',
  description: 'crates.io sparse index and downloads',
  routes: [
    { host: 'index.crates.io', pathPrefix: '', mount: '/index', isMetadata: cratesMetadata, originDocument: cratesConfig, probe: '/config.json' },
    { host: 'static.crates.io', pathPrefix: '/crates', mount: '/api/v1/crates', mirrorPath: cratesDownloadPath },
  ],
  mirrors: { rsproxy: 'https://rsproxy.cn' },
  defaultChain: 'rsproxy|origin',
};
