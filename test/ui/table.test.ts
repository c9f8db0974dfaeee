import { describe, expect, it } from 'vitest';
import { displayWidth, renderKeyValues, renderTable, stripAnsi } from '../../src/ui/table.js';
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
