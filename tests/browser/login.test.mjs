// Portico's sign-in pages in headless Chromium: the code flow as a person goes through
// it (login, consent, redirect), SSO, a wrong password, the cookies as the browser
// keeps them, CSRF refusals, the error page for an untrusted redirect URI, and the
// pages' Content-Security-Policy.
//
// Run: cd tests/browser && npm ci && npm test   (PORTICO_BIN overrides the binary)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  assertClean, authorizationUrl, browserSuite, cookieNames, exchangeCode, htmlDocuments,
  navigationPaths, newRequestSecrets, signInThrough, submit, typeCredentials, verifyIdToken,
} from './lib/browser.mjs';

const USERNAME = 'citizen-browser';
const PASSWORD = 'a-long-browser-password-42';
const SESSION = '__Host-portico_session';
const BROWSER = '__Host-portico_browser';
const SCOPE = 'openid profile email national_id';
// What the consent page says for each scope of SCOPE (src/http/pages.rs, describe_scope).
const SCOPE_TEXTS = [
  'Know who you are (a login identifier)',
  'See your name, date of birth, gender and other profile details (picture, language, time zone)',
  'See your email address',
  'See your national identification number, place of birth and nationality (and tax code for businesses)',
];
const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

let portico;
let rp;
let account;
const clients = {};
const suite = browserSuite();
const newBrowser = suite.newBrowser;

/** An authorization request for a registered client, with fresh PKCE, state and nonce. */
function request(clientName, { scope = SCOPE, extra } = {}) {
  const client = clients[clientName];
  const secrets = newRequestSecrets();
  const redirectUri = client.redirect_uris[0];
  return {
    client, secrets, redirectUri,
    url: authorizationUrl(portico.issuer, { clientId: client.client_id, redirectUri, scope, secrets, extra }),
  };
}

/** The RP's side of the callback: the authorization response, then the code exchange. */
async function finish(req, callback) {
  assert.equal(callback.origin + callback.pathname, req.redirectUri);
  assert.equal(callback.searchParams.get('error'), null, `error: ${callback.searchParams.get('error_description')}`);
  assert.equal(callback.searchParams.get('state'), req.secrets.state, 'the same state');
  assert.equal(callback.searchParams.get('iss'), portico.issuer, 'RFC 9207 iss');
  const code = callback.searchParams.get('code');
  assert.ok(code, 'a code');
  const tokens = await exchangeCode(portico.issuer, {
    client: req.client, code, redirectUri: req.redirectUri, verifier: req.secrets.verifier,
  });
  const claims = await verifyIdToken(portico.issuer, tokens.id_token, req.client.client_id);
  assert.equal(claims.nonce, req.secrets.nonce, 'the same nonce');
  assert.equal(claims.sub, account.account_id, 'public sub = the account id');
  return { code, tokens, claims };
}

describe('Portico sign-in pages in headless Chromium', { timeout: 120_000 }, () => {
  before(async () => {
    ({ portico, rp } = await suite.start());
    const add = async (id, ...extra) => {
      clients[id] = JSON.parse(await portico.cli(['client', 'add', '--client-id', id, '--json', ...extra]));
    };
    await add('browser-rp', '--name', 'Browser test portal', '--redirect-uri', `${rp.origin}/cb`);
    await add('browser-first', '--name', 'First-party portal', '--first-party',
      '--redirect-uri', `${rp.origin}/first-cb`);
    account = JSON.parse(await portico.cli([
      'account', 'add', '--username', USERNAME, '--password-stdin',
      '--name', 'Browser Citizen', '--email', 'citizen@example.gov', '--national-id', '001099000042',
      '--json',
    ], PASSWORD));
  });

  after(() => suite.stop());

  // Shared by the tests below it: the browser that signed in first.
  let signedIn;
  let first;

  test('code flow: the person signs in and allows on Portico\'s pages; the RP gets code, state and iss, and an ID token with its nonce', async () => {
    const watch = await newBrowser();
    const { page } = watch;
    const req = request('browser-rp');

    const landing = await page.goto(req.url);
    assert.equal(landing.status(), 200);
    assert.match(page.url(), new RegExp(`^${portico.issuer}/login\\?request=`));
    assert.equal(await page.title(), 'Sign in · Portico');
    await assert.doesNotReject(page.getByRole('heading', { name: 'Sign in' }).waitFor());
    assert.match(await page.locator('main .lead').innerText(), /to continue to Browser test portal/);
    assert.equal(await page.getByRole('alert').count(), 0, 'no error shown yet');

    await typeCredentials(page, { username: USERNAME, password: PASSWORD });
    await submit(page, page.getByRole('button', { name: 'Sign in' }));

    assert.match(page.url(), new RegExp(`^${portico.issuer}/consent\\?request=`));
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Share your information?');
    assert.match(await page.locator('main .lead').innerText(), /Browser test portal asks to:/);
    assert.deepEqual(
      (await page.locator('ul.scopes li').allInnerTexts()).sort(),
      [...SCOPE_TEXTS].sort(),
      'the consent page lists each requested scope',
    );
    await submit(page, page.getByRole('button', { name: 'Allow' }));

    const callback = new URL(page.url());
    assert.equal(await page.locator('h1').innerText(), 'Relying party', 'the browser shows the RP\'s page');
    assert.deepEqual(rp.hits('/cb').map((u) => u.searchParams.get('code')), [callback.searchParams.get('code')],
      'the RP\'s server received the code');
    assert.deepEqual(navigationPaths(watch), [
      `${portico.issuer}/authorize`,
      `${portico.issuer}/login`, `${portico.issuer}/login`, // GET the page, POST the form
      `${portico.issuer}/consent`, `${portico.issuer}/consent`,
      `${rp.origin}/cb`,
    ]);

    const { claims, tokens } = await finish(req, callback);
    assert.equal(claims.acr, 'urn:portico:loa:2');
    assert.ok(claims.amr.includes('pwd'), `amr ${claims.amr}`);
    assert.ok(claims.sid, 'sid');
    assert.ok(tokens.access_token);
    assertClean(watch);
    signedIn = watch;
    first = claims;
  });

  test('SSO: a second authorization request in the same browser returns a code at once, with no login page', async () => {
    assert.ok(signedIn, 'needs the signed-in browser of the previous test');
    const watch = signedIn;
    const { page } = watch;

    // The same client: consent was given for these scopes, so no page at all.
    watch.navigations.length = 0;
    const again = request('browser-rp');
    await page.goto(again.url);
    assert.deepEqual(navigationPaths(watch), [`${portico.issuer}/authorize`, `${rp.origin}/cb`]);
    const second = await finish(again, new URL(page.url()));
    assert.equal(second.claims.sid, first.sid, 'the same session');
    assert.equal(second.claims.auth_time, first.auth_time, 'no new authentication');
    assert.notEqual(second.claims.nonce, first.nonce);

    // Another portal (first-party: no consent) in the same browser: straight back too.
    watch.navigations.length = 0;
    const other = request('browser-first');
    await page.goto(other.url);
    assert.deepEqual(navigationPaths(watch), [`${portico.issuer}/authorize`, `${rp.origin}/first-cb`]);
    const third = await finish(other, new URL(page.url()));
    assert.equal(third.claims.auth_time, first.auth_time, 'the same sign-in');
    assertClean(watch);
  });

  test('cookies as Chromium keeps them: __Host- prefixed, Secure, HttpOnly, Path=/, SameSite=Lax, host-only', async () => {
    assert.ok(signedIn, 'needs the signed-in browser of the first test');
    const { context, page } = signedIn;
    const cookies = await context.cookies(portico.issuer);
    assert.deepEqual(cookies.map((c) => c.name).sort(), [BROWSER, SESSION]);
    for (const c of cookies) {
      assert.ok(c.name.startsWith('__Host-'), c.name);
      assert.equal(c.secure, true, `${c.name} Secure`);
      assert.equal(c.httpOnly, true, `${c.name} HttpOnly`);
      assert.equal(c.path, '/', `${c.name} Path=/`);
      assert.equal(c.sameSite, 'Lax', `${c.name} SameSite`);
      // Host-only (no Domain attribute): Playwright shows the host without a leading dot.
      assert.equal(c.domain, '127.0.0.1', `${c.name} host-only`);
      assert.equal(c.expires, -1, `${c.name} is a browser-session cookie`);
      assert.match(c.value, /^[A-Za-z0-9_-]{43}$/, `${c.name} holds 256 random bits`);
    }
    // Nothing for the relying party's origin came from Portico.
    assert.deepEqual(await context.cookies(rp.origin), []);
    // HttpOnly: a script on Portico's own page cannot read them.
    await page.goto(`${portico.issuer}/account`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Your account');
    assert.equal(await page.evaluate(() => document.cookie), '');
    assertClean(signedIn);
  });

  test('wrong password: the login page shows the error, keeps the request and the username, and the retry signs in', async () => {
    const watch = await newBrowser();
    const { page, context } = watch;
    const req = request('browser-first');
    await page.goto(req.url);
    const requestId = new URL(page.url()).searchParams.get('request');
    assert.ok(requestId);

    await typeCredentials(page, { username: USERNAME, password: 'not-the-password' });
    const refused = await submit(page, page.getByRole('button', { name: 'Sign in' }));
    assert.equal(refused.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/login', 'still on the login page');
    assert.equal(
      await page.getByRole('alert').innerText(),
      'Username and password: the username or password is incorrect',
    );
    assert.equal(await page.getByLabel('Username').inputValue(), USERNAME, 'the username is kept');
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password is not echoed');
    assert.equal(await page.locator('input[name=request]').inputValue(), requestId, 'the same pending request');
    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER], 'no session');
    assert.equal(rp.hits('/first-cb').filter((u) => u.searchParams.get('state') === req.secrets.state).length, 0);

    // Retry on the same page: only the password is typed again.
    await typeCredentials(page, { password: PASSWORD });
    await submit(page, page.getByRole('button', { name: 'Sign in' }));
    await finish(req, new URL(page.url()));
    assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER, SESSION]);
    assertClean(watch);
  });

  test('CSRF: a login form with a tampered, missing or another browser\'s token is refused with no session; the untouched form works', async () => {
    const attacker = await newBrowser();
    const watch = await newBrowser();
    const { page, context } = watch;

    const refusedWith = async (tamper) => {
      const req = request('browser-first');
      await page.goto(req.url);
      assert.equal(new URL(page.url()).pathname, '/login');
      await page.evaluate(tamper.fn, tamper.arg);
      await typeCredentials(page, { username: USERNAME, password: PASSWORD });
      const res = await submit(page, page.getByRole('button', { name: 'Sign in' }));
      assert.equal(res.status(), 403, `${tamper.name}: refused`);
      assert.equal(res.request().method(), 'POST');
      assert.equal(new URL(page.url()).origin, portico.issuer, 'stays on Portico');
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'The form could not be accepted');
      assert.match(await page.getByRole('alert').innerText(), /security token is missing or invalid \(CSRF\)/);
      assert.equal(await page.locator('code').innerText(), 'csrf_token_invalid');
      assert.deepEqual(await cookieNames(context, portico.issuer), [BROWSER], `${tamper.name}: no session cookie`);
      assert.equal(rp.hits('/first-cb').filter((u) => u.searchParams.get('state') === req.secrets.state).length, 0);
    };

    await refusedWith({
      name: 'tampered token',
      fn: () => {
        const input = document.querySelector('form[action="/login"] input[name=csrf]');
        const v = input.value;
        input.value = (v[0] === 'A' ? 'B' : 'A') + v.slice(1);
      },
    });
    await refusedWith({
      name: 'no token',
      fn: () => document.querySelector('form[action="/login"] input[name=csrf]').remove(),
    });
    // Login CSRF: the attacker's own valid form (request and token) submitted from the
    // victim's browser. The token is bound to the attacker's browser cookie.
    const bait = request('browser-first');
    await attacker.page.goto(bait.url);
    const stolen = {
      request: await attacker.page.locator('input[name=request]').inputValue(),
      csrf: await attacker.page.locator('input[name=csrf]').inputValue(),
    };
    await refusedWith({
      name: 'another browser\'s form',
      fn: ({ request: r, csrf }) => {
        document.querySelector('form[action="/login"] input[name=request]').value = r;
        document.querySelector('form[action="/login"] input[name=csrf]').value = csrf;
      },
      arg: stolen,
    });

    // The same steps with the form left alone sign in: the token was the only difference.
    const req = request('browser-first');
    const { callback, shown } = await signInThrough(watch, portico.issuer, {
      url: req.url, username: USERNAME, password: PASSWORD, redirectUri: req.redirectUri,
    });
    assert.deepEqual(shown, ['login']);
    await finish(req, callback);

    // Consent has its own token: a tampered one is refused and no code reaches the RP.
    const ask = request('browser-rp', { scope: 'openid phone' });
    await page.goto(ask.url);
    assert.equal(new URL(page.url()).pathname, '/consent', 'signed in, new scopes: consent');
    await page.evaluate(() => { document.querySelector('form[action="/consent"] input[name=csrf]').value = 'forged'; });
    const res = await submit(page, page.getByRole('button', { name: 'Allow' }));
    assert.equal(res.status(), 403);
    assert.equal(await page.locator('code').innerText(), 'csrf_token_invalid');
    assert.equal(rp.hits('/cb').filter((u) => u.searchParams.get('state') === ask.secrets.state).length, 0);
    assertClean(watch);
    assertClean(attacker);
  });

  test('untrusted redirect: an unknown client or an unregistered redirect_uri shows Portico\'s error page and never redirects', async () => {
    const watch = await newBrowser();
    const { page } = watch;
    const secrets = newRequestSecrets();
    const cases = [
      {
        name: 'unknown client',
        url: authorizationUrl(portico.issuer, {
          clientId: 'no-such-portal', redirectUri: `${rp.origin}/cb`, scope: 'openid', secrets,
        }),
        title: 'Unknown portal',
        message: /not registered with this sign-in service/,
        code: 'invalid_client',
      },
      {
        name: 'redirect_uri not registered',
        url: authorizationUrl(portico.issuer, {
          clientId: 'browser-rp', redirectUri: `${rp.origin}/evil`, scope: 'openid', secrets,
        }),
        title: 'This sign-in link is not valid',
        message: /the `redirect_uri` is not registered for this client/,
        code: 'invalid_request',
      },
      {
        name: 'registered redirect_uri with something added (no prefix match)',
        url: authorizationUrl(portico.issuer, {
          clientId: 'browser-rp', redirectUri: `${rp.origin}/cb?next=/evil`, scope: 'openid', secrets,
        }),
        title: 'This sign-in link is not valid',
        message: /the `redirect_uri` is not registered for this client/,
        code: 'invalid_request',
      },
    ];
    for (const c of cases) {
      const seen = rp.requests.length;
      watch.navigations.length = 0;
      const res = await page.goto(c.url);
      assert.equal(res.status(), 400, c.name);
      assert.deepEqual(navigationPaths(watch), [`${portico.issuer}/authorize`], `${c.name}: no redirect`);
      assert.equal(new URL(page.url()).origin, portico.issuer);
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), c.title, c.name);
      assert.match(await page.getByRole('alert').innerText(), c.message, c.name);
      assert.equal(await page.locator('code').innerText(), c.code, c.name);
      // Nothing on the page leads to the RP: no link, form or refresh.
      assert.equal(await page.locator(`[href^="${rp.origin}"], [action^="${rp.origin}"], meta[http-equiv]`).count(), 0);
      // Give a late redirect (a refresh, a script) the time to happen, then look again.
      await page.waitForTimeout(300);
      assert.equal(new URL(page.url()).origin, portico.issuer, `${c.name}: still on Portico`);
      assert.equal(rp.requests.length, seen, `${c.name}: the RP's server got no request`);
    }

    // By contrast, once client and redirect URI are verified, an error goes back to the RP
    // (here: PKCE `plain`, which Portico refuses), with state and iss.
    const plain = request('browser-rp', { extra: { code_challenge_method: 'plain' } });
    await page.goto(plain.url);
    const back = new URL(page.url());
    assert.equal(back.origin + back.pathname, `${rp.origin}/cb`);
    assert.equal(back.searchParams.get('error'), 'invalid_request');
    assert.equal(back.searchParams.get('state'), plain.secrets.state);
    assert.equal(back.searchParams.get('iss'), portico.issuer);
    assert.equal(back.searchParams.get('code'), null);
    assertClean(watch);
  });

  test('every page is served with the Content-Security-Policy and logs no console error or CSP violation', async () => {
    const watch = await newBrowser();
    const { page } = watch;
    // One of each page: login (and refused login), consent, account, error, not found,
    // logout confirmation, "still signed in".
    const req = request('browser-rp', { scope: 'openid address' });
    await page.goto(req.url);
    await typeCredentials(page, { username: USERNAME, password: 'wrong-password' });
    await submit(page, page.getByRole('button', { name: 'Sign in' }));
    await typeCredentials(page, { password: PASSWORD });
    await submit(page, page.getByRole('button', { name: 'Sign in' }));
    assert.equal(new URL(page.url()).pathname, '/consent');
    await submit(page, page.getByRole('button', { name: 'Allow' }));
    await finish(req, new URL(page.url()));
    await page.goto(`${portico.issuer}/account`);
    await page.goto(`${portico.issuer}/authorize?client_id=no-such-portal`);
    await page.goto(`${portico.issuer}/no-such-page`);
    await page.goto(`${portico.issuer}/end_session?client_id=browser-rp`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Sign out of Portico?');
    await submit(page, page.getByRole('button', { name: 'Stay signed in' }));
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'You are still signed in');

    const docs = htmlDocuments(watch);
    assert.deepEqual(
      docs.map((d) => `${d.status} ${new URL(d.url).pathname}`),
      ['200 /login', '200 /login', '200 /consent', '200 /account', '400 /authorize', '404 /no-such-page',
        '200 /end_session', '200 /logout'],
    );
    // The login and consent forms lead, after their POST, to the portal's redirect URI:
    // Chromium applies form-action to that redirect, so its origin is allowed there.
    const portal = new URL(req.redirectUri).origin;
    for (const d of docs) {
      const where = `${d.status} ${d.url}`;
      const leadsToPortal = ['/login', '/consent'].includes(new URL(d.url).pathname);
      const expected = leadsToPortal ? `${PAGE_CSP} ${portal}` : PAGE_CSP;
      assert.equal(d.headers['content-security-policy'], expected, where);
      assert.equal(d.headers['x-frame-options'], 'DENY', where);
      assert.equal(d.headers['cache-control'], 'no-store', where);
      assert.equal(d.headers['referrer-policy'], 'no-referrer', where);
      assert.equal(d.headers['x-content-type-options'], 'nosniff', where);
    }
    // The stylesheet is same-origin and applied (style-src 'self' lets it through).
    assert.equal(
      await page.locator('header.brand').evaluate((el) => getComputedStyle(el).backgroundColor),
      'rgb(11, 61, 145)',
    );
    assertClean(watch);

    // The watch sees a violation when there is one: an inline script is blocked by the
    // policy (no script-src: default-src 'none'), reported, and does not run.
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.body.append(s);
    });
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate(() => window.__inlineRan ?? false), false, 'inline script blocked');
    assert.equal(watch.cspViolations.length, 1, JSON.stringify(watch.cspViolations));
    assert.equal(watch.cspViolations[0].directive, 'script-src-elem');
    assert.equal(watch.cspViolations[0].disposition, 'enforce');
    assert.ok(watch.console.some((m) => m.type === 'error' && /Content Security Policy/.test(m.text)),
      'and logged as a console error');
  });
});
