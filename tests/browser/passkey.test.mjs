// Passkeys in headless Chromium with its virtual authenticator (DevTools WebAuthn
// domain: CTAP2, internal transport, resident keys and user verification): a passkey
// registered from /account after a password sign-in, the session ended, then a portal's
// sign-in with the passkey alone; the portal's ID token carries amr hwk/swk and user.
// Then the passkey as the second factor: a password sign-in at level 2, the portal asks
// for level 3, the passkey steps the same session up (same sub and sid, acr level 3,
// amr pwd + hwk/swk + user + mfa).
//
// Run: cd tests/browser && npm ci && npm test   (PORTICO_BIN overrides the binary)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertClean, authorizationUrl, browserSuite, exchangeCode, newRequestSecrets, submit,
  typeCredentials, verifyIdToken,
} from './lib/browser.mjs';
import { freePort } from '../interop/lib/portico.mjs';

const USERNAME = 'citizen-passkey';
const PASSWORD = 'a-long-passkey-password-9';
const TOML = `
[[sources]]
id = "password"
kind = "password"

[[sources]]
id = "passkey"
kind = "webauthn"
display_name = "Passkey"
loa = 3
`;

// WebAuthn takes no IP address as a relying party id: this Portico's issuer is
// `localhost` (the portal shares that host here, which this test does not mind).
const PORT = await freePort();
const ISSUER = `http://localhost:${PORT}`;

let portico;
let rp;
let account;
let client;
const suite = browserSuite({ toml: TOML, port: PORT, env: { PORTICO_ISSUER: ISSUER } });

// The button path, in a browser without passkey autofill: Chromium's virtual
// authenticator answers a conditional request by itself, at once, with its first
// passkey (which would sign in before the button is clicked), and while one waits on a
// page, Playwright's typing into that page's username field never completes.
async function withoutAutofill(page) {
  await page.addInitScript(() => { delete PublicKeyCredential.isConditionalMediationAvailable; });
}

async function virtualAuthenticator(watch) {
  const cdp = await watch.context.newCDPSession(watch.page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true,
    },
  });
  return { cdp, authenticatorId };
}

describe('Passkeys in headless Chromium', { timeout: 120_000 }, () => {
  before(async () => {
    ({ portico, rp } = await suite.start());
    client = JSON.parse(await portico.cli([
      'client', 'add', '--client-id', 'passkey-rp', '--json', '--name', 'Passkey portal',
      '--first-party', '--redirect-uri', `${rp.origin}/cb`,
    ]));
    account = JSON.parse(await portico.cli([
      'account', 'add', '--username', USERNAME, '--password-stdin', '--name', 'Passkey Citizen',
      '--json',
    ], PASSWORD));
  });
  after(() => suite.stop());

  test('register a passkey from /account, sign out, sign in with the passkey alone', async () => {
    const watch = await suite.newBrowser(ISSUER);
    const { page } = watch;
    const { cdp, authenticatorId } = await virtualAuthenticator(watch);
    await withoutAutofill(page);

    // Signed in with the password for the account page.
    await page.goto(`${ISSUER}/account`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await typeCredentials(page, { username: USERNAME, password: PASSWORD });
    await submit(page, page.getByRole('button', { name: 'Sign in' }).first());
    assert.equal(new URL(page.url()).pathname, '/account');
    assert.match(await page.locator('main').innerText(), /You have no passkey yet/);

    // Register one.
    const form = await submit(page, page.getByRole('button', { name: 'Add a passkey' }));
    assert.match(form.headers()['content-security-policy'], /script-src 'self'/);
    await page.getByLabel('Name of the passkey').fill('Laptop của tôi');
    await submit(page, page.getByRole('button', { name: 'Create the passkey' }));
    assert.equal(new URL(page.url()).pathname, '/account');
    assert.match(await page.locator('main').innerText(), /Laptop của tôi/);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');

    // Sign out (end this session).
    await submit(page, page.getByRole('button', { name: 'End this session' }).first());
    await page.goto(`${ISSUER}/account`);
    assert.equal(new URL(page.url()).pathname, '/login', 'signed out');

    // A portal's sign-in with the passkey alone.
    const secrets = newRequestSecrets();
    const redirectUri = client.redirect_uris[0];
    await page.goto(authorizationUrl(ISSUER, {
      clientId: client.client_id, redirectUri, scope: 'openid', secrets,
    }));
    assert.equal(new URL(page.url()).pathname, '/login');
    const link = page.getByRole('link', { name: 'Passkey' });
    await link.waitFor({ state: 'visible' });
    await submit(page, link);
    assert.match(new URL(page.url()).pathname, /^\/login\/passkey/);
    await submit(page, page.getByRole('button', { name: 'Sign in with a passkey' }));
    assert.ok(page.url().startsWith(redirectUri), `ended at ${page.url()}`);
    const callback = new URL(page.url());
    assert.equal(callback.searchParams.get('error'), null, callback.searchParams.get('error_description'));
    const tokens = await exchangeCode(ISSUER, {
      client, code: callback.searchParams.get('code'), redirectUri, verifier: secrets.verifier,
    });
    const claims = await verifyIdToken(ISSUER, tokens.id_token, client.client_id);
    assert.equal(claims.sub, account.account_id, 'the account the passkey was registered to');
    assert.ok(claims.amr.includes('hwk') || claims.amr.includes('swk'), `amr ${claims.amr}`);
    assert.ok(claims.amr.includes('user'), `amr ${claims.amr}`);
    assert.equal(claims.acr, 'urn:portico:loa:3');

    // The last use is on the account page.
    await page.goto(`${ISSUER}/account`);
    assert.match(await page.locator('main').innerText(), /last used/);
    assertClean(watch);
  });

  test('a passkey as the second factor after a password steps the session up to level 3', async () => {
    const username = 'citizen-step-up';
    const stepUpAccount = JSON.parse(await portico.cli([
      'account', 'add', '--username', username, '--password-stdin', '--name', 'Step-up Citizen',
      '--json',
    ], PASSWORD));
    const watch = await suite.newBrowser(ISSUER);
    const { page } = watch;
    await virtualAuthenticator(watch);
    await withoutAutofill(page);

    // A passkey registered from /account, then signed out.
    await page.goto(`${ISSUER}/account`);
    await typeCredentials(page, { username, password: PASSWORD });
    await submit(page, page.getByRole('button', { name: 'Sign in' }).first());
    assert.equal(new URL(page.url()).pathname, '/account');
    await submit(page, page.getByRole('button', { name: 'Add a passkey' }));
    await page.getByLabel('Name of the passkey').fill('Điện thoại');
    await submit(page, page.getByRole('button', { name: 'Create the passkey' }));
    assert.match(await page.locator('main').innerText(), /Điện thoại/);
    await submit(page, page.getByRole('button', { name: 'End this session' }).first());
    await page.goto(`${ISSUER}/account`);
    assert.equal(new URL(page.url()).pathname, '/login', 'signed out');

    const redirectUri = client.redirect_uris[0];
    const signIn = async (extra) => {
      const secrets = newRequestSecrets();
      await page.goto(authorizationUrl(ISSUER, {
        clientId: client.client_id, redirectUri, scope: 'openid', secrets, extra,
      }));
      return secrets;
    };
    const claimsAt = async (secrets) => {
      assert.ok(page.url().startsWith(redirectUri), `ended at ${page.url()}`);
      const callback = new URL(page.url());
      assert.equal(callback.searchParams.get('error'), null, callback.searchParams.get('error_description'));
      const tokens = await exchangeCode(ISSUER, {
        client, code: callback.searchParams.get('code'), redirectUri, verifier: secrets.verifier,
      });
      return verifyIdToken(ISSUER, tokens.id_token, client.client_id);
    };

    // The portal's sign-in with the password: level 2.
    let secrets = await signIn({});
    assert.equal(new URL(page.url()).pathname, '/login');
    await typeCredentials(page, { username, password: PASSWORD });
    await submit(page, page.getByRole('button', { name: 'Sign in' }).first());
    const first = await claimsAt(secrets);
    assert.equal(first.sub, stepUpAccount.account_id);
    assert.equal(first.acr, 'urn:portico:loa:2');
    assert.deepEqual(first.amr, ['pwd']);
    assert.ok(first.sid, 'a sid');

    // The portal asks for level 3: the passkey is offered, the password is not.
    secrets = await signIn({ acr_values: 'urn:portico:loa:3' });
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await page.locator('input[name="password"]').count(), 0, 'no password form');
    const link = page.getByRole('link', { name: 'Passkey' });
    await link.waitFor({ state: 'visible' });
    await submit(page, link);
    assert.match(new URL(page.url()).pathname, /^\/login\/passkey/);
    await submit(page, page.getByRole('button', { name: 'Sign in with a passkey' }));
    const stepped = await claimsAt(secrets);
    assert.equal(stepped.acr, 'urn:portico:loa:3');
    assert.ok(stepped.amr.includes('pwd'), `amr ${stepped.amr}`);
    assert.ok(stepped.amr.includes('hwk') || stepped.amr.includes('swk'), `amr ${stepped.amr}`);
    assert.ok(stepped.amr.includes('user'), `amr ${stepped.amr}`);
    assert.ok(stepped.amr.includes('mfa'), `amr ${stepped.amr}`);
    assert.equal(stepped.sub, first.sub, 'the same person');
    assert.equal(stepped.sid, first.sid, 'the same session');
    assertClean(watch);
  });

  test('the username field offers passkeys (conditional mediation) and one signs in', async () => {
    const username = 'citizen-autofill';
    const autofillAccount = JSON.parse(await portico.cli([
      'account', 'add', '--username', username, '--password-stdin', '--name', 'Autofill Citizen',
      '--json',
    ], PASSWORD));
    // A passkey registered in one browser (typing the password there: see withoutAutofill),
    // then copied into a second browser's virtual authenticator.
    const setup = await suite.newBrowser(ISSUER);
    const registering = await virtualAuthenticator(setup);
    await withoutAutofill(setup.page);
    await setup.page.goto(`${ISSUER}/account`);
    assert.equal(
      await setup.page.locator('input[name="username"]').getAttribute('autocomplete'),
      'username webauthn',
      'a passkey is offered: the username field lists passkeys too',
    );
    await typeCredentials(setup.page, { username, password: PASSWORD });
    await submit(setup.page, setup.page.getByRole('button', { name: 'Sign in' }).first());
    await submit(setup.page, setup.page.getByRole('button', { name: 'Add a passkey' }));
    await setup.page.getByLabel('Name of the passkey').fill('Máy tính bảng');
    await submit(setup.page, setup.page.getByRole('button', { name: 'Create the passkey' }));
    assert.match(await setup.page.locator('main').innerText(), /Máy tính bảng/);
    const { credentials } = await registering.cdp.send('WebAuthn.getCredentials', {
      authenticatorId: registering.authenticatorId,
    });
    assert.equal(credentials.length, 1);
    assertClean(setup);

    const watch = await suite.newBrowser(ISSUER);
    const { page } = watch;
    const { cdp, authenticatorId } = await virtualAuthenticator(watch);
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: credentials[0] });
    // What passkey.js asks navigator.credentials.get for (the mediation, the challenge),
    // and what the conditional endpoint answered it.
    await page.addInitScript(() => {
      sessionStorage.passkeyCalls ??= '[]';
      const record = (key, value) => {
        const list = JSON.parse(sessionStorage[key] ?? '[]');
        list.push(value);
        sessionStorage[key] = JSON.stringify(list);
      };
      const get = navigator.credentials.get.bind(navigator.credentials);
      navigator.credentials.get = (options) => {
        const bytes = new Uint8Array(options.publicKey.challenge);
        const challenge = btoa(String.fromCharCode(...bytes))
          .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        record('passkeyCalls', { mediation: options.mediation ?? null, challenge });
        return get(options);
      };
      const fetch = window.fetch.bind(window);
      window.fetch = (url, init) => fetch(url, init).then((response) => {
        return response.clone().json().then((body) => {
          record('passkeyBegun', { url: String(url), body });
          return response;
        });
      });
    });

    // A portal's sign-in: the login page's autofill request, which the virtual
    // authenticator answers by itself with its passkey (no click), signs in.
    const secrets = newRequestSecrets();
    const redirectUri = client.redirect_uris[0];
    await page.goto(authorizationUrl(ISSUER, {
      clientId: client.client_id, redirectUri, scope: 'openid', secrets,
    }));
    await page.waitForURL((url) => url.href.startsWith(redirectUri), { timeout: 10_000 });
    const callback = new URL(page.url());
    assert.equal(callback.searchParams.get('error'), null, callback.searchParams.get('error_description'));
    const tokens = await exchangeCode(ISSUER, {
      client, code: callback.searchParams.get('code'), redirectUri, verifier: secrets.verifier,
    });
    const claims = await verifyIdToken(ISSUER, tokens.id_token, client.client_id);
    assert.equal(claims.sub, autofillAccount.account_id);
    assert.ok(claims.amr.includes('hwk') || claims.amr.includes('swk'), `amr ${claims.amr}`);
    assert.ok(claims.amr.includes('user'), `amr ${claims.amr}`);
    assert.equal(claims.acr, 'urn:portico:loa:3');

    // Back on Portico's origin to read what was recorded there.
    await page.goto(`${ISSUER}/static/passkey.js`);
    const calls = JSON.parse(await page.evaluate(() => sessionStorage.passkeyCalls ?? '[]'));
    const begun = JSON.parse(await page.evaluate(() => sessionStorage.passkeyBegun ?? '[]'));
    assert.equal(calls.length, 1, 'one conditional request');
    assert.equal(calls[0].mediation, 'conditional');
    assert.equal(begun.length, 1, 'one conditional attempt');
    assert.match(begun[0].url, /\/login\/passkey\/conditional$/);
    assert.equal(begun[0].body.options.mediation, 'conditional');
    assert.equal(calls[0].challenge, begun[0].body.options.publicKey.challenge, 'the server\'s challenge');
    assertClean(watch);
  });
});
