// Reads an object back with the AWS SDK v3 (an independent client) and prints its size and
// SHA-256, so a test can check that what the engine uploaded is what S3 clients see.
//   node get.js ENDPOINT REGION BUCKET KEY  (credentials from AWS_ACCESS_KEY_ID/SECRET)
'use strict';
const crypto = require('crypto');
const { S3Client, GetObjectCommand } = require('@aws-sdk/client-s3');

async function main() {
  const [endpoint, region, bucket, key] = process.argv.slice(2);
  const client = new S3Client({ endpoint, region, forcePathStyle: true });
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from(await res.Body.transformToByteArray());
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  process.stdout.write(`${bytes.length} ${sha}\n`);
}
main().catch((e) => { process.stderr.write(`get.js: ${e.name}: ${e.message}\n`); process.exit(1); });
