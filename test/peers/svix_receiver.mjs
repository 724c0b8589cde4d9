// A Svix webhook receiver that checks every request with the official svix
// library's `new Webhook(secret).verify(body, headers)`, so what hookd sends
// to API endpoints is judged by code it did not write.
//   node svix_receiver.mjs --port-file FILE --log FILE [--secret whsec_... ...]
//        [--cert PEM --key PEM] [--fail-first N] [--port N]
// With --cert and --key it serves HTTPS. Each --secret is tried on its own
// (after a rotation both the old and the new key must verify). A request
// that at least one secret verifies (or any, without --secret) gets 200,
// others 401; the first N requests get 500 whatever they carry. One JSON
// line per request goes to the log: {id, timestamp, verified: [per secret],
// status, headers, body, receivedMs}. SVIX_MODULE: the SDK's dist/index.mjs.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import {pathToFileURL} from 'node:url';

const {Webhook} = await import(pathToFileURL(process.env.SVIX_MODULE).href);

const args = {secrets: [], failFirst: 0, port: 0};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [flag, value] = [argv[i], argv[i + 1]];
  if (value === undefined) throw new Error(`${flag}: missing value`);
  if (flag === '--secret') args.secrets.push(value);
  else if (flag === '--port-file') args.portFile = value;
  else if (flag === '--log') args.log = value;
  else if (flag === '--cert') args.cert = value;
  else if (flag === '--key') args.key = value;
  else if (flag === '--fail-first') args.failFirst = Number(value);
  else if (flag === '--port') args.port = Number(value);
  else throw new Error(`unknown flag ${flag}`);
}
if (!args.portFile || !args.log) {
  console.error('usage: svix_receiver.mjs --port-file FILE --log FILE [--secret S ...]');
  process.exit(2);
}
const webhooks = args.secrets.map((secret) => new Webhook(secret));
let requests = 0;

function handle(req, res) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const verified = webhooks.map((webhook) => {
      try {
        webhook.verify(body, req.headers);
        return true;
      } catch (err) {
        return String(err && err.message ? err.message : err);
      }
    });
    const ok = webhooks.length === 0 || verified.includes(true);
    const status = requests++ < args.failFirst ? 500 : ok ? 200 : 401;
    let parsed = body;
    try {
      parsed = JSON.parse(body);
    } catch (_) {}
    const record = {
      id: req.headers['svix-id'] || null,
      timestamp: req.headers['svix-timestamp'] || null,
      signature: req.headers['svix-signature'] || null,
      verified,
      status,
      headers: req.headers,
      body: parsed,
      receivedMs: Date.now(),
    };
    // One synchronous append per request keeps lines whole.
    fs.appendFileSync(args.log, JSON.stringify(record) + '\n');
    res.writeHead(status, {'content-type': 'text/plain'});
    res.end(status === 500 ? `failing on purpose (${requests})` : status === 200 ? 'ok' : 'bad');
  });
}

const server = args.cert
    ? https.createServer({cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key)}, handle)
    : http.createServer(handle);
server.keepAliveTimeout = 60000;
server.listen(args.port, '127.0.0.1', () => {
  const tmp = args.portFile + '.tmp';
  fs.writeFileSync(tmp, String(server.address().port) + '\n');
  fs.renameSync(tmp, args.portFile);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
  });
}
