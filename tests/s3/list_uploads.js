// Prints the number of objects under PREFIX and of unfinished multipart uploads in BUCKET,
// so a test can check that a failed upload left neither an object nor orphan parts.
//   node list_uploads.js ENDPOINT REGION BUCKET PREFIX
'use strict';
const { S3Client, ListObjectsV2Command, ListMultipartUploadsCommand } =
  require('@aws-sdk/client-s3');

async function main() {
  const [endpoint, region, bucket, prefix] = process.argv.slice(2);
  const client = new S3Client({ endpoint, region, forcePathStyle: true });
  const objs = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  let uploads = 0;
  try {
    const up = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    uploads = (up.Uploads || []).length;
  } catch (e) {
    uploads = -1; // the store cannot list uploads
  }
  process.stdout.write(`${objs.KeyCount || 0} ${uploads}\n`);
}
main().catch((e) => { process.stderr.write(`list_uploads.js: ${e.message}\n`); process.exit(1); });
