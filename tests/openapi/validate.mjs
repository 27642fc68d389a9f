// Validates recorded HTTP responses against docs/openapi.yaml (docs/openapi.md "How responses
// are validated").
//
//   node validate.mjs OPENAPI.yaml RECORDS.jsonl
//   node validate.mjs OPENAPI.yaml --serve      (records on stdin, a verdict line each on stdout)
//
// A record is one response per line, as tests/harness/oapi_record.c writes them:
//   {"method": "GET", "target": "/tasks/1?log_limit=5", "status": 200,
//    "headers": [["Content-Type", "application/json"], ...], "body": "<base64>"}
// Prints one line per response that the document does not describe, and exits 1 if there was
// any (0 when all fit, 2 on a usage or I/O error). Checks, in order: the path (a listed
// template, else the document's x-unknown-path answer; an HTML page with a status of
// x-http-layer-refusal is the HTTP parser's refusal on any path), the method (HEAD falls back to GET
// without a body; a method not listed must be the x-unlisted-method answer), the status (exact,
// else its NXX range), each header the response declares required and the value of each
// declared header present, the Content-Type against the response's content, and the body
// against its JSON Schema (ajv, draft 2020-12, with formats). A response that declares no
// content must have an empty body.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';

const DOC_ID = 'openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// ajv's messages, each once (a oneOf lists the same miss for every branch).
const errorsText = (errors, dataVar) =>
  [...new Set((errors ?? []).map((e) => `${dataVar}${e.instancePath} ${e.message}`))].join(', ');

function usage(msg) {
  process.stderr.write(`validate.mjs: ${msg}\n`);
  process.exit(2);
}

if (process.argv.length !== 4) usage('usage: node validate.mjs OPENAPI.yaml RECORDS.jsonl|--serve');
const serve = process.argv[3] === '--serve';

// The document. Parsing the YAML costs more than the rest of a start-up, and every API test
// process starts a validator: the parsed form (and the compiled validators, below) are kept in
// $TW_OAPI_CACHE (a directory, when set) under the SHA-256 of the YAML and of this script, so a
// changed document is never read stale.
let docHash = '';
// The text cached in $TW_OAPI_CACHE under name, else make() (also stored there when set).
async function cached(name, make) {
  const dir = process.env.TW_OAPI_CACHE;
  const file = dir ? path.join(dir, name) : null;
  if (file) {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      // not made yet
    }
  }
  const text = await make();
  if (file) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file); // atomic: a concurrent test reads the old or the new file whole
  }
  return text;
}

async function loadDoc(file) {
  const text = fs.readFileSync(file, 'utf8');
  // keyed by the document and this script (which decides what is compiled and how)
  docHash = crypto.createHash('sha256').update(text).update(fs.readFileSync(new URL(import.meta.url)))
    .digest('hex');
  // yaml is imported only on a cache miss
  return JSON.parse(await cached(`openapi-${docHash}.json`,
    async () => JSON.stringify((await import('yaml')).default.parse(text))));
}

let doc;
let lines = [];
try {
  doc = await loadDoc(process.argv[2]);
  if (!serve) lines = fs.readFileSync(process.argv[3], 'utf8').split('\n').filter((l) => l.length > 0);
} catch (e) {
  usage(e.message);
}

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
function at(pointer) {
  let o = doc;
  for (const raw of pointer.split('/').slice(1)) {
    o = o?.[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return o;
}
// Follow $refs: [object, its JSON pointer].
function deref(obj, pointer) {
  while (obj && typeof obj.$ref === 'string') {
    pointer = obj.$ref.slice(1);
    obj = at(pointer);
  }
  return [obj, pointer];
}

// Every schema a response can be checked against (content and headers), by JSON pointer.
function schemaPointers() {
  const out = new Set();
  const addResponse = (r0, ptr0) => {
    const [r, ptr] = deref(r0, ptr0);
    for (const [name, h0] of Object.entries(r?.headers ?? {})) {
      const [h, hPtr] = deref(h0, `${ptr}/headers/${esc(name)}`);
      if (h?.schema) out.add(`${hPtr}/schema`);
    }
    for (const [t, mt] of Object.entries(r?.content ?? {})) {
      if (mt?.schema) out.add(`${ptr}/content/${esc(t)}/schema`);
    }
  };
  for (const [p, item] of Object.entries(doc.paths ?? {})) {
    for (const m of METHODS) {
      for (const [st, r] of Object.entries(item[m]?.responses ?? {})) {
        addResponse(r, `/paths/${esc(p)}/${m}/responses/${esc(st)}`);
      }
    }
  }
  if (doc['x-unknown-path']) addResponse(doc['x-unknown-path'], '/x-unknown-path');
  if (doc['x-unlisted-method']) addResponse(doc['x-unlisted-method'], '/x-unlisted-method');
  if (doc['x-http-layer-refusal']) addResponse(doc['x-http-layer-refusal'].response, '/x-http-layer-refusal/response');
  return [...out].sort();
}

// The validators, compiled by ajv (draft 2020-12, ajv-formats) into standalone code once per
// document (cached like the document: compiling costs more than node's own start-up) and
// loaded as one function.
const pointers = schemaPointers();
const code = await cached(`validators-${docHash}.cjs`, async () => {
  const { default: Ajv2020, _ } = await import('ajv/dist/2020.js');
  const { default: addFormats } = await import('ajv-formats');
  const { default: standaloneCode } = await import('ajv/dist/standalone/index.js');
  const ajv = new Ajv2020({
    strict: false, allErrors: true, validateSchema: false,
    code: { source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` },
  });
  addFormats(ajv);
  ajv.addSchema(doc, DOC_ID);
  const refs = {};
  pointers.forEach((p, i) => {
    refs[`v${i}`] = `${DOC_ID}#${p.split('/').map((seg) => encodeURIComponent(seg)).join('/')}`;
  });
  return standaloneCode(ajv, refs);
});
const mod = { exports: {} };
// eslint-disable-next-line no-new-func
new Function('require', 'module', 'exports', code)(createRequire(import.meta.url), mod, mod.exports);
const compiled = new Map(pointers.map((p, i) => [p, mod.exports[`v${i}`]]));
function validator(pointer) {
  const v = compiled.get(pointer);
  if (!v) throw new Error(`no validator for ${pointer}`);
  return v;
}

// The path template a request path matches: a literal match wins over placeholders.
const templates = Object.keys(doc.paths ?? {});
function matchPath(path) {
  const segs = path.split('/');
  let best = null;
  let bestLiterals = -1;
  for (const t of templates) {
    const ts = t.split('/');
    if (ts.length !== segs.length) continue;
    let literals = 0;
    let ok = true;
    for (let i = 0; ok && i < ts.length; i++) {
      if (/^\{[^}]+\}$/.test(ts[i])) ok = segs[i].length > 0;
      else if (ts[i] === segs[i]) literals++;
      else ok = false;
    }
    if (ok && literals > bestLiterals) {
      best = t;
      bestLiterals = literals;
    }
  }
  return best;
}

function check(rec) {
  const problems = [];
  const reqPath = rec.target.split('?')[0];
  const method = rec.method.toLowerCase();
  const status = String(rec.status);
  const headers = new Map();
  for (const [k, v] of rec.headers) {
    const name = k.toLowerCase();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${v}` : v);
  }
  let body = Buffer.from(rec.body ?? '', 'base64');

  let resp;
  let respPtr;
  let noBody = method === 'head' || rec.status === 204 || rec.status === 304;
  const template = matchPath(reqPath);
  const refusal = doc['x-http-layer-refusal'];
  const type0 = (headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (refusal && refusal.statuses.includes(rec.status) && type0 === 'text/html') {
    // refused by the HTTP parser before routing, on any path
    [resp, respPtr] = deref(refusal.response, '/x-http-layer-refusal/response');
  } else if (template === null) {
    if (!doc['x-unknown-path']) return [`path ${reqPath} is not in the document`];
    if (status !== '404') return [`path ${reqPath} is not in the document (answered ${status}, not 404)`];
    [resp, respPtr] = deref(doc['x-unknown-path'], '/x-unknown-path');
  } else {
    const item = doc.paths[template];
    let op = item[method];
    let opMethod = method;
    if (!op && method === 'head' && item.get) {
      op = item.get;
      opMethod = 'get';
    }
    if (!op) {
      if (!doc['x-unlisted-method'] || status !== '405') {
        const listed = METHODS.filter((m) => item[m]).join(', ');
        return [`${rec.method} is not documented for ${template} (documented: ${listed}); answered ${status}`];
      }
      [resp, respPtr] = deref(doc['x-unlisted-method'], '/x-unlisted-method');
    } else {
      const base = `/paths/${esc(template)}/${opMethod}/responses`;
      let key = status;
      if (!op.responses?.[key]) key = `${status[0]}XX`;
      if (!op.responses?.[key]) {
        return [`status ${status} is not documented for ${opMethod.toUpperCase()} ${template} ` +
          `(documented: ${Object.keys(op.responses ?? {}).join(', ')})`];
      }
      [resp, respPtr] = deref(op.responses[key], `${base}/${esc(key)}`);
    }
  }

  for (const [name, h0] of Object.entries(resp.headers ?? {})) {
    const [h, hPtr] = deref(h0, `${respPtr}/headers/${esc(name)}`);
    const value = headers.get(name.toLowerCase());
    if (value === undefined) {
      if (h.required) problems.push(`header ${name} is required but missing`);
      continue;
    }
    if (!h.schema) continue;
    const [schema] = deref(h.schema, `${hPtr}/schema`);
    let v = value;
    if (schema.type === 'integer' || schema.type === 'number') v = /^-?[0-9.]+$/.test(value) ? Number(value) : value;
    const validate = validator(`${hPtr}/schema`);
    if (!validate(v)) problems.push(`header ${name}: ${JSON.stringify(value)} ${errorsText(validate.errors, name)}`);
  }

  if (noBody) return problems;
  const type = (headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (!resp.content) {
    if (body.length > 0) problems.push(`a body (${type || 'no Content-Type'}, ${body.length} bytes) where the document declares none`);
    return problems;
  }
  if (!(type in resp.content)) {
    problems.push(`Content-Type ${type || '(none)'} is not documented (documented: ${Object.keys(resp.content).join(', ')})`);
    return problems;
  }
  const mt = resp.content[type];
  if ((type !== 'application/json' && !type.endsWith('+json')) || !mt.schema) return problems;
  if ((headers.get('content-encoding') ?? '').toLowerCase() === 'gzip') {
    try {
      body = zlib.gunzipSync(body);
    } catch (e) {
      problems.push(`Content-Encoding gzip but the body does not inflate: ${e.message}`);
      return problems;
    }
  }
  // A download (206 or a JSON export) may be a slice of a file: only whole bodies are parsed.
  if (rec.status === 206) return problems;
  let data;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch (e) {
    problems.push(`body is not JSON (${e.message}): ${body.toString('utf8').slice(0, 200)}`);
    return problems;
  }
  const validate = validator(`${respPtr}/content/${esc(type)}/schema`);
  if (!validate(data)) {
    const text = JSON.stringify(data);
    problems.push(`${errorsText(validate.errors, 'body')}; body: ` +
      `${text.length > 400 ? `${text.slice(0, 400)}...` : text}`);
  }
  return problems;
}

// One verdict per record: "" when the document describes it, else what does not fit.
function verdict(line) {
  let rec;
  try {
    rec = JSON.parse(line);
  } catch (e) {
    return `bad record: ${e.message}`;
  }
  let problems;
  try {
    problems = check(rec);
  } catch (e) {
    problems = [`validator error: ${e.stack.replace(/\n/g, ' | ')}`];
  }
  if (problems.length === 0) return '';
  const v = `${rec.method} ${rec.target} -> ${rec.status}: ${problems.join('; ')}`.replace(/\n/g, ' ');
  return v.length > 4000 ? `${v.slice(0, 4000)}...` : v; // one line, shorter than the harness's buffer
}

if (serve) {
  // A co-process of one test: a record per line in, a verdict per line out, until EOF.
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => process.stdout.write(`${verdict(line)}\n`));
} else {
  let failed = 0;
  for (const line of lines) {
    const v = verdict(line);
    if (v !== '') {
      failed++;
      process.stdout.write(`${v}\n`);
    }
  }
  process.exit(failed > 0 ? 1 : 0);
}
