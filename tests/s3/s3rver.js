// A real S3-compatible server for the tests: s3rver on a loopback port (PORT, or a free one),
// storing objects under DIR, with the bucket BUCKET made at start. Writes the port to
// PORT_FILE once listening and runs until killed.
//   node s3rver.js DIR PORT_FILE BUCKET [PORT]
//
// s3rver 3.7.1 lacks two S3 operations the engine relies on: AbortMultipartUpload (DELETE
// ?uploadId=, which it answers 405) and ListMultipartUploads (GET ?uploads, NotImplemented).
// Both are added here on s3rver's own files (an upload in flight is the directory
// DIR/BUCKET/._S3rver_uploads/<id> holding its key and parts, removed on completion), with
// S3's answers: 204, 404 NoSuchUpload, ListMultipartUploadsResult. Path-style requests only.
'use strict';
const fs = require('fs');
const path = require('path');
const S3rver = require('s3rver');

const [dir, portFile, bucket, port] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1', port: Number(port || 0), silent: true, directory: dir,
  configureBuckets: [{ name: bucket || 'exports' }],
});

const uploadsOf = (b) => path.join(dir, b, '._S3rver_uploads');
const xml = (body) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

server.middleware.unshift(async (ctx, next) => {
  const obj = ctx.path.match(/^\/([^/]+)\/(.+)$/);
  const bkt = ctx.path.match(/^\/([^/]+)\/?$/);
  if (ctx.method === 'DELETE' && obj && 'uploadId' in ctx.query) {
    const id = String(ctx.query.uploadId);
    const d = path.join(uploadsOf(obj[1]), id);
    ctx.type = 'application/xml';
    if (!/^[0-9a-f]+$/.test(id) || !fs.existsSync(d)) {
      ctx.status = 404;
      ctx.body = xml('<Error><Code>NoSuchUpload</Code><Message>The specified upload does not ' +
        'exist. The upload ID may be invalid, or the upload may have been aborted or ' +
        'completed.</Message></Error>');
      return;
    }
    fs.rmSync(d, { recursive: true, force: true });
    ctx.status = 204;
    ctx.body = null;
    return;
  }
  if (ctx.method === 'GET' && bkt && 'uploads' in ctx.query) {
    let ids = [];
    try { ids = fs.readdirSync(uploadsOf(bkt[1])); } catch (e) { ids = []; }
    const prefix = String(ctx.query.prefix || '');
    const items = ids.map((id) => {
      let key = '';
      try { key = fs.readFileSync(path.join(uploadsOf(bkt[1]), id, 'key'), 'utf8'); } catch (e) { }
      return { key, id };
    }).filter((u) => u.key.startsWith(prefix))
      .map((u) => `<Upload><Key>${esc(u.key)}</Key><UploadId>${esc(u.id)}</UploadId></Upload>`)
      .join('');
    ctx.type = 'application/xml';
    ctx.body = xml(`<ListMultipartUploadsResult><Bucket>${esc(bkt[1])}</Bucket>` +
      `<IsTruncated>false</IsTruncated>${items}</ListMultipartUploadsResult>`);
    return;
  }
  return next();
});

server.run().then((addr) => {
  fs.writeFileSync(portFile + '.tmp', String(addr.port));
  fs.renameSync(portFile + '.tmp', portFile);
}).catch((e) => { process.stderr.write(`s3rver.js: ${e.message}\n`); process.exit(1); });
