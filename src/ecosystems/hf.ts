// The `hf` preset: the Hugging Face Hub (huggingface.co) through hf-mirror.com, same paths, and the hosts the
// Hub's downloads are redirected to. Protocol facts relied on (sources read on 2026-12-02):
//
// - huggingface_hub (Python; file_download.py `get_hf_file_metadata`, utils/_http.py
//   `_httpx_follow_relative_redirects_with_backoff`, at ee0a4510, 2026-08-20): a download starts with
//   `HEAD https://huggingface.co/<repo>/resolve/<rev>/<file>` that follows RELATIVE redirects only (a renamed
//   repo, `/api/resolve-cache/…`); an absolute Location is taken as the download URL, with its size from
//   X-Linked-Size, its ETag from X-Linked-Etag and the commit from X-Repo-Commit; the Authorization header is
//   dropped when that URL's host differs from the Hub's. The GET then follows redirects.
//   `is_xet_available()` is false under HF_HUB_DISABLE_XET=1: the file then comes over that plain HTTP path.
// - @huggingface/hub (npm 2.17.5; huggingface.js packages/hub `fileDownloadInfo`, `downloadFile`, `listFiles`,
//   at fe42e680, 2026-08-21): `GET …/resolve/<rev>/<file>` with `Range: bytes=0-0` and
//   `Accept: application/vnd.xet-fileinfo+json, */*`, redirects followed by fetch; the size comes from
//   Content-Range, the ETag from X-Linked-ETag or ETag; the final URL is kept only when it is on the Hub's
//   origin, else the /resolve/ URL is asked again for the bytes. Xet is used only when the answer's type is
//   the xet-fileinfo one. `listFiles` pages through `GET /api/models/<repo>/tree/<rev>` by its Link rel="next",
//   an absolute URL.
// - The hosts /resolve/ redirects to: hub-docs docs/hub/models-downloading.md, "Downloading behind a proxy or
//   firewall" (2026-08), plus the legacy names from its review (huggingface/hub-docs#2628): cdn-lfs*.hf.co,
//   cdn-lfs*.huggingface.co, us.aws/us.gcp.cdn.hf.co, cas-bridge.xethub(-eu).hf.co. The Xet protocol hosts
//   (cas-server.xethub*.hf.co, transfer.xethub*.hf.co) come from `/api/…/xet-read-token`, not from
//   HF_ENDPOINT (huggingface/huggingface_hub#4475), and carry a Hub-issued bearer token that detour never gives
//   to another host: they are not mirrored, and the child gets HF_HUB_DISABLE_XET=1 (childEnv.ts).
// - hf-mirror.com answers /resolve/ with redirects to its own hosts named like the Hub's, the Hub's domain
//   replaced by its own and the path kept (`https://cdn-lfs-us-1.hf-mirror.com/repos/…`,
//   `https://cdn-lfs.hf-mirror.com/repos/…`, as quoted in public repositories).
import type { Ecosystem, PresetRoute } from './types.js';

const HUB = 'huggingface.co';

/** Where the Hub's downloads are redirected (LFS CDNs, CDN edges, the Xet HTTP bridge). */
const DOWNLOAD_HOSTS = [
  'cdn-lfs-us-1.hf.co',
  'cdn-lfs-eu-1.hf.co',
  'cdn-lfs.hf.co',
  'cdn-lfs.huggingface.co',
  'cdn-lfs-us-1.huggingface.co',
  'cdn-lfs-eu-1.huggingface.co',
  'us.aws.cdn.hf.co',
  'us.gcp.cdn.hf.co',
  'cas-bridge.xethub.hf.co',
  'cas-bridge.xethub-eu.hf.co',
];

/** Mirrors known to serve the download hosts under their own domain (cdn-lfs-us-1.hf.co → cdn-lfs-us-1.hf-mirror.com). */
const SIBLING_LAYOUT = new Set(['hf-mirror.com']);

/** The mirror's name for a download host: its labels before the Hub's domain, then the mirror's host. */
function sibling(host: string): (root: URL) => URL | undefined {
  const labels = host.replace(/\.(hf\.co|huggingface\.co)$/, '');
  return (root) => (SIBLING_LAYOUT.has(root.host) && root.pathname === '/' ? new URL(`https://${labels}.${root.host}`) : undefined);
}

const downloadRoute = (host: string): PresetRoute => ({ host, pathPrefix: '', mount: '', mirrorBase: sibling(host), canonicalHeaders: ['location'] });

export const hf: Ecosystem = {
  name: 'hf',
  description: 'Hugging Face Hub (API, /resolve/ downloads and the hosts they redirect to)',
  routes: [
    // Location: a mirror's redirect to its own hosts comes back as the Hub's; Link: listFiles' next page.
    { host: HUB, pathPrefix: '', mount: '', canonicalHeaders: ['location', 'link'], probe: '/api/models/gpt2' },
    ...DOWNLOAD_HOSTS.map(downloadRoute),
  ],
  mirrors: { 'hf-mirror': 'https://hf-mirror.com' },
  defaultChain: 'hf-mirror|origin',

  // hf_xet (huggingface_hub's Xet downloader) asks the Xet hosts the Hub names, whatever HF_ENDPOINT says, and on
  // macOS trusts only the keychain: with it off, downloads take the /resolve/ HTTP path, which detour mirrors.
  // HF_ENDPOINT is left alone: the client keeps asking huggingface.co, which detour routes.
  prepare: (_parent, serves) => (serves('huggingface.co', 443) ? { childEnv: () => ({ HF_HUB_DISABLE_XET: '1' }) } : {}),
};
