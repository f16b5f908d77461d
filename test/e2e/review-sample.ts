import { join } from 'node:path';
import { FIXTURES } from '../helpers.js';

/** The fixture's classifier predictions (case_id, p_benign, …) that review tests sample from. */
export const PREDS = join(FIXTURES, 'monitor', 'cls_predictions.csv');

/** `review sample` of the cancer model on PREDS; each test adds its own options (--n, --seed, -o …). */
export const REVIEW_SAMPLE = [
  'review',
  'sample',
  'cancer',
  '--predictions',
  PREDS,
  '--id',
  'case_id',
  '--prediction-column',
  'p_benign',
];
