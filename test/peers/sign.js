// Prints the Standard Webhooks headers the reference library produces, one
// "name: value" line each, for hookd's inbound verification to be checked
// against.
//   node sign.js SECRET MSG_ID BODY_FILE [UNIX_SECONDS]
// Without UNIX_SECONDS the current time is used.
'use strict';
const fs = require('fs');
const {Webhook} = require('standardwebhooks');

const [secret, msgId, bodyFile, seconds] = process.argv.slice(2);
if (!bodyFile) {
  console.error('usage: sign.js SECRET MSG_ID BODY_FILE [UNIX_SECONDS]');
  process.exit(2);
}
const body = fs.readFileSync(bodyFile);
const timestamp = seconds === undefined ? Math.floor(Date.now() / 1000) : Number(seconds);
const signature = new Webhook(secret).sign(msgId, new Date(timestamp * 1000), body);
process.stdout.write(
    `webhook-id: ${msgId}\nwebhook-timestamp: ${timestamp}\nwebhook-signature: ${signature}\n`,
);
