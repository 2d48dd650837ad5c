// The account page in headless Chromium: withdrawing a portal's access (issue 22,
// finding 6). The person signs in at a portal with offline_access, opens /account, sees
// the portal with what it may receive, and clicks "Withdraw this portal's access"; the
// portal's refresh token is then refused (invalid_grant), its access token too, and the
// next authorization asks for consent again.
//
// Run: cd tests/browser && npm ci && npm test   (PORTICO_BIN overrides the binary)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertClean, authorizationUrl, browserSuite, exchangeCode, newRequestSecrets, signInThrough,
  submit,
} from './lib/browser.mjs';

const USERNAME = 'citizen-withdraw';
const PASSWORD = 'a-long-withdraw-password-9';

let portico;
let rp;
let client;
const suite = browserSuite();

function request(scope) {
  const secrets = newRequestSecrets();
  const redirectUri = client.redirect_uris[0];
  const url = authorizationUrl(portico.issuer, {
    clientId: client.client_id, redirectUri, scope, secrets,
  });
  return { url, redirectUri, secrets };
}

async function tokenRequest(form) {
  const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
  const res = await fetch(`${portico.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: await res.json() };
}

async function userinfoStatus(accessToken) {
  const res = await fetch(`${portico.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  return res.status;
}

describe('the account page in headless Chromium', { timeout: 120_000 }, () => {
  before(async () => {
    ({ portico, rp } = await suite.start());
    client = JSON.parse(await portico.cli([
      'client', 'add', '--client-id', 'withdraw-rp', '--name', 'Withdraw test portal', '--json',
      '--redirect-uri', `${rp.origin}/cb`, '--grant-type', 'authorization_code', 'refresh_token',
    ]));
    await portico.cli(['account', 'add', '--username', USERNAME, '--password-stdin'], PASSWORD);
  });

  after(() => suite.stop());

  test('"Withdraw this portal\'s access": the portal\'s refresh and access tokens are refused, and it must ask for consent again', async () => {
    const watch = await suite.newBrowser();
    const { page } = watch;
    const req = request('openid profile offline_access');
    const { callback, shown } = await signInThrough(watch, portico.issuer, {
      url: req.url, username: USERNAME, password: PASSWORD, redirectUri: req.redirectUri,
    });
    assert.deepEqual(shown, ['login', 'consent']);
    const tokens = await exchangeCode(portico.issuer, {
      client, code: callback.searchParams.get('code'), redirectUri: req.redirectUri,
      verifier: req.secrets.verifier,
    });
    assert.ok(tokens.refresh_token, 'offline_access gave a refresh token');
    assert.equal(await userinfoStatus(tokens.access_token), 200);

    await page.goto(`${portico.issuer}/account`);
    assert.equal(
      await page.getByRole('heading', { name: 'Portals you have allowed' }).count(), 1,
    );
    const item = page.locator('ul.consents > li');
    assert.equal(await item.count(), 1);
    const text = await item.innerText();
    assert.match(text, /Withdraw test portal/);
    assert.match(text, /See your name, date of birth/);
    assert.match(text, /Stay connected when you are not using it/);
    assert.match(text, /Allowed since \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);

    const back = await submit(page, page.getByRole('button', { name: 'Withdraw this portal\'s access' }));
    assert.equal(back.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/account');
    assert.equal(await page.locator('ul.consents > li').count(), 0);
    assert.match(await page.locator('main').innerText(), /You have not allowed any portal yet\./);

    const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.body.error, 'invalid_grant');
    assert.equal(await userinfoStatus(tokens.access_token), 401, 'the access token is revoked');

    // Still signed in: the next request goes straight to the consent page.
    const again = request('openid profile');
    const next = await signInThrough(watch, portico.issuer, {
      url: again.url, username: USERNAME, password: PASSWORD, redirectUri: again.redirectUri,
    });
    assert.deepEqual(next.shown, ['consent']);
    assertClean(watch);
  });
});
