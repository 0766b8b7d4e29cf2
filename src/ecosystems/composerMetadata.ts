// Composer: packagist's metadata as packagist writes it. The root document (packages.json) is a fixed text; a
// package's v2 file (/p2/<vendor>/<name>.json) is canonicalised as a whole, since a mirror may write its own
// download URL where packagist names the VCS host (Nexus, Huawei), and add fields of its own.
//
// Facts relied on (read on 2026-12-02):
// - packagist's dumper, composer/packagist src/Package/V2Dumper.php: `dumpRoot` writes the root document below
//   (keys in that order; `metadata-url` absolute on repo.packagist.org, the other URLs on packagist.org; the
//   filter list names from src/FilterList/FilterLists.php); `dumpVersionsToV2File` writes a v2 file with the
//   keys `minified` ("composer/2.0"), `packages` (name → versions, minified by composer/metadata-minifier:
//   a version lists only the keys that changed from the one before, "__unset" removes one), and, when there
//   are any, `security-advisories` and `filter`.
// - Download URLs as packagist records them are Composer's VCS drivers' (Debian composer 2.5.5,
//   /usr/share/php/Composer/Repository/Vcs): GitHubDriver::getDist
//   `https://api.github.com/repos/<owner>/<repo>/zipball/<ref>`, GitLabDriver::getDist
//   `https://gitlab.com/api/v4/projects/<namespace%2Frepo, urlEncodeAll>/repository/archive.zip?sha=<ref>`,
//   GitBitbucketDriver::getDist `https://bitbucket.org/<owner>/<repo>/get/<ref>.zip`, each with `shasum` ''
//   (a VCS archive's bytes are not stable); the source URL is `https://github.com/<owner>/<repo>.git` (and
//   likewise). A `dist` is `{type, url, reference, shasum}`, a `source` `{type, url, reference}`.
// - A version's keys: src/Entity/Version.php, the `VersionArray` type that toV2Array returns.
// - What composer.lock keeps of a package: its version data as the repository gave it (Package/Dumper/
//   ArrayDumper.php), with `dist.mirrors`/`source.mirrors` (from a packages.json `mirrors` key,
//   Repository/ComposerRepository.php loadRootServerFile) and `notification-url` (a version's own, else
//   `notify-batch`: ComposerRepository::createPackages).

/** The root document packagist.org serves at https://repo.packagist.org/packages.json (V2Dumper::dumpRoot). */
export const PACKAGIST_ROOT = JSON.stringify({
  packages: [],
  'notify-batch': 'https://packagist.org/downloads/',
  'providers-url': '/p/%package%$%hash%.json',
  'metadata-url': 'https://repo.packagist.org/p2/%package%.json',
  'metadata-changes-url': 'https://packagist.org/metadata/changes.json',
  search: 'https://packagist.org/search.json?q=%query%&type=%type%',
  list: 'https://packagist.org/packages/list.json',
  'security-advisories': { metadata: true, 'api-url': 'https://packagist.org/api/security-advisories/' },
  'providers-api': 'https://packagist.org/providers/%package%.json',
  warning:
    'Support for Composer 1 has been shutdown on September 1st 2025. You should upgrade to Composer 2. See https://blog.packagist.com/shutting-down-packagist-org-support-for-composer-1-x/',
  'warning-versions': '<1.999',
  providers: [],
  filter: { metadata: true, lists: ['aikido-malware'], 'default-lists': ['aikido-malware'] },
});

/** packagist's notify-batch URL: composer.lock records it as each package's `notification-url`. */
export const PACKAGIST_NOTIFY = 'https://packagist.org/downloads/';

/** The keys packagist writes at the top of a v2 file; anything else is a mirror's. */
const V2_KEYS = new Set(['minified', 'packages', 'security-advisories', 'filter']);
/** The keys of a version packagist writes (src/Entity/Version.php, `VersionArray`); anything else is a mirror's. */
const VERSION_KEYS = [
  'name', 'description', 'keywords', 'homepage', 'version', 'version_normalized', 'license', 'authors', 'source', 'dist', 'type',
  'support', 'funding', 'time', 'autoload', 'extra', 'target-dir', 'include-path', 'bin', 'default-branch',
  'require', 'require-dev', 'suggest', 'conflict', 'provide', 'replace', 'abandoned', 'php-ext',
];
const DIST_KEYS = ['type', 'url', 'reference', 'shasum'];
const SOURCE_KEYS = ['type', 'url', 'reference'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: Json | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** `https://github.com/o/r.git`, `git@github.com:o/r.git` → the VCS host and the repository's path. */
function repository(url: string): { host: string; path: string } | undefined {
  const m = /^(?:(?:https?|git|ssh):\/\/(?:git@)?([^/]+)\/|git@([^:]+):\/?)(.+?)(?:\.git)?\/?$/.exec(url);
  if (!m) return undefined;
  return { host: (m[1] ?? m[2]!).toLowerCase(), path: m[3]! };
}

/** GitLabDriver::urlEncodeAll: every byte but letters, digits, `-` and `_` as %XX (`.` too, unlike rawurlencode). */
function encodeAll(text: string): string {
  const kept = (b: number) => /[A-Za-z0-9_-]/.test(String.fromCharCode(b));
  return [...Buffer.from(text)].map((b) => (kept(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** The download URL packagist records for a source (Composer's VCS drivers), or undefined for another host. */
export function originDistUrl(sourceUrl: string, reference: string): string | undefined {
  const repo = repository(sourceUrl);
  if (!repo) return undefined;
  const parts = repo.path.split('/');
  switch (repo.host) {
    case 'github.com':
      return parts.length === 2 ? `https://api.github.com/repos/${repo.path}/zipball/${reference}` : undefined;
    case 'gitlab.com':
      return `https://gitlab.com/api/v4/projects/${encodeAll(repo.path)}/repository/archive.zip?sha=${reference}`;
    case 'bitbucket.org':
      return parts.length === 2 ? `https://bitbucket.org/${repo.path}/get/${reference}.zip` : undefined;
    default:
      return undefined;
  }
}

/** The source URL packagist records beside a GitHub download URL. */
function originSourceUrl(distUrl: string): string | undefined {
  const m = /^https:\/\/api\.github\.com\/repos\/([^/]+\/[^/]+)\/zipball\//.exec(distUrl);
  return m ? `https://github.com/${m[1]}.git` : undefined;
}

const pick = (o: JsonObject, keys: readonly string[]): JsonObject => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]!]));

/** A download detour saw in a mirror's metadata: where packagist names it, and where that mirror keeps it. */
export interface SeenDist {
  readonly package: string;
  readonly url: string;
  readonly reference: string;
  readonly type: string;
  /** The mirror's own URL for it, when its metadata named one. */
  readonly mirrorUrl?: string;
}

/** Is `url` on the mirror's host? A mirror writes its own downloads there (Nexus: under its base URL). */
const onMirror = (url: string | undefined, mirror: URL): url is string => {
  try {
    return url !== undefined && new URL(url).host === mirror.host;
  } catch {
    return false;
  }
};

/**
 * One version as packagist would write it; `seen` gets its download. `inherited` is the source URL this version
 * has when it lists none (a minified file lists only what changed from the version before).
 */
function canonicalVersion(name: string, v: JsonObject, mirror: URL, inherited: string | undefined, seen: (d: SeenDist) => void): JsonObject {
  // A mirror's own keys would reach composer.lock (a `notification-url` there wins over packagist's notify-batch).
  const out = pick(v, VERSION_KEYS);
  const source = isObject(v.source) ? pick(v.source, SOURCE_KEYS) : undefined;
  const dist = isObject(v.dist) ? pick(v.dist, DIST_KEYS) : undefined;
  if (dist) {
    const reference = str(dist.reference) ?? str(source?.reference) ?? '';
    const own = str(dist.url);
    const sourceUrl = source ? str(source.url) : inherited;
    if (onMirror(own, mirror)) {
      const origin = sourceUrl && !onMirror(sourceUrl, mirror) ? originDistUrl(sourceUrl, reference) : undefined;
      if (origin) {
        dist.url = origin;
        dist.shasum = ''; // packagist never has one for a VCS archive; the mirror's is for its own file
      }
    }
    const url = str(dist.url);
    if (url && !onMirror(url, mirror)) {
      seen({ package: name, url, reference, type: str(dist.type) ?? 'zip', ...(own !== url && own ? { mirrorUrl: own } : {}) });
    }
    out.dist = dist;
  }
  if (source) {
    const url = str(source.url);
    const rebuilt = onMirror(url, mirror) && dist ? originSourceUrl(str(dist.url) ?? '') : undefined;
    if (rebuilt) source.url = rebuilt;
    out.source = source;
  }
  return out;
}

/**
 * A mirror's v2 file as packagist would have written it: only packagist's top-level keys; in each version,
 * `dist` and `source` with packagist's keys only (a mirror's `mirrors` would land in composer.lock), and a
 * download URL on the mirror's host replaced by the one packagist records for that source, with no shasum.
 * A URL that cannot be rebuilt stays, for the byte replacement to name the origin's host. Throws on a
 * document that is not a v2 file (the caller then passes it on unchanged).
 */
export function canonicalV2(text: string, mirror: URL, seen: (d: SeenDist) => void = () => {}): string {
  const doc = JSON.parse(text) as Json;
  if (!isObject(doc) || !isObject(doc.packages)) throw new Error('not a composer v2 metadata file');
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(doc)) if (V2_KEYS.has(key)) out[key] = value;
  const packages: JsonObject = {};
  for (const [name, versions] of Object.entries(doc.packages)) {
    if (!Array.isArray(versions)) {
      packages[name] = versions;
      continue;
    }
    let sourceUrl: string | undefined;
    packages[name] = versions.map((v) => {
      if (!isObject(v)) return v;
      if (isObject(v.source)) sourceUrl = str(v.source.url);
      else if (v.source !== undefined) sourceUrl = undefined; // "__unset", or no source
      return canonicalVersion(name, v, mirror, sourceUrl, seen);
    });
  }
  out.packages = packages;
  return JSON.stringify(out);
}
