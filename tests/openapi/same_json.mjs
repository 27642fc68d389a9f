// Whether a JSON file (GET /openapi.json as served) is exactly docs/openapi.yaml as the `yaml`
// package reads it (YAML 1.2 core schema): same values, same types, same key order.
//   node same_json.mjs docs/openapi.yaml served.json   -> exit 0, or 1 naming the first difference
import fs from 'node:fs';
import YAML from 'yaml';

const want = YAML.parse(fs.readFileSync(process.argv[2], 'utf8'));
const got = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));

function diff(a, b, where) {
  const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(a) !== kind(b)) return `${where}: ${kind(a)} in the YAML, ${kind(b)} served`;
  if (kind(a) === 'array' || kind(a) === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.join('\n') !== kb.join('\n')) return `${where}: keys ${JSON.stringify(ka)} in the YAML, ${JSON.stringify(kb)} served`;
    for (const k of ka) {
      const d = diff(a[k], b[k], `${where}/${k}`);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : `${where}: ${JSON.stringify(a)} in the YAML, ${JSON.stringify(b)} served`;
}

const d = diff(want, got, '#');
if (d) {
  process.stdout.write(`${d}\n`);
  process.exit(1);
}
