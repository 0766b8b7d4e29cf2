// Composer: where a mirror keeps the downloads packagist names on api.github.com. composer.lock names
// `https://api.github.com/repos/<owner>/<repo>/zipball/<ref>`, which says nothing of the package it belongs to,
// while mirrors keep downloads by package: aliyun's `<root>/dists/<package>/<reference>.<type>` (the `dist-url`
// of its packages.json `mirrors` key, aliyun/packagist-mirror util/sync_packages_json.go; composer fills it in
// with Util/ComposerMirror::processUrl, a reference that is not hex becoming its md5), a Nexus-style mirror its
// own URL in its metadata. So detour learns, per run and in memory, which package a download URL belongs to:
// from the v2 files it canonicalised (each mirror's own URL kept when it named one), and from composer.lock in
// the working folder (what `composer install` downloads without asking for metadata first), for the packages
// that came from packagist (`notification-url` is packagist's) — a private package's name never goes to a
// mirror. A download detour knows nothing of goes to api.github.com as it would without detour.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { PACKAGIST_NOTIFY, type SeenDist } from './composerMetadata.js';

const GITHUB_DIST = /^https:\/\/api\.github\.com\/repos\/[^/]+\/[^/]+\/zipball\/[^/?#]+$/;

interface Place {
  readonly package: string;
  readonly reference: string;
  readonly type: string;
  /** The path under the mirror's root where that mirror's metadata put it (Nexus-style), if it named one. */
  readonly mirrorPath?: string;
}

/** Download URL (as composer asks for it) → what detour knows of it. Per run: the CLI runs one command. */
const places = new Map<string, Place>();

/** Remembers a download seen in a mirror's v2 file fetched from `mirrorRoot`. */
export function learnFromMirror(d: SeenDist, mirrorRoot: URL): void {
  if (!GITHUB_DIST.test(d.url)) return;
  let mirrorPath: string | undefined;
  if (d.mirrorUrl) {
    const own = new URL(d.mirrorUrl);
    const root = mirrorRoot.pathname.replace(/\/$/, '');
    if (own.host === mirrorRoot.host && own.pathname.startsWith(root + '/') && !own.search) mirrorPath = own.pathname.slice(root.length);
  }
  // A place a mirror named is kept when another mirror's file (one that names none) is read later.
  const path = mirrorPath ?? places.get(d.url)?.mirrorPath;
  places.set(d.url, { package: d.package, reference: d.reference, type: d.type, ...(path ? { mirrorPath: path } : {}) });
}

/**
 * Remembers the packagist downloads a composer.lock names. The lock composer reads: `COMPOSER` names the
 * composer.json (default ./composer.json), and the lock is beside it (Factory::getComposerFile, getLockFile).
 * Unreadable or not a lock: nothing learnt.
 */
export function learnFromLock(parentEnv: NodeJS.ProcessEnv, cwd: string): void {
  const json = parentEnv.COMPOSER?.trim() || 'composer.json';
  const lockFile = resolve(cwd, json.endsWith('.json') ? `${json.slice(0, -'json'.length)}lock` : `${json}.lock`);
  let lock: unknown;
  try {
    lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  } catch {
    return;
  }
  if (typeof lock !== 'object' || lock === null) return;
  for (const key of ['packages', 'packages-dev']) {
    const list = (lock as Record<string, unknown>)[key];
    if (!Array.isArray(list)) continue;
    for (const p of list as Record<string, unknown>[]) {
      const dist = p?.dist as Record<string, unknown> | undefined;
      if (p?.['notification-url'] !== PACKAGIST_NOTIFY || typeof p.name !== 'string' || typeof dist?.url !== 'string') continue;
      if (!GITHUB_DIST.test(dist.url) || places.has(dist.url)) continue;
      places.set(dist.url, { package: p.name.toLowerCase(), reference: String(dist.reference ?? ''), type: String(dist.type ?? 'zip') });
    }
  }
}

/** aliyun's layout, as composer fills in `dists/%package%/%reference%.%type%`. */
function distsPath(p: Place): string {
  const reference = /^[a-f0-9]*$/.test(p.reference) ? p.reference : createHash('md5').update(p.reference).digest('hex');
  return `/dists/${p.package}/${reference}.${p.type}`;
}

/**
 * api.github.com's path after `/repos` → where a mirror keeps that download, under its root; undefined when
 * detour does not know the package (the request then goes to api.github.com unchanged).
 */
export function distMirrorPath(suffix: string): string | undefined {
  const p = places.get(`https://api.github.com/repos${suffix}`);
  if (!p) return undefined;
  return p.mirrorPath ?? distsPath(p);
}
