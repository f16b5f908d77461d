import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { checkHostileIndex, checkIndexSchema, checkIndexValues } from '../../../src/core/registry/index-check.js';
import { loadMigrations } from '../../../src/core/registry/migrations.js';
import { tempRegistry } from '../../helpers.js';

function atFormat(format: number): Database.Database {
  const db = new Database(':memory:');
  for (const m of loadMigrations()) if (m.version <= format) db.exec(m.sql);
  db.pragma(`user_version = ${format}`);
  return db;
}

test('a registry made by init, and an index of every older format, pass the schema and value checks', () => {
  const t = tempRegistry();
  try {
    assert.deepEqual(checkHostileIndex(t.reg.db), []);
  } finally {
    t.cleanup();
  }
  for (const m of loadMigrations()) {
    const db = atFormat(m.version);
    try {
      assert.deepEqual(checkHostileIndex(db), [], `format ${m.version}`);
    } finally {
      db.close();
    }
  }
});

test('schema differences are named: a trigger, a view, an extra column, a missing index, a wrong user_version', () => {
  const current = loadMigrations().at(-1)!.version;
  const cases: [string, RegExp][] = [
    ['CREATE TRIGGER t AFTER INSERT ON events BEGIN DELETE FROM stages; END;', /trigger "t" \(on events\)/],
    ['CREATE VIEW v AS SELECT 1;', /view "v"/],
    ['ALTER TABLE artifacts ADD COLUMN x TEXT;', /defines table "artifacts" otherwise/],
    ['DROP INDEX stages_version;', /lacks the index "stages_version"/],
    ['PRAGMA user_version = 2;', /format 2 does not have/],
    ['PRAGMA user_version = 999;', /user_version 999 is no registry format/],
  ];
  for (const [sql, pattern] of cases) {
    const db = atFormat(current);
    try {
      db.exec(sql);
      const problems = checkIndexSchema(db);
      assert.ok(problems.length > 0, sql);
      assert.match(problems.map((p) => p.message).join('\n'), pattern, sql);
    } finally {
      db.close();
    }
  }
});

test('values that would become paths or names are named with table, row and value', () => {
  const db = atFormat(loadMigrations().at(-1)!.version);
  try {
    db.exec(`
      INSERT INTO artifacts (id, name, kind, created_at, created_by) VALUES (1, 'ok-name', 'model', 't', 'a'), (2, 'Bad/Name', 'model', 't', 'a');
      INSERT INTO versions (id, artifact_id, version, digest, source_type, size, file_count, created_at, created_by)
        VALUES (1, 1, '1.0.0', '${'a'.repeat(64)}', 'file', 1, 1, 't', 'a'), (2, 1, 'v1.0.0', '${'b'.repeat(64)}', 'file', 1, 1, 't', 'a'),
               (3, 1, '2.0.0', '../x', 'file', 1, 1, 't', 'a');`);
    const problems = checkIndexValues(db);
    assert.deepEqual(
      problems.map((p) => [p.table, p.row, p.column, p.value]),
      [
        ['artifacts', '2', 'name', 'Bad/Name'],
        ['versions', '2', 'version', 'v1.0.0'],
        ['versions', '3', 'digest', '../x'],
      ],
    );
  } finally {
    db.close();
  }
});
