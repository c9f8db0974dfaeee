import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { parseDelimiter, requirePath } from '../cli/refs.js';
import { DRIFT_DEFAULTS, DriftDetectedError } from '../app/monitor.js';
import { driftSummary, driftView } from '../monitor/views.js';
import { parseFileRef, type DriftReport } from '../app/api.js';
import { InvalidArgumentError } from '../errors.js';

export type DriftResult = DriftReport;

export default class Drift extends TuskCommand<DriftResult> {
  static override summary = 'Compare two versions of a CSV file column by column and say which columns drifted.';
  static override description =
    'Numbers: two-sample Kolmogorov–Smirnov (as SciPy ks_2samp), Wasserstein distance, PSI. Categories: chi-square ' +
    '(as SciPy chi2_contingency), Jensen–Shannon distance, PSI. Up to 1,000 reference rows the verdict comes from the ' +
    'p-values (Bonferroni-corrected over the columns), above from the distances (Wasserstein/std or Jensen–Shannon ' +
    '≥ 0.1). Added, removed and retyped columns count as drift. Exit 0 without drift, 1 with it (the report is then ' +
    'in error.details under --json), other statuses for errors. See docs/monitoring.md.';
  static override examples = [
    '<%= config.bin %> drift sales@v1:/sales.csv sales@master',
    '<%= config.bin %> drift sales@master^:/sales.csv sales@master --json',
    '<%= config.bin %> drift sales@v1:/sales.csv sales@master --number-test ks --alpha 0.01',
    { description: 'Against the four commits before master, pooled:', command: '<%= config.bin %> drift sales@master^:/sales.csv sales@master --window 4' },
  ];
  static override args = {
    reference: Args.string({ required: true, description: 'repo@ref:/path of the reference CSV file' }),
    current: Args.string({ required: true, description: 'repo@ref[:/path] to compare (default: the same path)' }),
  };
  static override flags = {
    alpha: Flags.string({ description: `Family-wise significance level of the p-value tests (default ${DRIFT_DEFAULTS.alpha}).` }),
    correction: Flags.string({ description: 'How alpha is shared among columns.', options: ['bonferroni', 'none'], default: DRIFT_DEFAULTS.correction }),
    'distance-threshold': Flags.string({ description: `Drift when Wasserstein/std or Jensen–Shannon reaches this (default ${DRIFT_DEFAULTS.distanceThreshold}).` }),
    'psi-threshold': Flags.string({ description: `Drift when PSI reaches this, where PSI decides (default ${DRIFT_DEFAULTS.psiThreshold}).` }),
    'number-test': Flags.string({ description: 'What decides for number columns.', options: ['auto', 'ks', 'wasserstein', 'psi'], default: 'auto' }),
    'category-test': Flags.string({ description: 'What decides for string columns.', options: ['auto', 'chi2', 'jensenshannon', 'psi'], default: 'auto' }),
    'max-values': Flags.integer({ description: 'Number values read per file (8 bytes each) before columns are sampled.', min: 1000, default: DRIFT_DEFAULTS.maxValues }),
    delimiter: Flags.string({ char: 'd', description: 'Field separator of both files (one character).', default: ',' }),
    window: Flags.integer({ description: 'Pool the reference commit and its parents, this many commits in all, into one reference.', default: 1 }),
    'report-only': Flags.boolean({ description: 'Exit 0 even when drift is found.' }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<DriftResult> {
    const { args, flags } = await this.parse(Drift);
    const reference = parseFileRef(args.reference);
    const report = await (await this.tusk()).models.drift(requirePath(reference, 'reference file path', `${reference.repo}@v1:/data.csv`), parseFileRef(args.current), {
      alpha: fraction(flags.alpha, '--alpha', DRIFT_DEFAULTS.alpha),
      correction: flags.correction as 'bonferroni' | 'none',
      distanceThreshold: positive(flags['distance-threshold'], '--distance-threshold', DRIFT_DEFAULTS.distanceThreshold),
      psiThreshold: positive(flags['psi-threshold'], '--psi-threshold', DRIFT_DEFAULTS.psiThreshold),
      numberTest: flags['number-test'] as 'auto',
      categoryTest: flags['category-test'] as 'auto',
      maxValues: flags['max-values'],
      window: flags.window,
      delimiter: parseDelimiter(flags.delimiter),
    });
    this.render(() => driftView(report, { tty: this.isTty }));
    if (report.drift && !flags['report-only']) throw new DriftDetectedError(driftSummary(report), report);
    return report;
  }
}

function fraction(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!(v > 0 && v < 1)) throw new InvalidArgumentError(`${flag} ${text} is not a number between 0 and 1`, `e.g. ${flag} ${fallback}`);
  return v;
}

function positive(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!(v > 0 && Number.isFinite(v))) throw new InvalidArgumentError(`${flag} ${text} is not a positive number`, `e.g. ${flag} ${fallback}`);
  return v;
}
