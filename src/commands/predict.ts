import { resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../cli/base.js';
import { parseFileRef, type PredictResult } from '../app/api.js';

export type PredictCommandResult = PredictResult;

export default class Predict extends TuskCommand<PredictCommandResult> {
  static override summary = 'Predict with a model stored in a repo.';
  static override description =
    'Loads the fitted chain a train pipeline wrote (REPO@REF, its /model directory, or the directory given ' +
    'after a colon) and predicts every row of a local file: a CSV file for tabular models, an image or a ' +
    'directory of images for image models, a CIFAR-10 batch for models trained on one. The output is CSV: ' +
    'the input columns, then "prediction" (and "proba_<class>" columns for classifiers, "score" and ' +
    '"anomaly" for anomaly detectors). With --json and no -o, the predictions are printed as JSON.';
  static override examples = [
    '<%= config.bin %> predict price-model@master -f new-houses.csv',
    '<%= config.bin %> predict price-model@master -f new-houses.csv -o priced.csv',
    '<%= config.bin %> predict price-model@master^ -f new-houses.csv --json',
    '<%= config.bin %> predict digits@b0c3f1a8e5d24c7e9a3b6f2d1e0c9b8a:/model -f ./images',
  ];
  static override args = { model: Args.string({ required: true, description: 'MODEL_REPO@REF[:/path]' }) };
  static override flags = {
    file: Flags.string({ char: 'f', required: true, description: 'Local data to predict: a CSV file, an image or image directory, or a CIFAR-10 batch.' }),
    output: Flags.string({ char: 'o', description: 'Write the predictions CSV here (default: stdout).' }),
    delimiter: Flags.string({ description: 'CSV field delimiter.', default: ',' }),
  };
  static override storeAccess = 'read' as const;

  /** The result whose --json document predictFile already wrote (streamed), not to be printed again. */
  private written: PredictCommandResult | undefined;

  async run(): Promise<PredictCommandResult> {
    const { args, flags } = await this.parse(Predict);
    const ref = parseFileRef(args.model);
    const output = flags.output === undefined ? undefined : resolve(flags.output);
    const json = this.jsonEnabled();
    const result = await (await this.tusk()).models.predict(ref, resolve(flags.file), {
      output,
      delimiter: flags.delimiter,
      json,
      stdout: process.stdout,
      // a failed job's commit on the way is passed over: say which version is used instead
      onNote: (m) => process.stderr.write(`note: ${m}\n`),
    });
    if (json && !output) this.written = result;
    this.render(() => (output ? `${result.rows} predictions → ${flags.output} (model ${result.model.repo}@${result.model.commit})` : undefined));
    return result;
  }

  protected override logJson(json: unknown): void {
    if (json !== this.written) super.logJson(json);
  }
}
