#!/usr/bin/env node
// A tour of tusk: makes a store in a temp dir, versions a small dataset in two commits, and shows
// the main read commands, each echoed as it runs. Every step spawns the real CLI (bin/run.js), so
// the demo is also a smoke test: it exits non-zero as soon as a step fails.
//
//   npm run demo                 (after `npm install`, which builds dist/)
//   node scripts/demo.js --cleanup   remove the temp dir at the end instead of keeping it
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'run.js');
const cleanup = process.argv.includes('--cleanup');

if (!fs.existsSync(path.join(root, 'dist', 'commands'))) {
  console.error('tusk is not built: run `npm run build` (or `npm install`) first.');
  process.exit(1);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tusk-demo-'));
// Jobs run inside the command that triggers them: nothing is left running when the demo ends.
const env = { ...process.env, TUSK_RUNNER: 'foreground' };
delete env.TUSK_STORE; // the store is found from the working directory: the temp dir
let stepNo = 0;

function heading(text) {
  stepNo += 1;
  process.stdout.write(`\n== ${stepNo}. ${text}\n`);
}

function quote(arg) {
  return /^[\w@:/.=^~+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Echo `tusk ARGS`, run it in the demo dir, print its output; stop the demo if it fails. */
function tusk(...args) {
  return tuskExiting(0, ...args);
}

/** As tusk(), for a step whose expected exit status is `status` (its stderr is then shown on stdout). */
function tuskExiting(status, ...args) {
  process.stdout.write(`$ tusk ${args.map(quote).join(' ')}\n`);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  if (r.stdout) process.stdout.write(r.stdout.endsWith('\n') ? r.stdout : `${r.stdout}\n`);
  if (status !== 0 && r.status === status) {
    process.stdout.write(`${r.stderr}(exit status ${r.status})\n`);
    return r.stdout;
  }
  if (r.status !== 0) {
    if (r.stderr) process.stderr.write(r.stderr);
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
    throw new Error(`step ${stepNo} failed: tusk ${args.join(' ')} (${why})`);
  }
  return r.stdout;
}

function write(rel, text) {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

/** A month of made-up daily sales, one CSV row a day. */
function salesCsv(month, days, seed) {
  const rows = ['date,store,units,revenue'];
  let x = seed;
  for (let d = 1; d <= days; d++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const units = 20 + (x % 80);
    rows.push(`2024-${month}-${String(d).padStart(2, '0')},${['north', 'south', 'east'][d % 3]},${units},${(units * 4.5).toFixed(2)}`);
  }
  return rows.join('\n') + '\n';
}

/** Made-up house prices: price grows with area and rooms, plus noise; `bigger` adds to every area. */
function housesCsv(rows, seed, bigger = 0) {
  const out = ['area,rooms,age,price'];
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < rows; i++) {
    const area = Math.round(40 + bigger + rnd() * 160);
    const rooms = 1 + Math.floor(rnd() * 5);
    const age = Math.floor(rnd() * 60);
    const price = Math.round(1500 * area + 12000 * rooms - 800 * age + (rnd() - 0.5) * 20000);
    out.push(`${area},${rooms},${age},${price}`);
  }
  return out.join('\n') + '\n';
}

try {
  process.stdout.write(`tusk demo: the store and the example data are in ${dir}\n`);

  heading('Create a store in the demo directory');
  tusk('init');

  heading('Generate a small dataset: a few CSVs and text files');
  write('data/sales/2024-01.csv', salesCsv('01', 31, 7));
  write('data/sales/2024-02.csv', salesCsv('02', 29, 11));
  write('data/products.csv', 'sku,name,price\nA-100,widget,4.50\nA-200,gadget,12.00\nB-300,gizmo,7.25\n');
  write('data/README.txt', 'Daily sales per store, one CSV per month.\n');
  write('data/notes.txt', 'TODO: February numbers are preliminary.\n');
  for (const f of ['sales/2024-01.csv', 'sales/2024-02.csv', 'products.csv', 'README.txt', 'notes.txt']) {
    process.stdout.write(`  data/${f} (${fs.statSync(path.join(dir, 'data', f)).size} bytes)\n`);
  }

  heading('Create a repo');
  tusk('create', 'repo', 'sales', '-d', 'Daily sales, versioned');

  heading('First commit: put the whole directory');
  tusk('put', 'file', '-r', 'sales@master', '-f', 'data', '-m', 'initial import');
  tusk('list', 'repo');

  heading('Second commit: edit one file, add one, delete one');
  write('march/2024-02.csv', salesCsv('02', 29, 12)); // revised February numbers
  write('march/2024-03.csv', salesCsv('03', 31, 13));
  tusk('start', 'commit', 'sales@master', '-m', 'final February, add March');
  tusk('put', 'file', 'sales@master:/data/sales/2024-02.csv', '-f', 'march/2024-02.csv');
  tusk('put', 'file', 'sales@master:/data/sales/2024-03.csv', '-f', 'march/2024-03.csv');
  tusk('delete', 'file', 'sales@master:/data/notes.txt');
  tusk('finish', 'commit', 'sales@master');

  heading('The history of master');
  tusk('list', 'commit', 'sales@master');

  heading('The files in the newest commit');
  tusk('list', 'file', 'sales@master:/data/**');

  heading('What the second commit changed');
  tusk('diff', 'file', 'sales@master');

  heading('Read one file back');
  tusk('get', 'file', 'sales@master:/data/products.csv');

  heading('The details of a commit');
  tusk('inspect', 'commit', 'sales@master');

  heading('A branch at the first commit (master^): the old files are still there');
  tusk('create', 'branch', 'sales@v1', '--head', 'master^');
  tusk('list', 'branch', 'sales');
  tusk('list', 'file', 'sales@v1:/data');

  heading('A pipeline: one datum per monthly CSV, summarised with awk');
  // the script hard-codes /pfs paths, as Pachyderm user code does: tusk gives it a real /pfs
  write(
    'summarize.sh',
    [
      'for f in /pfs/sales/data/sales/*.csv; do',
      '  awk -F, \'NR > 1 { u += $3; r += $4 } END { printf "units=%d revenue=%.2f\\n", u, r }\' "$f" > /pfs/out/$(basename "$f" .csv).txt',
      'done',
      '',
    ].join('\n'),
  );
  write(
    'monthly.yaml',
    ['pipeline: {name: monthly}', 'description: Units and revenue per month.', 'input: {pfs: {repo: sales, glob: "/data/sales/*"}}', 'transform: {cmd: [sh, summarize.sh]}', ''].join('\n'),
  );
  tusk('create', 'pipeline', '-f', 'monthly.yaml');
  tusk('list', 'job', '-p', 'monthly');
  tusk('list', 'file', 'monthly@master');
  tusk('get', 'file', 'monthly@master:/2024-03.txt');

  heading('Add April: the next job processes one datum and skips the three unchanged months');
  write('april/2024-04.csv', salesCsv('04', 30, 17));
  tusk('put', 'file', 'sales@master:/data/sales/2024-04.csv', '-f', 'april/2024-04.csv');
  tusk('list', 'job', '-p', 'monthly');
  tusk('list', 'file', 'monthly@master');

  heading('Provenance: the output commit points at the exact input commit it was computed from');
  tusk('inspect', 'commit', 'monthly@master');

  heading('A model trained in a pipeline: scaler + linear regression, metrics in the output commit');
  write('houses/houses.csv', housesCsv(120, 5));
  tusk('create', 'repo', 'houses');
  tusk('put', 'file', 'houses@master:/houses.csv', '-f', 'houses/houses.csv');
  write(
    'price-model.yaml',
    [
      'pipeline: {name: price-model}',
      'input: {pfs: {repo: houses, glob: /}}',
      'transform:',
      '  ml:',
      '    task: train',
      '    data: {format: csv, path: /pfs/houses/houses.csv, label: price}',
      '    chain:',
      '      - StandardScaler: {}',
      '      - LinearRegression: {}',
      '    split: {test: 0.25, seed: 42}',
      '    metrics: [mse, r2]',
      '',
    ].join('\n'),
  );
  tusk('create', 'pipeline', '-f', 'price-model.yaml');
  tusk('get', 'file', 'price-model@master:/metrics.json');

  heading('New rows arrive: the model is retrained, and both versions can be compared');
  write('houses/houses.csv', housesCsv(200, 5));
  tusk('put', 'file', 'houses@master:/houses.csv', '-f', 'houses/houses.csv');
  tusk('list', 'metrics', 'price-model');

  heading('Profile the data: per-column counts, missing values, spread and quantiles, kept by content');
  tusk('inspect', 'profile', 'houses@master:/houses.csv');

  heading('Bigger houses arrive: `tusk drift` flags the shifted column and exits 1 (for CI and hooks)');
  write('houses/houses.csv', housesCsv(200, 5, 60));
  tusk('put', 'file', 'houses@master:/houses.csv', '-f', 'houses/houses.csv');
  tuskExiting(1, 'drift', 'houses@master^:/houses.csv', 'houses@master');

  heading('Windows over history: one datum per day of commits, by commit time');
  // each reading arrives as its own commit; --time says when it was taken
  const reading = (name, time, rows) => {
    write(`readings/${name}`, ['sensor,value', ...rows.map((v, i) => `s${i},${v}`), ''].join('\n'));
    const id = tusk('start', 'commit', 'readings@master', '--time', time).trim();
    tusk('put', 'file', `readings@${id}:/${name}`, '-f', `readings/${name}`);
    tusk('finish', 'commit', `readings@${id}`);
    return id; // also the id of the jobs it starts
  };
  tusk('create', 'repo', 'readings');
  reading('morning-0501.csv', '2024-05-01T08:00:00Z', [3, 4]);
  reading('morning-0502.csv', '2024-05-02T08:00:00Z', [5, 6]);
  write(
    'daily.yaml',
    [
      'pipeline: {name: daily}',
      'description: Readings per day, whatever order they arrive in.',
      'input: {pfs: {repo: readings, glob: "/*.csv", window: {size: 1d}}}',
      'transform:',
      '  cmd: [sh]',
      '  stdin:',
      '    - day=$(echo "$TUSK_WINDOW_START" | cut -c1-10)',
      `    - awk -F, 'FNR > 1 { n++; s += $2 } END { printf "readings=%d total=%d\\n", n, s }' $(find /pfs/readings -type f) > /pfs/out/$day.txt`,
      '',
    ].join('\n'),
  );
  tusk('create', 'pipeline', '-f', 'daily.yaml');
  tusk('get', 'file', 'daily@master:/2024-05-01.txt');

  heading('A reading from May 1st arrives late: only the window of May 1st is redone');
  const late = reading('evening-0501.csv', '2024-05-01T20:00:00Z', [7]);
  tusk('list', 'job', '-p', 'daily');
  tusk('list', 'datum', `daily@${late}`);
  tusk('get', 'file', 'daily@master:/2024-05-01.txt');

  heading("Check the store's integrity");
  tusk('fsck');

  process.stdout.write(`\nDone. The store is in ${dir}/.tusk\n`);
  if (!cleanup) process.stdout.write(`Try: cd ${dir} && node ${bin} list commit sales\n`);
} catch (err) {
  process.stderr.write(`\ndemo failed: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  if (cleanup) fs.rmSync(dir, { recursive: true, force: true });
}
