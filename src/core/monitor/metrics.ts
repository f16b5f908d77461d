/**
 * Metrics of predictions against labels, accumulated row by row so a million rows cost a few
 * typed arrays, not objects. Classification takes probabilities of the positive class against 0/1
 * labels; regression takes numbers against numbers. Definitions follow scikit-learn.
 */

export const CLASSIFICATION_METRICS = ['auc', 'accuracy', 'f1', 'log_loss'] as const;
export const REGRESSION_METRICS = ['rmse', 'mae', 'r2'] as const;

/** A Float64Array that grows by doubling. */
class Floats {
  private buf = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  sorted(): Float64Array {
    return this.buf.slice(0, this.length).sort();
  }
}

// scikit-learn clips probabilities to [eps, 1-eps] with the float64 machine epsilon.
const EPS = 2.220446049250313e-16;

export class ClassificationAccumulator {
  private readonly pos = new Floats();
  private readonly neg = new Floats();
  private tp = 0;
  private fp = 0;
  private fn = 0;
  private correct = 0;
  private logLoss = 0;
  n = 0;

  constructor(private readonly threshold = 0.5) {}

  add(p: number, y: 0 | 1): void {
    this.n++;
    const predicted = p >= this.threshold ? 1 : 0;
    if (predicted === y) this.correct++;
    if (predicted === 1 && y === 1) this.tp++;
    else if (predicted === 1) this.fp++;
    else if (y === 1) this.fn++;
    const q = Math.min(Math.max(p, EPS), 1 - EPS);
    this.logLoss -= y === 1 ? Math.log(q) : Math.log(1 - q);
    (y === 1 ? this.pos : this.neg).push(p);
  }

  /** The metrics that are defined for what was seen (auc needs both classes). */
  result(): Record<string, number> {
    if (this.n === 0) return {};
    const out: Record<string, number> = {};
    const auc = rocAuc(this.pos.sorted(), this.neg.sorted());
    if (auc !== undefined) out.auc = auc;
    out.accuracy = this.correct / this.n;
    const denom = 2 * this.tp + this.fp + this.fn;
    out.f1 = denom === 0 ? 0 : (2 * this.tp) / denom;
    out.log_loss = this.logLoss / this.n;
    return out;
  }
}

/** Area under the ROC curve: P(score of a positive > score of a negative), ties counted half. */
export function rocAuc(pos: Float64Array, neg: Float64Array): number | undefined {
  if (pos.length === 0 || neg.length === 0) return undefined;
  let below = 0; // negatives strictly below the current positive score
  let wins = 0;
  let j = 0;
  for (let i = 0; i < pos.length; ) {
    const s = pos[i]!;
    let k = i;
    while (k < pos.length && pos[k] === s) k++;
    while (j < neg.length && neg[j]! < s) j++;
    below = j;
    let ties = 0;
    while (j + ties < neg.length && neg[j + ties] === s) ties++;
    wins += (k - i) * (below + ties / 2);
    i = k;
  }
  return wins / (pos.length * neg.length);
}

export class RegressionAccumulator {
  private sumSq = 0;
  private sumAbs = 0;
  // Welford's running mean and sum of squared deviations of the labels, for r2.
  private mean = 0;
  private m2 = 0;
  n = 0;

  add(prediction: number, y: number): void {
    this.n++;
    const err = prediction - y;
    this.sumSq += err * err;
    this.sumAbs += Math.abs(err);
    const d = y - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (y - this.mean);
  }

  result(): Record<string, number> {
    if (this.n === 0) return {};
    const out: Record<string, number> = { rmse: Math.sqrt(this.sumSq / this.n), mae: this.sumAbs / this.n };
    if (this.m2 > 0) out.r2 = 1 - this.sumSq / this.m2;
    return out;
  }
}
