// Drives hookd's Svix API with the official Svix JavaScript SDK (npm `svix`),
// asserting what a Svix server answers. Exits non-zero on the first
// mismatch, printing it.
//   node svix_driver.mjs URL TOKEN crud STATE_FILE     (writes what verify checks)
//   node svix_driver.mjs URL TOKEN verify STATE_FILE   (after a restart)
// SVIX_MODULE: path of the SDK's dist/index.mjs (an ES module: NODE_PATH
// does not reach it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {pathToFileURL} from 'node:url';

const [url, token, scenario, stateFile] = process.argv.slice(2);
const {Svix, ApiException} = await import(pathToFileURL(process.env.SVIX_MODULE).href);
// Retries only on network errors and 5xx, quickly: a 5xx is a failure here anyway.
const svix = new Svix(token, {serverUrl: url, retryScheduleInMs: [20, 40]});

async function refused(promise, status, check = () => {}) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ApiException, `expected an ApiException, got ${e}`);
    assert.equal(e.code, status, JSON.stringify(e.body));
    assert.equal(typeof e.body, 'object');
    check(e.body);
    return e.body;
  }
  assert.fail(`expected HTTP ${status}, the call succeeded`);
}

async function listAll(fetchPage, limit) {
  const seen = [];
  let iterator;
  for (let guard = 0; guard < 1000; ++guard) {
    const page = await fetchPage({limit, iterator});
    seen.push(...page.data);
    if (page.done) return seen;
    assert.ok(page.iterator, 'a page that is not done has an iterator');
    iterator = page.iterator;
  }
  assert.fail('pagination never finished');
}

async function crud() {
  const state = {};
  // Applications.
  const app = await svix.application.create({name: 'Org A', uid: 'org-a', metadata: {team: 'sec'}});
  assert.match(app.id, /^app_[0-9A-Za-z]{27}$/);
  assert.equal(app.uid, 'org-a');
  assert.deepEqual(app.metadata, {team: 'sec'});
  assert.ok(app.createdAt instanceof Date && !isNaN(app.createdAt));
  const again = await svix.application.getOrCreate({name: 'ignored', uid: 'org-a'});
  assert.equal(again.id, app.id);
  assert.equal(again.name, 'Org A');
  await refused(svix.application.create({name: 'dup', uid: 'org-a'}), 409);
  assert.equal((await svix.application.get('org-a')).id, app.id);
  assert.equal((await svix.application.get(app.id)).uid, 'org-a');
  const renamed = await svix.application.patch('org-a', {name: 'Org A renamed'});
  assert.equal(renamed.name, 'Org A renamed');
  assert.deepEqual(renamed.metadata, {team: 'sec'});
  const upserted = await svix.application.upsert('org-a', {name: 'Org A', uid: 'org-a', throttleRate: 10});
  assert.equal(upserted.id, app.id);
  assert.equal(upserted.throttleRate, 10);
  const b = await svix.application.create({name: 'Org B'});
  await svix.application.delete(b.id);
  await refused(svix.application.get(b.id), 404, (body) => assert.equal(body.code, 'not_found'));
  await refused(svix.application.create({name: ''}), 422, (body) => {
    assert.deepEqual(body.detail[0].loc, ['body', 'name']);
  });
  state.app = app.id;

  // Event types.
  for (const name of ['session.open', 'session.close', 'user.signup']) {
    const type = await svix.eventType.create({name, description: `${name} happened`});
    assert.equal(type.name, name);
    assert.equal(type.archived, false);
  }
  await refused(svix.eventType.create({name: 'session.open', description: 'x'}), 409);
  assert.equal((await svix.eventType.get('session.close')).description, 'session.close happened');
  assert.equal((await svix.eventType.patch('user.signup', {description: 'new'})).description, 'new');
  assert.equal((await svix.eventType.upsert('dbroles.job.finished', {description: 'd'})).name,
               'dbroles.job.finished');
  await svix.eventType.delete('user.signup');
  const types = (await svix.eventType.list()).data.map((t) => t.name);
  assert.deepEqual(types, ['dbroles.job.finished', 'session.close', 'session.open']);
  const withArchived = await svix.eventType.list({includeArchived: true});
  assert.ok(withArchived.data.some((t) => t.name === 'user.signup' && t.archived));

  // Endpoints.
  const endpoint = await svix.endpoint.create(app.id, {
    url: 'https://siem.example.com/hoop',
    description: 'SIEM',
    eventTypes: ['session.open', 'session.close'],
    channels: ['prod'],
    uid: 'siem-1',
    metadata: {owner: 'soc'},
    headers: {'X-Team': 'sec', Authorization: 'Bearer siem-token'},
  });
  assert.match(endpoint.id, /^ep_[0-9A-Za-z]{27}$/);
  assert.deepEqual(endpoint.eventTypes.sort(), ['session.close', 'session.open']);
  assert.deepEqual(endpoint.channels, ['prod']);
  assert.equal(endpoint.disabled, false);
  assert.equal(endpoint.secret, undefined, 'EndpointOut never carries the secret');
  assert.equal((await svix.endpoint.get('org-a', 'siem-1')).id, endpoint.id);
  await refused(svix.endpoint.create(app.id, {url: 'https://x.example/', eventTypes: ['no.such']}),
                422, (body) => assert.deepEqual(body.detail[0].loc, ['body', 'filterTypes']));
  await refused(svix.endpoint.create(app.id, {url: 'ftp://x.example/'}), 422);
  const patched = await svix.endpoint.patch(app.id, endpoint.id, {disabled: true});
  assert.equal(patched.disabled, true);
  assert.deepEqual(patched.channels, ['prod']);
  const updated = await svix.endpoint.upsert(app.id, endpoint.id, {
    url: 'https://siem.example.com/hoop2', eventTypes: ['session.open'], channels: ['prod']});
  assert.equal(updated.url, 'https://siem.example.com/hoop2');
  assert.equal(updated.disabled, false);
  assert.deepEqual(updated.eventTypes, ['session.open']);

  const secret = await svix.endpoint.getSecret(app.id, endpoint.id);
  assert.match(secret.key, /^whsec_[A-Za-z0-9+/=]{32,}$/);
  await svix.endpoint.rotateSecret(app.id, endpoint.id, {});
  const rotated = await svix.endpoint.getSecret(app.id, endpoint.id);
  assert.notEqual(rotated.key, secret.key);
  const chosen = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  await svix.endpoint.rotateSecret(app.id, endpoint.id, {key: chosen});
  assert.equal((await svix.endpoint.getSecret(app.id, endpoint.id)).key, chosen);

  const headers = await svix.endpoint.getHeaders(app.id, endpoint.id);
  assert.deepEqual(headers.headers, {'X-Team': 'sec'});
  assert.deepEqual(headers.sensitive, ['Authorization']);
  await svix.endpoint.patchHeaders(app.id, endpoint.id, {headers: {'X-Extra': '1'}});
  assert.deepEqual((await svix.endpoint.getHeaders(app.id, endpoint.id)).headers,
                   {'X-Team': 'sec', 'X-Extra': '1'});
  await svix.endpoint.setHeaders(app.id, endpoint.id, {headers: {'X-Only': 'yes'}});
  const replaced = await svix.endpoint.getHeaders(app.id, endpoint.id);
  assert.deepEqual(replaced.headers, {'X-Only': 'yes'});
  assert.deepEqual(replaced.sensitive, []);

  const spare = await svix.endpoint.create(app.id, {url: 'http://127.0.0.1:9/x'});
  await svix.endpoint.delete(app.id, spare.id);
  await refused(svix.endpoint.get(app.id, spare.id), 404);
  // Ten rotations fill the ten old keys Svix keeps; the eleventh is refused.
  const rotations = await svix.endpoint.create(app.id, {url: 'http://127.0.0.1:9/r'});
  for (let i = 0; i < 10; ++i) await svix.endpoint.rotateSecret(app.id, rotations.id, {});
  await refused(svix.endpoint.rotateSecret(app.id, rotations.id, {}), 400,
                (body) => assert.equal(body.code, 'limit_reached'));
  state.endpoint = endpoint.id;
  state.endpointSecret = chosen;

  // Messages.
  const payload = {event_type: 'session.open', id: 'sess-1', user_email: 'a@example.com'};
  const message = await svix.message.create(app.id,
      {eventType: 'session.open', eventId: 'evt-1', payload, channels: ['prod']},
      {withContent: true});
  assert.match(message.id, /^msg_[0-9A-Za-z]{27}$/);
  assert.equal(message.eventId, 'evt-1');
  assert.deepEqual(message.payload, payload);
  assert.deepEqual(message.channels, ['prod']);
  await refused(svix.message.create(app.id, {eventType: 'session.open', eventId: 'evt-1', payload}),
                409, (body) => assert.equal(body.code, 'conflict'));
  const key = 'replay-key-1';
  const first = await svix.message.create('org-a', {eventType: 'session.close', payload: {n: 1}},
                                          {idempotencyKey: key});
  const replay = await svix.message.create('org-a', {eventType: 'session.close', payload: {n: 2}},
                                           {idempotencyKey: key});
  assert.equal(replay.id, first.id, 'the same idempotency-key answers with the first message');
  const byEventId = await svix.message.get('org-a', 'evt-1', {withContent: true});
  assert.equal(byEventId.id, message.id);
  assert.deepEqual(byEventId.payload, payload);
  const listed = await svix.message.list(app.id, {eventTypes: ['session.open']});
  assert.deepEqual(listed.data.map((m) => m.id), [message.id]);
  assert.deepEqual(listed.data[0].payload, {}, 'withContent defaults to false in this SDK');
  const newestFirst = await svix.message.list(app.id, {withContent: true});
  assert.deepEqual(newestFirst.data.map((m) => m.id), [first.id, message.id]);
  assert.equal((await svix.message.list(app.id, {channel: 'prod'})).data.length, 1);
  await refused(svix.message.create('no-such-app', {eventType: 'a.b', payload: {}}), 404);
  const implicit = await svix.message.create('org-c', {
    eventType: 'session.open', payload: {}, application: {name: 'Org C', uid: 'org-c'}});
  assert.equal((await svix.application.get('org-c')).name, 'Org C');
  state.messages = [message.id, first.id, implicit.id];

  // Pagination to the end, both directions of order.
  for (let i = 0; i < 23; ++i) await svix.application.create({name: `bulk ${i}`, uid: `bulk-${i}`});
  const all = await listAll((o) => svix.application.list(o), 7);
  assert.equal(all.length, 25);  // org-a, org-c and the 23
  assert.equal(new Set(all.map((a) => a.id)).size, all.length);
  const ids = all.map((a) => a.id);
  assert.deepEqual(ids, [...ids].sort(), 'applications list oldest first');
  const descending = await listAll((o) => svix.application.list({...o, order: 'descending'}), 4);
  assert.deepEqual(descending.map((a) => a.id), [...ids].reverse());
  for (let i = 0; i < 12; ++i) {
    await svix.message.create('org-c', {eventType: 'session.close', payload: {i}});
  }
  const messages = await listAll((o) => svix.message.list('org-c', o), 5);
  assert.equal(messages.length, 13);
  const messageIds = messages.map((m) => m.id);
  assert.deepEqual(messageIds, [...messageIds].sort().reverse(), 'messages list newest first');

  fs.writeFileSync(stateFile, JSON.stringify(state));
}

async function verify() {
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  const app = await svix.application.get('org-a');
  assert.equal(app.id, state.app);
  assert.equal(app.throttleRate, 10);
  // The PUT (upsert) in crud replaced the whole endpoint, uid included, as Svix does.
  const endpoint = await svix.endpoint.get('org-a', state.endpoint);
  assert.equal(endpoint.uid, null);
  assert.equal(endpoint.url, 'https://siem.example.com/hoop2');
  assert.equal((await svix.endpoint.getSecret(state.app, state.endpoint)).key, state.endpointSecret);
  assert.deepEqual((await svix.endpoint.getHeaders(state.app, state.endpoint)).headers,
                   {'X-Only': 'yes'});
  assert.ok((await svix.eventType.list({includeArchived: true})).data.length === 4);
  const [message, replayed, implicit] = state.messages;
  assert.equal((await svix.message.get('org-a', 'evt-1')).id, message);
  assert.equal((await svix.message.get('org-a', replayed)).eventType, 'session.close');
  assert.equal((await svix.message.get('org-c', implicit)).eventType, 'session.open');
  await refused(svix.message.create('org-a', {eventType: 'session.open', eventId: 'evt-1', payload: {}}),
                409);
  assert.equal((await listAll((o) => svix.application.list(o), 10)).length, 25);
}

try {
  if (scenario === 'crud') await crud();
  else if (scenario === 'verify') await verify();
  else throw new Error(`unknown scenario ${scenario}`);
  console.log(`svix_driver ${scenario}: ok`);
} catch (e) {
  console.error(`svix_driver ${scenario}: FAILED`);
  console.error(e && e.stack ? e.stack : e);
  if (e && e.body) console.error('body:', JSON.stringify(e.body));
  process.exit(1);
}
