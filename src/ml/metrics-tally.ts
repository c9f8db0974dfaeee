// Metrics computed as rows go by, for data read a batch at a time: sums for the regression
// metrics, a confusion matrix for the classification ones, and for roc_auc (which ranks every row
// against every other) a fixed histogram of each class's probabilities instead of the rows.
import { confusionMetrics, type MetricValues } from './metrics.js';
import type { Label } from './table.js';

/** Probability bins per class for roc_auc over streamed rows. */
export const AUC_BINS = 4096;

/** mse, rmse, mae and r2 from running sums (the target's variance by Welford's update). */
export class RegressionTally {
  private n = 0;
  private se = 0;
  private ae = 0;
  private mean = 0;
  private m2 = 0;

  add(yTrue: number, yPred: number): void {
    const e = yTrue - yPred;
    this.se += e * e;
    this.ae += Math.abs(e);
    this.n++;
    const d = yTrue - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (yTrue - this.mean);
  }

  values(names: readonly string[]): MetricValues {
    const { n, se, ae, m2 } = this;
    const all: Record<string, number> = { mse: se / n, rmse: Math.sqrt(se / n), mae: ae / n, r2: m2 === 0 ? (se === 0 ? 1 : 0) : 1 - se / m2 };
    const out: MetricValues = {};
    for (const k of names) if (k in all) out[k] = all[k]!;
    return out;
  }
}

/**
 * The confusion matrix over `classes`, and per class (only the second of two) histograms of the
 * probability given to it by rows of that class and by the others: roc_auc from them is exact but
 * for pairs whose probabilities share a bin (1/4096 wide), which count as ties.
 */
export class ClassTally {
  private readonly cm: number[][];
  private readonly pos: Float64Array[];
  private readonly neg: Float64Array[];
  private proba = false;

  constructor(private readonly classes: readonly Label[]) {
    const k = classes.length;
    this.cm = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    const scored = k === 2 ? 1 : k;
    this.pos = Array.from({ length: scored }, () => new Float64Array(AUC_BINS));
    this.neg = Array.from({ length: scored }, () => new Float64Array(AUC_BINS));
  }

  /** A row of true class `y` predicted `pred`; `proba` holds the K probabilities of the row at `at`. */
  add(y: number, pred: number, proba: Float64Array | null, at: number): void {
    this.cm[y]![pred]!++;
    if (!proba) return;
    this.proba = true;
    const k = this.classes.length;
    const first = k === 2 ? 1 : 0;
    for (let c = first; c < k; c++) {
      const bin = Math.min(AUC_BINS - 1, Math.max(0, Math.floor(proba[at + c]! * AUC_BINS)));
      (y === c ? this.pos : this.neg)[c - first]![bin]!++;
    }
  }

  private auc(): number | null {
    if (!this.proba) return null;
    let s = 0;
    let m = 0;
    for (let c = 0; c < this.pos.length; c++) {
      const pos = this.pos[c]!;
      const neg = this.neg[c]!;
      let below = 0;
      let wins = 0;
      let p = 0;
      for (let b = 0; b < AUC_BINS; b++) {
        wins += pos[b]! * (below + neg[b]! / 2);
        below += neg[b]!;
        p += pos[b]!;
      }
      if (p > 0 && below > 0) {
        s += wins / (p * below);
        m++;
      }
    }
    return m === 0 ? null : s / m;
  }

  values(names: readonly string[]): MetricValues {
    return confusionMetrics(this.cm, this.classes, this.auc(), names);
  }
}
