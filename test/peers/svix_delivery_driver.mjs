// One step of a delivery test, made with the official Svix JavaScript SDK
// (npm `svix`) against hookd's /api/v1; the test in between restarts hookd
// and reads what the receivers got.
//   node svix_delivery_driver.mjs URL TOKEN COMMAND STATE_FILE ARGS_JSON
// STATE_FILE keeps names -> ids across steps (created when missing). The
// answer, when there is one, is printed as a last line "RESULT <json>".
// Exits non-zero on the first failed call or assertion. SVIX_MODULE: the
// SDK's dist/index.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {pathToFileURL} from 'node:url';

const [url, token, command, stateFile, argsJson] = process.argv.slice(2);
const {Svix, ApiException} = await import(pathToFileURL(process.env.SVIX_MODULE).href);
const svix = new Svix(token, {serverUrl: url, retryScheduleInMs: [50, 100, 200]});
const args = JSON.parse(argsJson || '{}');
const state = fs.existsSync(stateFile) ?
    JSON.parse(fs.readFileSync(stateFile, 'utf8')) :
    {endpoints: {}, messages: {}, secrets: {}};
const APP = 'org-d';

const endpoint = (name) => state.endpoints[name] ?? name;
const message = (name) => state.messages[name] ?? name;

async function refused(promise, status) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ApiException, `expected an ApiException, got ${e}`);
    assert.equal(e.code, status, JSON.stringify(e.body));
    return e.body;
  }
  assert.fail(`expected HTTP ${status}, the call succeeded`);
}

const commands = {
  // {eventTypes: [...], endpoints: [{name, url, secret, filterTypes, channels, headers}]}
  async setup() {
    const app = await svix.application.getOrCreate({name: 'Org D', uid: APP});
    state.app = app.id;
    for (const name of args.eventTypes ?? []) {
      try {
        await svix.eventType.create({name, description: `${name} happened`});
      } catch (e) {
        if (!(e instanceof ApiException) || e.code !== 409) throw e;
      }
    }
    for (const e of args.endpoints ?? []) {
      const out = await svix.endpoint.create(APP, {
        url: e.url,
        secret: e.secret,
        eventTypes: e.filterTypes,
        channels: e.channels,
        headers: e.headers,
        description: e.name,
      });
      assert.match(out.id, /^ep_/);
      assert.equal((await svix.endpoint.getSecret(APP, out.id)).key, e.secret);
      state.endpoints[e.name] = out.id;
    }
    return state.endpoints;
  },
  // {messages: [{name, eventType, payload, channels, eventId}]}: created one by one.
  async send() {
    const ids = {};
    for (const m of args.messages) {
      const out = await svix.message.create(APP, {
        eventType: m.eventType, payload: m.payload, channels: m.channels, eventId: m.eventId});
      state.messages[m.name] = out.id;
      ids[m.name] = out.id;
    }
    return ids;
  },
  // {count, eventType, concurrency}: ids of the acknowledged creates, in order.
  async bulk() {
    const ids = new Array(args.count);
    let next = 0;
    async function worker() {
      while (next < args.count) {
        const i = next++;
        const out = await svix.message.create(APP, {eventType: args.eventType, payload: {n: i}});
        ids[i] = out.id;
      }
    }
    await Promise.all(Array.from({length: args.concurrency ?? 4}, worker));
    return ids;
  },
  // {msg, endpoint?, status?}
  async 'attempts-by-msg'() {
    const page = await svix.messageAttempt.listByMsg(APP, message(args.msg), {
      endpointId: args.endpoint ? endpoint(args.endpoint) : undefined,
      status: args.status,
      limit: 250,
    });
    for (const a of page.data) assert.ok(a.timestamp instanceof Date && !isNaN(a.timestamp));
    return page;
  },
  // {endpoint, status?, withMsg?}: every page, newest first.
  async 'attempts-by-endpoint'() {
    const data = [];
    let iterator;
    for (;;) {
      const page = await svix.messageAttempt.listByEndpoint(APP, endpoint(args.endpoint), {
        status: args.status, withMsg: args.withMsg, limit: args.limit ?? 50, iterator});
      data.push(...page.data);
      if (page.done) break;
      iterator = page.iterator;
    }
    const ids = data.map((a) => a.id);
    assert.deepEqual(ids, [...ids].sort().reverse(), 'attempts list newest first');
    return {data};
  },
  // {msg, endpoint}
  async resend() {
    await svix.messageAttempt.resend(APP, message(args.msg), endpoint(args.endpoint));
    return {};
  },
  // {endpoint, sinceMsAgo}
  async recover() {
    const out = await svix.endpoint.recover(
        APP, endpoint(args.endpoint), {since: new Date(Date.now() - args.sinceMsAgo)});
    assert.equal(out.task, 'endpoint.recover');
    assert.match(out.id, /^qtask_/);
    const old = new Date(Date.now() - 15 * 24 * 3600 * 1000);
    const body = await refused(svix.endpoint.recover(APP, endpoint(args.endpoint), {since: old}), 422);
    assert.deepEqual(body.detail[0].loc, ['body', 'since']);
    await refused(svix.endpoint.recover(APP, 'ep_nosuchendpoint', {since: new Date()}), 404);
    return out;
  },
  // {endpoint, patch}
  async patch() {
    return await svix.endpoint.patch(APP, endpoint(args.endpoint), args.patch);
  },
  // {endpoint, key}
  async rotate() {
    await svix.endpoint.rotateSecret(APP, endpoint(args.endpoint), {key: args.key});
    assert.equal((await svix.endpoint.getSecret(APP, endpoint(args.endpoint))).key, args.key);
    return {};
  },
  // {endpoint}
  async delete() {
    await svix.endpoint.delete(APP, endpoint(args.endpoint));
    await refused(svix.endpoint.get(APP, endpoint(args.endpoint)), 404);
    return {};
  },
  // {endpoint}
  async get() {
    return await svix.endpoint.get(APP, endpoint(args.endpoint));
  },
};

try {
  if (!commands[command]) throw new Error(`unknown command ${command}`);
  const result = await commands[command]();
  fs.writeFileSync(stateFile, JSON.stringify(state));
  console.log('RESULT ' + JSON.stringify(result ?? {}));
} catch (e) {
  console.error(`svix_delivery_driver ${command}: FAILED`);
  console.error(e && e.stack ? e.stack : e);
  if (e && e.body) console.error('body:', JSON.stringify(e.body));
  process.exit(1);
}
