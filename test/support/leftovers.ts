// What half-finished writes left on disk: temp areas are expected to hold
// nothing once every writer is done or dead and recovery has run.
import fs from 'node:fs';
import path from 'node:path';

export interface Leftover {
  file: string;
  size: number;
}

/** Every file under dir (recursively), with its size; none when dir does not exist. */
export function filesUnder(dir: string): Leftover[] {
  const out: Leftover[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        try {
          out.push({ file: path.relative(dir, p), size: fs.statSync(p).size });
        } catch {
          // removed meanwhile
        }
      }
    }
  };
  walk(dir);
  return out;
}

export const bytesUnder = (dir: string): number => filesUnder(dir).reduce((sum, f) => sum + f.size, 0);

/** The temp areas of a gateway's data directory: the local store's .tmp and the upload spool. */
export function tempAreas(dataDir: string): string[] {
  return [path.join(dataDir, 'objects', '.tmp'), path.join(dataDir, 'spool')];
}
