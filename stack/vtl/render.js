'use strict';
// Renders an API Gateway mapping template with velocityjs, the way API Gateway's Velocity would.
// Reads {"template", "body", "headers", "path", "query", "context", "report"} as JSON on stdin and writes
// the rendered text to stdout, or with "report" true {"body", "status"} as JSON. $input and $util follow
// the API Gateway mapping template reference.
const { render } = require('velocityjs');

// javaURLEncode matches java.net.URLEncoder.encode(s, "UTF-8"): only A-Z a-z 0-9 . - * _ stay, space is '+'.
function javaURLEncode(s) {
  return encodeURIComponent(String(s))
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

// javaURLDecode matches java.net.URLDecoder.decode(s, "UTF-8"): '+' is a space, runs of %XX are UTF-8
// bytes (invalid sequences become U+FFFD), and a '%' without two hex digits after it throws, as in Java.
function javaURLDecode(s) {
  const str = String(s);
  let out = '';
  for (let i = 0; i < str.length;) {
    if (str[i] === '+') {
      out += ' ';
      i++;
    } else if (str[i] === '%') {
      const bytes = [];
      while (i < str.length && str[i] === '%') {
        const hex = str.slice(i + 1, i + 3);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
          throw new Error('URLDecoder: Illegal hex characters in escape (%) pattern');
        }
        bytes.push(parseInt(hex, 16));
        i += 3;
      }
      out += Buffer.from(bytes).toString('utf8');
    } else {
      out += str[i];
      i++;
    }
  }
  return out;
}

// Java's String has methods JavaScript's lacks; templates call them on strings, so they are added here
// with Java's meaning: matches(regex) is a whole-string match, replaceFirst(regex, replacement) replaces
// the first match and understands $1-style group references.
function defineJavaStringMethods() {
  const methods = {
    matches(re) { return new RegExp('^(?:' + re + ')$').test(String(this)); },
    replaceFirst(re, replacement) { return String(this).replace(new RegExp(re), replacement); },
  };
  for (const [name, fn] of Object.entries(methods)) {
    Object.defineProperty(String.prototype, name, { value: fn, configurable: true, writable: true });
  }
}

// escapeJavaScript follows commons-lang StringEscapeUtils.escapeJavaScript, which API Gateway uses.
function escapeJavaScript(s) {
  const named = { '"': '\\"', "'": "\\'", '\\': '\\\\', '/': '\\/', '\b': '\\b', '\f': '\\f', '\n': '\\n',
    '\r': '\\r', '\t': '\\t' };
  let out = '';
  for (const ch of String(s)) {
    const code = ch.codePointAt(0);
    if (named[ch]) {
      out += named[ch];
    } else if (code < 0x20 || code > 0x7e) {
      const units = code > 0xffff ? [ch.charCodeAt(0), ch.charCodeAt(1)] : [code];
      out += units.map((u) => '\\u' + u.toString(16).toUpperCase().padStart(4, '0')).join('');
    } else {
      out += ch;
    }
  }
  return out;
}

// jsonPath evaluates the JSONPath subset templates use: $, $.a.b, $.a[0], $['a'].
function jsonPath(doc, path) {
  if (path === '$' || path === '') return doc;
  const steps = String(path).replace(/^\$/, '').match(/\.[^.[\]]+|\[\d+\]|\['[^']*'\]/g) || [];
  let cur = doc;
  for (const step of steps) {
    if (cur === null || cur === undefined) return undefined;
    if (step.startsWith('.')) cur = cur[step.slice(1)];
    else if (step.startsWith("['")) cur = cur[step.slice(2, -2)];
    else cur = cur[Number(step.slice(1, -1))];
  }
  return cur;
}

function main(req) {
  const headers = req.headers || {};
  const pathParams = req.path || {};
  const query = req.query || {};
  let parsed;
  const doc = () => {
    if (parsed === undefined) parsed = JSON.parse(req.body);
    return parsed;
  };
  const input = {
    body: req.body,
    path: (p) => jsonPath(doc(), p),
    json: (p) => JSON.stringify(jsonPath(doc(), p)),
    params: (name) => {
      if (name === undefined) return { path: pathParams, querystring: query, header: headers };
      for (const m of [pathParams, query, headers]) {
        if (Object.prototype.hasOwnProperty.call(m, name)) return m[name];
      }
      return '';
    },
  };
  const util = {
    urlEncode: javaURLEncode,
    urlDecode: javaURLDecode,
    parseJson: (s) => JSON.parse(s),
    escapeJavaScript,
    base64Encode: (s) => Buffer.from(String(s), 'utf8').toString('base64'),
    base64Decode: (s) => Buffer.from(String(s), 'base64').toString('utf8'),
  };
  const context = Object.assign({ requestId: 'test-request', stage: 'v1', httpMethod: 'POST',
    identity: { sourceIp: '192.0.2.1' }, responseOverride: { header: {} } }, req.context || {});
  const out = render(req.template, { input, util, context });
  if (!req.report) return out;
  // Report mode also returns the status an integration response template set with
  // $context.responseOverride.status (0 when it set none).
  return JSON.stringify({ body: out, status: Number(context.responseOverride.status || 0) });
}

defineJavaStringMethods();

let raw = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { raw += chunk; });
process.stdin.on('end', () => {
  try {
    process.stdout.write(main(JSON.parse(raw)));
  } catch (err) {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
    process.exit(1);
  }
});
