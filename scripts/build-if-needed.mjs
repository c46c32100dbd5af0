// `npm start` and `npm run bench` build first when dist/ is missing or older than the sources.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const output = path.join(root, 'dist', 'src', 'main.js');

function newest(dir) {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
  }
  return latest;
}

const sources = Math.max(...['src', 'bench'].filter((d) => fs.existsSync(path.join(root, d))).map((d) => newest(path.join(root, d))), fs.statSync(path.join(root, 'tsconfig.json')).mtimeMs);
if (!fs.existsSync(output) || fs.statSync(output).mtimeMs < sources) {
  console.error('media-gateway: building (tsc)…');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  fs.utimesSync(output, new Date(), new Date());
}
