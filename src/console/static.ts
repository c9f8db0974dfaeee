// The web UI's built files (dist/web, written by scripts/build-web.js). They are read once at
// start into a fixed table: URLs are looked up in it, never joined onto a directory path.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
}

/** dist/web, found from this module whether it runs from src/ (tests) or dist/ (the CLI). */
export const DEFAULT_WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>tusk console</title>
<p>The console's web files are not built. Run <code>npm run build</code> in the tusk checkout, then restart <code>tusk console</code>.
The API under <code>/api/</code> works without them.</p>`;

/** URL path → file, for every file directly in `root`; `/` serves index.html. */
export function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(root);
  } catch {
    // not built: only the notice below is served
  }
  for (const name of names) {
    const type = TYPES[path.extname(name)];
    const file = path.join(root, name);
    if (!type || !fs.statSync(file).isFile()) continue;
    assets.set(`/${name}`, { body: fs.readFileSync(file), type });
  }
  const index = assets.get('/index.html') ?? { body: Buffer.from(NOT_BUILT), type: TYPES['.html']! };
  assets.set('/', index);
  assets.set('/index.html', index);
  return assets;
}
