// Prints an object's LastModified (ms since the epoch) and ETag with the AWS SDK v3, so a test
// can tell whether an object was written again, even with the same bytes.
//   node head.js ENDPOINT REGION BUCKET KEY  (credentials from AWS_ACCESS_KEY_ID/SECRET)
'use strict';
const { S3Client, HeadObjectCommand } = require('@aws-sdk/client-s3');

async function main() {
  const [endpoint, region, bucket, key] = process.argv.slice(2);
  const client = new S3Client({ endpoint, region, forcePathStyle: true });
  const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  process.stdout.write(`${res.LastModified.getTime()} ${res.ETag}\n`);
}
main().catch((e) => { process.stderr.write(`head.js: ${e.name}: ${e.message}\n`); process.exit(1); });
