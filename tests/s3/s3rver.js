// A real S3-compatible server for the tests: s3rver on a free loopback port, storing objects
// under DIR, with the bucket BUCKET made at start. Writes the port to PORT_FILE once listening
// and runs until killed.
//   node s3rver.js DIR PORT_FILE BUCKET
'use strict';
const fs = require('fs');
const S3rver = require('s3rver');

const [dir, portFile, bucket] = process.argv.slice(2);
new S3rver({
  address: '127.0.0.1', port: 0, silent: true, directory: dir,
  configureBuckets: [{ name: bucket || 'exports' }],
}).run().then((addr) => {
  fs.writeFileSync(portFile + '.tmp', String(addr.port));
  fs.renameSync(portFile + '.tmp', portFile);
}).catch((e) => { process.stderr.write(`s3rver.js: ${e.message}\n`); process.exit(1); });
