import { describe, expect, it } from 'vitest';
import { displayWidth, renderKeyValues, renderTable, streamTable, stripAnsi } from '../../src/ui/table.js';
import { progressBar } from '../../src/ui/progress.js';

describe('renderTable', () => {
  it('pads every column but the last to its widest cell + 1, as pachctl tabwriter(0, 1, 1)', () => {
    const out = renderTable(
      ['NAME', 'CREATED', 'SIZE (MASTER)', 'DESCRIPTION'],
      [
        ['images', '2 minutes ago', '≤ 238.3KiB', ''],
        ['edges', 'About a minute ago', '≤ 22.22KiB', 'Output repo for pipeline edges.'],
      ],
    );
    expect(out).toBe(
      'NAME   CREATED            SIZE (MASTER) DESCRIPTION\n' +
        'images 2 minutes ago      ≤ 238.3KiB    \n' +
        'edges  About a minute ago ≤ 22.22KiB    Output repo for pipeline edges.\n',
    );
  });

  it('prints null/undefined as -, numbers as text, and upper-cases headers', () => {
    expect(renderTable(['name', 'type', 'size'], [['/a.txt', 'file', null], ['/dir/', undefined, 42]])).toBe(
      'NAME   TYPE SIZE\n' + '/a.txt file -\n' + '/dir/  -    42\n',
    );
  });

  it('honours minWidth and padding (the 20/3 tabwriter of `pachctl version`)', () => {
    expect(renderTable(['COMPONENT', 'VERSION'], [['pachctl', '2.4.0']], { minWidth: 20, padding: 3 })).toBe(
      'COMPONENT           VERSION\n' + 'pachctl             2.4.0\n',
    );
    expect(renderTable(['A', 'B'], [['a-rather-long-cell-value', 'x']], { minWidth: 20, padding: 3 })).toBe(
      'A' + ' '.repeat(26) + 'B\n' + 'a-rather-long-cell-value   x\n', // 24 chars + 3 > 20
    );
  });

  it('measures colour-coded cells by their visible width and strips colour off a tty', () => {
    const bar = progressBar({ done: 1, failed: 1, total: 2 }, true);
    const rows = [['abc', bar, '2 seconds ago']];
    const tty = renderTable(['ID', 'PROGRESS', 'CREATED'], rows);
    expect(tty).toContain('\x1b[');
    expect(stripAnsi(tty)).toBe('ID  PROGRESS CREATED\n' + 'abc ▇▇▇▇▇▇▇▇ 2 seconds ago\n');
    expect(renderTable(['ID', 'PROGRESS', 'CREATED'], rows, { tty: false })).toBe(stripAnsi(tty));
  });

  it('keeps a row on one line when a cell holds a newline or tab', () => {
    expect(renderTable(['NAME', 'DESCRIPTION'], [['r', 'two\nlines\tand tab']])).toBe(
      'NAME DESCRIPTION\n' + 'r    two lines and tab\n',
    );
  });

  it('returns just the header for no rows', () => {
    expect(renderTable(['BRANCH', 'HEAD', 'TRIGGER'], [])).toBe('BRANCH HEAD TRIGGER\n');
  });
});

describe('displayWidth', () => {
  it('counts code points, not UTF-16 units or ANSI bytes', () => {
    expect(displayWidth('≤ 1B')).toBe(4);
    expect(displayWidth('▇▇')).toBe(2);
    expect(displayWidth('\x1b[32mok\x1b[39m')).toBe(2);
    expect(displayWidth('𝒳')).toBe(1);
    // wide CJK and emoji take two columns, a combining accent none
    expect(displayWidth('写真/猫.png')).toBe(11);
    expect(displayWidth('😀.txt')).toBe(6);
    expect(displayWidth('e\u0301.txt')).toBe(5);
    expect(displayWidth('ünï.txt')).toBe(7);
  });
});

describe('renderKeyValues', () => {
  it('prints Key: value lines and skips missing values', () => {
    expect(
      renderKeyValues([
        ['Name', 'images'],
        ['Description', undefined],
        ['Created', '2 minutes ago'],
        ['Reason', null],
        ['Size of HEAD on master', '57.27KiB'],
      ]),
    ).toBe('Name: images\nCreated: 2 minutes ago\nSize of HEAD on master: 57.27KiB\n');
  });

  it('starts a multi-line value on its own line', () => {
    expect(renderKeyValues([['Input', '{\n  "pfs": {}\n}'], ['Output Commit', 'abc']])).toBe(
      'Input:\n{\n  "pfs": {}\n}\nOutput Commit: abc\n',
    );
  });
});

describe('streamTable', () => {
  const join = (lines: Iterable<string>) => [...lines].join('');
  const rows = (n: number, cell: (i: number) => string) => Array.from({ length: n }, (_, i) => [cell(i), i % 2 ? 'file' : 'dir', `${i}B`]);

  it('is renderTable line for line when no row after the first widthRows is wider', () => {
    for (const n of [0, 1, 3, 10, 25]) {
      const rs = rows(n, (i) => `/d/name-${String(i).padStart(3, '0')}`);
      expect(join(streamTable(['NAME', 'TYPE', 'SIZE'], rs, { widthRows: 4 }))).toBe(renderTable(['NAME', 'TYPE', 'SIZE'], rs));
      expect(join(streamTable(['NAME', 'TYPE', 'SIZE'], rs))).toBe(renderTable(['NAME', 'TYPE', 'SIZE'], rs));
    }
  });

  it('pads later rows to the widths of the first ones; a wider later cell keeps one space after it', () => {
    const rs = [['/a', 'file', '1B'], ['/bb', 'dir', '2B'], ['/a-much-longer-name', 'file', '3B'], ['/c', 'file', '4B']];
    expect(join(streamTable(['NAME', 'TYPE', 'SIZE'], rs, { widthRows: 2 }))).toBe(
      'NAME TYPE SIZE\n/a   file 1B\n/bb  dir  2B\n/a-much-longer-name file 3B\n/c   file 4B\n',
    );
  });

  it('takes rows from a generator without reading past what it prints: the first widthRows, then one at a time', () => {
    let made = 0;
    const gen = function* () {
      for (let i = 0; i < 1000; i++) {
        made++;
        yield [`/f${i}`, 'file', '1B'];
      }
    };
    const lines = streamTable(['NAME', 'TYPE', 'SIZE'], gen(), { widthRows: 10 });
    expect(lines.next().value).toBe('NAME TYPE SIZE\n');
    expect(made).toBe(10); // the ten rows the widths come from, and not one more
    for (let i = 0; i < 20; i++) lines.next();
    expect(made).toBe(20); // rows 0..19 printed, none read ahead

  });
});
