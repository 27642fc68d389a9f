// The signing oracle: the AWS SDK for JavaScript v3 pre-signs a GET for the same credentials,
// time, endpoint, bucket, key and expiry as the engine, and prints the URL on one line.
//   node presign.js ENDPOINT REGION BUCKET KEY EXPIRES UNIX_TIME PATH_STYLE(0|1)
// Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
'use strict';
const { S3Client, GetObjectCommand } = require('@aws-sdk/client-s3');
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner');

async function main() {
  const [endpoint, region, bucket, key, expires, unix, pathStyle] = process.argv.slice(2);
  const client = new S3Client({
    endpoint, region, forcePathStyle: pathStyle === '1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    },
  });
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
    expiresIn: Number(expires),
    signingDate: new Date(Number(unix) * 1000),
  });
  process.stdout.write(url + '\n');
}
main().catch((e) => { process.stderr.write(`presign.js: ${e.message}\n`); process.exit(1); });
