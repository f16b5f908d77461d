import { NotFoundError } from '../errors.js';
import { applyOperations } from '../remote/apply.js';
import { getArtifact } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { assertKnownMetric, type RuleSpec } from './check.js';
import type { Target } from './observations.js';
import { parseRule } from './rules.js';

/** Alert rules kept in the registry, so every cron job and person checks the same thing. */

export interface StoredRule {
  id: number;
  name: string;
  stage: string;
  rule: string;
  window: number;
  createdAt: string;
  createdBy: string;
}

interface RuleRow {
  id: number;
  stage: string;
  rule: string;
  window_size: number;
  created_at: string;
  created_by: string;
}

export function addRule(
  reg: Registry,
  target: Target,
  text: string,
  window: number,
  actor: string,
  source?: string,
): StoredRule & { added: boolean } {
  const rule = parseRule(text, source);
  return reg.write(() => {
    const artifact = getArtifact(reg, target.name);
    assertKnownMetric(reg, artifact.id, artifact.name, rule);
    const existing = reg.db
      .prepare(
        'SELECT id, stage, rule, window_size, created_at, created_by FROM monitor_rules WHERE artifact_id = ? AND stage = ? AND rule = ?',
      )
      .get(artifact.id, target.stage, rule.text) as RuleRow | undefined;
    const at = reg.nowIso();
    if (existing && existing.window_size === window) return { ...toStored(artifact.name, existing), added: false };
    const [applied] = applyOperations(
      reg,
      [{ op: 'rule.add', at, name: artifact.name, stage: target.stage, rule: rule.text, window }],
      actor,
    );
    const id = applied!.ruleId!;
    return {
      id,
      name: artifact.name,
      stage: target.stage,
      rule: rule.text,
      window,
      createdAt: existing?.created_at ?? at,
      createdBy: existing?.created_by ?? actor,
      added: true,
    };
  });
}

/** The stored rules of an artifact (one stage, or all when stage is undefined). */
export function listRules(reg: Registry, name: string, stage?: string): StoredRule[] {
  const artifact = getArtifact(reg, name);
  const rows = reg.db
    .prepare(
      `SELECT id, stage, rule, window_size, created_at, created_by FROM monitor_rules WHERE artifact_id = ? ${stage ? 'AND stage = ?' : ''} ORDER BY stage, id`,
    )
    .all(...(stage ? [artifact.id, stage] : [artifact.id])) as RuleRow[];
  return rows.map((r) => toStored(artifact.name, r));
}

/** Remove a stored rule, named by its id or its text. */
export function removeRule(reg: Registry, target: Target, idOrText: string, actor: string): StoredRule {
  return reg.write(() => {
    const artifact = getArtifact(reg, target.name);
    const row = (
      /^\d+$/.test(idOrText)
        ? reg.db
            .prepare(
              'SELECT id, stage, rule, window_size, created_at, created_by FROM monitor_rules WHERE artifact_id = ? AND id = ?',
            )
            .get(artifact.id, Number(idOrText))
        : reg.db
            .prepare(
              'SELECT id, stage, rule, window_size, created_at, created_by FROM monitor_rules WHERE artifact_id = ? AND stage = ? AND rule = ?',
            )
            .get(artifact.id, target.stage, parseRule(idOrText).text)
    ) as RuleRow | undefined;
    if (!row) {
      throw new NotFoundError(`${artifact.name}@${target.stage} has no stored rule ${JSON.stringify(idOrText)}`, {
        code: 'E_RULE_NOT_FOUND',
        hint: `See the rules with \`mlreg monitor rule list ${artifact.name}\`.`,
      });
    }
    applyOperations(
      reg,
      [
        {
          op: 'rule.remove',
          at: reg.nowIso(),
          name: artifact.name,
          stage: row.stage,
          rule: row.rule,
          window: row.window_size,
        },
      ],
      actor,
    );
    return toStored(artifact.name, row);
  });
}

/** The stored rules of one stage, ready for checkRules. */
export function storedSpecs(reg: Registry, target: Target): RuleSpec[] {
  return listRules(reg, target.name, target.stage).map((r) => ({ rule: parseRule(r.rule), window: r.window }));
}

function toStored(name: string, r: RuleRow): StoredRule {
  return {
    id: r.id,
    name,
    stage: r.stage,
    rule: r.rule,
    window: r.window_size,
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}
