// A webhook receiver that checks every request with the Standard Webhooks
// reference library, so hookd's signatures are judged by code it did not write.
//   node verify_receiver.js PORT SECRET LOG_FILE PORT_FILE
// PORT 0 picks a free port; the bound port is written to PORT_FILE once
// listening. Answers 204 when the signature verifies, 401 otherwise, and
// appends one JSON line per request to LOG_FILE.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const {Webhook} = require('standardwebhooks');

const [port, secret, logFile, portFile] = process.argv.slice(2);
if (!portFile) {
  console.error('usage: verify_receiver.js PORT SECRET LOG_FILE PORT_FILE');
  process.exit(2);
}
const webhook = new Webhook(secret);

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const record = {id: req.headers['webhook-id'] || null, ok: false, error: null};
    try {
      const parsed = webhook.verify(body, req.headers);
      record.ok = true;
      if (parsed && typeof parsed === 'object' && 'id' in parsed) record.body_id = parsed.id;
    } catch (err) {
      record.error = String(err && err.message ? err.message : err);
    }
    // One synchronous append per request keeps lines whole.
    fs.appendFileSync(logFile, JSON.stringify(record) + '\n');
    res.writeHead(record.ok ? 204 : 401);
    res.end();
  });
});

server.listen(Number(port), '127.0.0.1', () => {
  const tmp = portFile + '.tmp';
  fs.writeFileSync(tmp, String(server.address().port) + '\n');
  fs.renameSync(tmp, portFile);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
