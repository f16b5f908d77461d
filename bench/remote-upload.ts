import { createReadStream, statSync } from 'node:fs';

/**
 * One timed upload for bench/remote.ts, in a process of its own so GNU time measures its peak RSS:
 *   node dist/bench/remote-upload.js ours|plain FILE s3://BUCKET/KEY ENDPOINT
 * `ours` goes through RemoteStore.upload; `plain` is a bare @aws-sdk/lib-storage Upload with its
 * defaults (the floor), on a client set up the same way. Prints the upload's own time in ms (start-up
 * and SDK loading excluded, for both) and removes the object afterwards.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const [mode, file, url, endpoint] = process.argv.slice(2) as [string, string, string, string];
const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
if (!m) throw new Error(`bad url ${url}`);
const [, bucket, key] = m as unknown as [string, string, string];
const size = statSync(file).size;
const sdk = await import('@aws-sdk/client-s3');
let ms: number;
if (mode === 'ours') {
  const { openRemote } = await import('../src/core/remote/transport.js');
  const prefix = key.slice(0, key.lastIndexOf('/'));
  const store = await openRemote(`s3://${bucket}/${prefix}`, { endpoint });
  const t0 = performance.now();
  await store.upload(key.slice(prefix.length + 1), file, size);
  ms = performance.now() - t0;
  store.close();
} else {
  const { Upload } = await import('@aws-sdk/lib-storage');
  const client = new sdk.S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const t0 = performance.now();
  await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file) } }).done();
  ms = performance.now() - t0;
  client.destroy();
}
const client = new sdk.S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
const head = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
if (head.ContentLength !== size) throw new Error(`uploaded ${head.ContentLength} bytes, not ${size}`);
await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
client.destroy();
console.log(ms.toFixed(1));
