// RP-Initiated Logout 1.0 in headless Chromium: `/end_session` with and without an
// `id_token_hint` of the session, the confirmation page and its two answers, the
// redirect back with `state`, Front-Channel Logout 1.0 iframes, and that the session is
// gone afterwards (the next authorization request shows the login page); and, like the
// cross-site logout POST, a portal's cross-site POST to `/authorize` keeping the cookies.
//
// Run: cd tests/browser && npm ci && npm test   (PORTICO_BIN overrides the binary)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertClean, authorizationUrl, browserSuite, cookieNames, exchangeCode, navigationPaths,
  newRequestSecrets, signInThrough, submit, verifyIdToken,
} from './lib/browser.mjs';

const USERNAME = 'citizen-logout';
const PASSWORD = 'a-long-logout-password-7';
const SESSION = '__Host-portico_session';
const BROWSER = '__Host-portico_browser';
const LOGOUT = '__Host-portico_logout';

let portico;
let rp;
let account;
const clients = {};
const suite = browserSuite();
const newBrowser = suite.newBrowser;

/**
 * Sign in through the browser for a client (login page, consent the first time) and
 * exchange the code as the RP does; returns the tokens and the ID token's claims.
 */
async function signIn(watch, clientName) {
  const client = clients[clientName];
  const secrets = newRequestSecrets();
  const redirectUri = client.redirect_uris[0];
  const url = authorizationUrl(portico.issuer, {
    clientId: client.client_id, redirectUri, scope: 'openid', secrets,
  });
  const { callback, shown } = await signInThrough(watch, portico.issuer, {
    url, username: USERNAME, password: PASSWORD, redirectUri,
  });
  assert.equal(callback.searchParams.get('state'), secrets.state);
  assert.equal(callback.searchParams.get('iss'), portico.issuer);
  const tokens = await exchangeCode(portico.issuer, {
    client, code: callback.searchParams.get('code'), redirectUri, verifier: secrets.verifier,
  });
  const claims = await verifyIdToken(portico.issuer, tokens.id_token, client.client_id);
  assert.equal(claims.nonce, secrets.nonce);
  assert.equal(claims.sub, account.account_id);
  return { tokens, claims, shown };
}

/** A new authorization request in this browser: which Portico page does it show? */
async function nextAuthorizationShows(watch, clientName) {
  const client = clients[clientName];
  const url = authorizationUrl(portico.issuer, {
    clientId: client.client_id, redirectUri: client.redirect_uris[0], scope: 'openid',
    secrets: newRequestSecrets(),
  });
  await watch.page.goto(url);
  const here = new URL(watch.page.url());
  return here.origin === portico.issuer ? here.pathname : here.origin + here.pathname;
}

function endSessionUrl(params) {
  const url = new URL('/end_session', portico.issuer);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

async function userinfoStatus(accessToken) {
  const res = await fetch(`${portico.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  return res.status;
}

describe('RP-initiated logout in headless Chromium', { timeout: 120_000 }, () => {
  before(async () => {
    ({ portico, rp } = await suite.start());
    const add = async (id, ...extra) => {
      clients[id] = JSON.parse(await portico.cli(['client', 'add', '--client-id', id, '--json', ...extra]));
    };
    await add('logout-rp', '--name', 'Logout test portal', '--first-party',
      '--redirect-uri', `${rp.origin}/cb`, '--post-logout-redirect-uri', `${rp.origin}/signed-out`);
    await add('logout-fc', '--name', 'Front-channel portal', '--first-party',
      '--redirect-uri', `${rp.origin}/fc-cb`, '--post-logout-redirect-uri', `${rp.origin}/fc-signed-out`,
      '--frontchannel-logout-uri', `${rp.origin}/frontchannel`);
    account = JSON.parse(await portico.cli([
      'account', 'add', '--username', USERNAME, '--password-stdin', '--json',
    ], PASSWORD));
  });

  after(() => suite.stop());

  test('id_token_hint of this session: signed out at once, back at post_logout_redirect_uri with state; the next request shows the login page', async () => {
    const watch = await newBrowser();
    const { page, context } = watch;
    const { tokens } = await signIn(watch, 'logout-rp');
    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER, SESSION]);
    assert.equal(await userinfoStatus(tokens.access_token), 200);

    watch.navigations.length = 0;
    const state = 'after-logout-1';
    await page.goto(endSessionUrl({
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: `${rp.origin}/signed-out`,
      state,
    }));
    // The hint's sid is this session's: no confirmation page, straight back to the RP.
    assert.deepEqual(navigationPaths(watch), [`${portico.issuer}/end_session`, `${rp.origin}/signed-out`]);
    const back = new URL(page.url());
    assert.equal(back.origin + back.pathname, `${rp.origin}/signed-out`);
    assert.equal(back.searchParams.get('state'), state);
    assert.equal(await page.locator('h1').innerText(), 'Relying party');

    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER], 'the session cookie is cleared');
    assert.equal(await userinfoStatus(tokens.access_token), 401, 'the session\'s access token is revoked');
    assert.equal(await nextAuthorizationShows(watch, 'logout-rp'), '/login', 'the session is gone');
    assertClean(watch);
  });

  test('without id_token_hint: the confirmation page; "Sign out" ends the session and returns with state', async () => {
    const watch = await newBrowser();
    const { page, context } = watch;
    const { tokens } = await signIn(watch, 'logout-rp');

    const state = 'after-logout-2';
    const res = await page.goto(endSessionUrl({
      client_id: 'logout-rp',
      post_logout_redirect_uri: `${rp.origin}/signed-out`,
      state,
    }));
    assert.equal(res.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/end_session', 'Portico asks first');
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Sign out of Portico?');
    assert.match(await page.locator('main .lead').innerText(), /Logout test portal asks to sign you out/);
    assert.equal(await page.getByRole('alert').count(), 0, 'the return address is registered');
    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER, LOGOUT, SESSION], 'nothing ended yet; the confirmation has its own cookie');
    assert.equal(await userinfoStatus(tokens.access_token), 200);

    await submit(page, page.getByRole('button', { name: 'Sign out' }));
    const back = new URL(page.url());
    assert.equal(back.origin + back.pathname, `${rp.origin}/signed-out`);
    assert.equal(back.searchParams.get('state'), state);
    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER]);
    assert.equal(await userinfoStatus(tokens.access_token), 401);
    assert.equal(await nextAuthorizationShows(watch, 'logout-rp'), '/login');
    assertClean(watch);
  });

  test('the confirmation page: a forged token is refused, "Stay signed in" keeps the session, an unregistered return address is not followed', async () => {
    const watch = await newBrowser();
    const { page, context } = watch;
    const { tokens } = await signIn(watch, 'logout-rp');
    const confirm = endSessionUrl({
      client_id: 'logout-rp', post_logout_redirect_uri: `${rp.origin}/signed-out`, state: 's3',
    });

    await page.goto(confirm);
    await page.evaluate(() => { document.querySelector('form[action="/logout"] input[name=csrf]').value = 'forged'; });
    const forged = await submit(page, page.getByRole('button', { name: 'Sign out' }));
    assert.equal(forged.status(), 403);
    assert.equal(await page.locator('code').innerText(), 'csrf_token_invalid');
    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER, LOGOUT, SESSION], 'a forged post spoils nothing');
    assert.equal(await userinfoStatus(tokens.access_token), 200, 'the session goes on');

    await page.goto(confirm);
    await submit(page, page.getByRole('button', { name: 'Stay signed in' }));
    assert.equal(new URL(page.url()).origin, portico.issuer, 'no return to the portal');
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'You are still signed in');
    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER, SESSION], 'answered: the confirmation cookie is cleared');
    assert.equal(await userinfoStatus(tokens.access_token), 200);
    // Still signed in: SSO, straight back to the portal.
    assert.equal(await nextAuthorizationShows(watch, 'logout-rp'), `${rp.origin}/cb`);

    // A return address the portal did not register: the page says so, and after
    // "Sign out" the browser stays on Portico.
    const seen = rp.hits('/elsewhere').length;
    await page.goto(endSessionUrl({
      client_id: 'logout-rp', post_logout_redirect_uri: `${rp.origin}/elsewhere`, state: 's4',
    }));
    assert.match(await page.getByRole('alert').innerText(), /not registered for it: you will stay on this site/);
    await submit(page, page.getByRole('button', { name: 'Sign out' }));
    assert.equal(new URL(page.url()).origin, portico.issuer);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'You are signed out');
    assert.equal(await page.locator(`[href^="${rp.origin}"], meta[http-equiv]`).count(), 0, 'no way back to it');
    assert.equal(rp.hits('/elsewhere').length, seen);
    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER]);
    assert.equal(await nextAuthorizationShows(watch, 'logout-rp'), '/login');
    assertClean(watch);
  });

  /** The portal's page with a logout form POSTed to Portico (a cross-site POST). */
  function logoutForm(path, fields) {
    const inputs = Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('');
    rp.setPage(path, `<form method="post" action="${portico.issuer}/end_session">${inputs}`
      + '<button type="submit">Log out of the portal</button></form>');
    return `${rp.origin}${path}`;
  }

  test('POST from the portal\'s page: Chromium sends no SameSite=Lax cookie cross-site, so Portico asks, with the browser cookie untouched; "Sign out" returns with state', async () => {
    const watch = await newBrowser();
    const { page, context } = watch;
    const { tokens } = await signIn(watch, 'logout-rp');
    const before = (await context.cookies(portico.issuer)).find((c) => c.name === BROWSER).value;
    const state = 'after-post-logout';
    await page.goto(logoutForm('/logout-form', {
      id_token_hint: tokens.id_token, post_logout_redirect_uri: `${rp.origin}/signed-out`, state,
    }));
    const res = await submit(page, page.getByRole('button', { name: 'Log out of the portal' }));
    assert.equal(res.request().method(), 'POST');
    assert.equal(res.status(), 200, 'a page: no redirect carries the ID token into a URL');
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Sign out of Portico?');
    assert.equal(await userinfoStatus(tokens.access_token), 200, 'nothing ended yet');
    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER, LOGOUT, SESSION]);

    await submit(page, page.getByRole('button', { name: 'Sign out' }));
    const back = new URL(page.url());
    assert.equal(back.origin + back.pathname, `${rp.origin}/signed-out`);
    assert.equal(back.searchParams.get('state'), state);
    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER], 'the confirmation cookie is cleared');
    const afterwards = (await context.cookies(portico.issuer)).find((c) => c.name === BROWSER).value;
    assert.equal(afterwards, before, 'the browser cookie is unchanged');
    assert.equal(await userinfoStatus(tokens.access_token), 401);
    assert.equal(await nextAuthorizationShows(watch, 'logout-rp'), '/login');
    assertClean(watch);
  });

  test('a declined cross-site logout POST leaves a sign-in pending in another tab working', async () => {
    const watch = await newBrowser();
    const { page, context } = watch;
    const { tokens } = await signIn(watch, 'logout-rp');
    const before = (await context.cookies(portico.issuer)).find((c) => c.name === BROWSER).value;

    // Another tab: a sign-in forced with prompt=login, left on the login page.
    const other = await context.newPage();
    const client = clients['logout-fc'];
    const secrets = newRequestSecrets();
    await other.goto(authorizationUrl(portico.issuer, {
      clientId: client.client_id, redirectUri: client.redirect_uris[0], scope: 'openid', secrets,
      extra: { prompt: 'login' },
    }));
    assert.equal(new URL(other.url()).pathname, '/login');

    // The portal POSTs a logout; the person answers "Stay signed in".
    await page.goto(logoutForm('/logout-form-2', {
      id_token_hint: tokens.id_token, post_logout_redirect_uri: `${rp.origin}/signed-out`,
    }));
    await submit(page, page.getByRole('button', { name: 'Log out of the portal' }));
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Sign out of Portico?');
    await submit(page, page.getByRole('button', { name: 'Stay signed in' }));
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'You are still signed in');
    assert.equal(await userinfoStatus(tokens.access_token), 200, 'nothing ended');
    const afterwards = (await context.cookies(portico.issuer)).find((c) => c.name === BROWSER).value;
    assert.equal(afterwards, before, 'the browser cookie is unchanged');

    // The other tab's sign-in goes on.
    await other.getByLabel('Username').fill(USERNAME);
    await other.getByLabel('Password').fill(PASSWORD);
    const res = await submit(other, other.getByRole('button', { name: 'Sign in' }));
    await other.close();
    assert.equal(res.status(), 200, `the pending sign-in completes (got ${res.status()} at ${res.url()})`);
    assert.ok(res.url().startsWith(client.redirect_uris[0]));
    assertClean(watch);
  });

  test('a cross-site POST to /authorize is moved to a GET, which carries the cookies: the browser cookie is kept and a sign-in pending in another tab still works', async () => {
    const watch = await newBrowser();
    const { page, context } = watch;
    await signIn(watch, 'logout-rp');
    const before = (await context.cookies(portico.issuer)).find((c) => c.name === BROWSER).value;

    // Another tab: a sign-in forced with prompt=login, left on the login page.
    const other = await context.newPage();
    const fc = clients['logout-fc'];
    await other.goto(authorizationUrl(portico.issuer, {
      clientId: fc.client_id, redirectUri: fc.redirect_uris[0], scope: 'openid',
      secrets: newRequestSecrets(), extra: { prompt: 'login' },
    }));
    assert.equal(new URL(other.url()).pathname, '/login');

    // The portal's page posts its authorization request as a form.
    const client = clients['logout-rp'];
    const secrets = newRequestSecrets();
    const request = new URL(authorizationUrl(portico.issuer, {
      clientId: client.client_id, redirectUri: client.redirect_uris[0], scope: 'openid', secrets,
    }));
    const inputs = [...request.searchParams]
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('');
    rp.setPage('/authorize-form', `<form method="post" action="${portico.issuer}/authorize">${inputs}`
      + '<button type="submit">Sign in with Portico</button></form>');
    await page.goto(`${rp.origin}/authorize-form`);
    await submit(page, page.getByRole('button', { name: 'Sign in with Portico' }));
    const back = new URL(page.url());
    assert.equal(back.origin + back.pathname, client.redirect_uris[0], 'signed in already: back with a code');
    assert.ok(back.searchParams.get('code'));
    assert.equal(back.searchParams.get('state'), secrets.state);
    const afterwards = (await context.cookies(portico.issuer)).find((c) => c.name === BROWSER).value;
    assert.equal(afterwards, before, 'the browser cookie is unchanged');

    await other.getByLabel('Username').fill(USERNAME);
    await other.getByLabel('Password').fill(PASSWORD);
    const res = await submit(other, other.getByRole('button', { name: 'Sign in' }));
    await other.close();
    assert.equal(res.status(), 200, `the pending sign-in completes (got ${res.status()} at ${res.url()})`);
    assert.ok(res.url().startsWith(fc.redirect_uris[0]));
    assertClean(watch);
  });

  test('front-channel logout: the signed-out page frames the portal\'s frontchannel_logout_uri with iss and sid, then returns with state', async () => {
    const watch = await newBrowser();
    const { page, context } = watch;
    // One session, two portals: only the one with a frontchannel_logout_uri is framed.
    const fc = await signIn(watch, 'logout-fc');
    assert.deepEqual(fc.shown, ['login']);
    const plain = await signIn(watch, 'logout-rp');
    assert.deepEqual(plain.shown, [], 'SSO for the second portal');
    assert.notEqual(plain.claims.sid, fc.claims.sid, 'each portal has its own sid');

    const framed = page.waitForEvent('framenavigated', {
      predicate: (f) => f !== page.mainFrame() && f.url().startsWith(`${rp.origin}/frontchannel`),
    });
    const state = 'after-fc-logout';
    const res = await page.goto(endSessionUrl({
      id_token_hint: fc.tokens.id_token,
      post_logout_redirect_uri: `${rp.origin}/fc-signed-out`,
      state,
    }));
    assert.equal(res.status(), 200, 'a page, not a redirect: it must load the iframes');
    // The page refreshes to the portal 2 s after it (and its iframes) loaded: read it in
    // one go, now.
    const shown = await page.evaluate(() => ({
      h1: document.querySelector('h1')?.textContent,
      iframes: [...document.querySelectorAll('iframe')].map((f) => f.getAttribute('src')),
      refresh: document.querySelector('meta[http-equiv=refresh]')?.getAttribute('content'),
      link: [...document.querySelectorAll('a')].find((a) => a.textContent === 'Return to the portal')?.getAttribute('href'),
    }));
    assert.equal(shown.h1, 'You are signed out');
    const csp = res.headers()['content-security-policy'];
    assert.match(csp, new RegExp(`; frame-src ${rp.origin}$`), `only the portal's origin may be framed: ${csp}`);
    assert.match(csp, /frame-ancestors 'none'/);

    assert.equal(shown.iframes.length, 1, `one iframe: ${shown.iframes}`);
    const src = new URL(shown.iframes[0]);
    assert.equal(src.origin + src.pathname, `${rp.origin}/frontchannel`);
    assert.equal(src.searchParams.get('iss'), portico.issuer);
    assert.equal(src.searchParams.get('sid'), fc.claims.sid);
    const returnTo = `${rp.origin}/fc-signed-out?state=${state}`;
    assert.equal(shown.link, returnTo);
    assert.equal(shown.refresh, `2;url=${returnTo}`);

    // Chromium loaded the iframe, and the portal's server was called with iss and sid.
    const frame = await framed;
    assert.equal(new URL(frame.url()).searchParams.get('sid'), fc.claims.sid);
    const hits = rp.hits('/frontchannel');
    assert.equal(hits.length, 1);
    assert.equal(hits[0].searchParams.get('iss'), portico.issuer);
    assert.equal(hits[0].searchParams.get('sid'), fc.claims.sid);

    // Then back to the portal (the page's refresh), with the state.
    await page.waitForURL(`${rp.origin}/fc-signed-out?**`);
    assert.equal(new URL(page.url()).searchParams.get('state'), state);

    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER]);
    assert.equal(await userinfoStatus(fc.tokens.access_token), 401);
    assert.equal(await userinfoStatus(plain.tokens.access_token), 401, 'both portals\' tokens are revoked');
    assert.equal(await nextAuthorizationShows(watch, 'logout-fc'), '/login');
    assertClean(watch);
  });
});
