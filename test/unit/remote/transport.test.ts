import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidInputError, NotFoundError, UsageError } from '../../../src/core/errors.js';
import { checkKey, openRemote, parseRemoteUrl, resolveEndpoint } from '../../../src/core/remote/transport.js';
import { tempDir } from '../../helpers.js';

test('remote URLs: s3://BUCKET/PREFIX and file:///path are parsed', () => {
  assert.deepEqual(parseRemoteUrl('s3://team-models/registry/prod'), {
    kind: 's3',
    url: 's3://team-models/registry/prod',
    bucket: 'team-models',
    prefix: 'registry/prod',
  });
  assert.deepEqual(parseRemoteUrl('s3://team-models'), {
    kind: 's3',
    url: 's3://team-models',
    bucket: 'team-models',
    prefix: '',
  });
  assert.equal((parseRemoteUrl('s3://team-models/reg/') as { prefix: string }).prefix, 'reg');
  assert.deepEqual(parseRemoteUrl('file:///mnt/share/registry/'), {
    kind: 'file',
    url: 'file:///mnt/share/registry/',
    path: '/mnt/share/registry',
  });
  assert.equal((parseRemoteUrl('file://localhost/srv/r') as { path: string }).path, '/srv/r');
});

test('other URLs are refused with a hint, and credentials in them are never echoed', () => {
  const bad = [
    'https://bucket.s3.amazonaws.com/x',
    '/mnt/share/registry',
    'registry',
    'gs://bucket/x',
    's3://',
    's3://a/x',
    's3://Bucket_With_Caps/x',
    's3://b..c/x',
    's3://bucket/../x',
    's3://bucket/a//b',
    's3://bucket/.hidden',
    's3://bucket/x?versionId=1',
    'file://fileserver/share',
    'file:relative/path',
    'file:///srv/r?x=1',
  ];
  for (const url of bad)
    assert.throws(
      () => parseRemoteUrl(url),
      (e: unknown) => {
        assert.ok(e instanceof UsageError, url);
        assert.equal(e.code, 'E_REMOTE_URL');
        assert.match(e.hint, /s3:\/\/BUCKET\/PREFIX|credentials/);
        return true;
      },
    );
  for (const url of ['s3://AKIAEXAMPLE:s3cr3tv4lue@bucket/x', 's3://s3cr3tv4lue@bucket', 'file://u:s3cr3tv4lue@/x'])
    assert.throws(
      () => parseRemoteUrl(url),
      (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.doesNotMatch(`${e.message} ${e.hint}`, /s3cr3tv4lue/);
        return true;
      },
    );
});

test('keys: relative [A-Za-z0-9._-] segments only', () => {
  for (const ok of ['log/00000001.json', 'objects/sha256/ab/cdef', 'format', 'checkpoints/00000100.json.gz'])
    checkKey(ok);
  for (const bad of ['', '/x', 'x/', '../x', 'a/../b', 'a/./b', '.x', 'a/.x', 'a b', 'a\\b', 'ü', 'x'.repeat(1025)])
    assert.throws(() => checkKey(bad), InvalidInputError, JSON.stringify(bad));
});

test('the endpoint comes from the flag, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL', () => {
  const env = { AWS_ENDPOINT_URL_S3: 'http://s3:1', AWS_ENDPOINT_URL: 'http://all:2' };
  assert.equal(resolveEndpoint('http://flag:3', env), 'http://flag:3');
  assert.equal(resolveEndpoint(undefined, env), 'http://s3:1');
  assert.equal(resolveEndpoint(undefined, { AWS_ENDPOINT_URL: 'http://all:2' }), 'http://all:2');
  assert.equal(resolveEndpoint(undefined, { AWS_ENDPOINT_URL_S3: '' }), undefined);
  assert.equal(resolveEndpoint(undefined, {}), undefined);
});

test('openRemote: a missing folder is NotFound; a bad endpoint or timeout is refused before any request', async () => {
  const t = tempDir();
  try {
    await assert.rejects(openRemote(`file://${t.path}/missing`), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.code, 'E_REMOTE_NOT_FOUND');
      assert.match(e.hint, /mkdir -p/);
      return true;
    });
    for (const endpoint of ['not a url', 'ftp://host', 'http://AKIA:s3cr3tv4lue@host:9000'])
      await assert.rejects(openRemote('s3://bucket/x', { endpoint }), (e: unknown) => {
        assert.ok(e instanceof UsageError, endpoint);
        assert.equal(e.code, 'E_REMOTE_ENDPOINT');
        assert.doesNotMatch(`${e.message} ${e.hint}`, /s3cr3tv4lue/);
        return true;
      });
    await assert.rejects(openRemote(`file://${t.path}`, { timeoutMs: 0 }), UsageError);
  } finally {
    t.cleanup();
  }
});
