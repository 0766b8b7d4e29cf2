// S4's module graph, written at bench time as a file-layout GOPROXY tree (https://go.dev/ref/mod#goproxy-protocol):
// for each module `<module>/@v/list`, `<version>.info`, `.mod` and `.zip`, the zip a valid module zip (every
// entry under `<module>@<version>/`, go.mod included, stored without compression), and a main module whose
// go.mod requires all of them. `go mod download` fetches .info, .mod and .zip of each: 3 requests a module.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const VERSION = 'v1.0.0';
const TIME = '2023-01-02T03:04:05Z';

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** A zip of stored (uncompressed) entries: local headers, data, central directory, end record. */
export function makeZip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBuf = Buffer.from(name);
    const body = Buffer.from(data);
    const crc = crc32(body);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(body.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(body.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, body);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + body.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/**
 * Writes `count` modules (bench.test/mod/m000 …) under `root` and returns the main module's go.mod text and
 * the module paths. All lower-case, so go's case encoding (`!x`) leaves the paths as they are.
 */
export function writeGoproxyTree(root, count) {
  const paths = Array.from({ length: count }, (_, i) => `bench.test/mod/m${String(i).padStart(3, '0')}`);
  for (const path of paths) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    const dir = join(root, path, '@v');
    mkdirSync(dir, { recursive: true });
    const goMod = `module ${path}\n\ngo 1.19\n`;
    writeFileSync(join(dir, 'list'), `${VERSION}\n`);
    writeFileSync(join(dir, `${VERSION}.info`), JSON.stringify({ Version: VERSION, Time: TIME }));
    writeFileSync(join(dir, `${VERSION}.mod`), goMod);
    const prefix = `${path}@${VERSION}/`;
    writeFileSync(join(dir, `${VERSION}.zip`), makeZip([
      { name: `${prefix}go.mod`, data: goMod },
      { name: `${prefix}${name}.go`, data: `package ${name}\n\n// Name is this module's name.\nconst Name = "${name}"\n` },
    ]));
  }
  const mainGoMod = `module bench.test/app\n\ngo 1.19\n\nrequire (\n${paths.map((p) => `\t${p} ${VERSION}\n`).join('')})\n`;
  return { paths, mainGoMod };
}
