// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core), a tiny
// relying party for the browser to land on, and what the RP does over HTTP (PKCE,
// code exchange, ID token check).

import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer } from 'node:http';

import { chromium } from 'playwright-core';

// The interop suite's throwaway Portico (node built-ins only, so no package to install).
import { startPortico } from '../../interop/lib/portico.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** How long one step (a click, a navigation, a wait) may take before the test fails. */
const STEP_TIMEOUT_MS = 10_000;

/**
 * Launch headless Chromium with the flags DESIGN.md lists for the browser tests.
 * The sandbox needs user namespaces, which root in a container usually lacks.
 */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: process.getuid?.() !== 0,
    args: [
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
}

/**
 * What every suite needs: Portico, the relying party's server and Chromium, started at
 * once by `start()` (in `before`); `newBrowser()` opens a watched context; `stop()` (in
 * `after`) closes the contexts and whatever started. Each part is kept as soon as it is
 * up, so that `stop()` stops it even if another failed to start (a server left running
 * would keep node from exiting).
 */
export function browserSuite({ toml, port, env } = {}) {
  const suite = { portico: null, rp: null, chromium: null, watches: [] };
  suite.start = async () => {
    const started = await Promise.allSettled([
      startPortico({ toml, port, env }).then((p) => { suite.portico = p; }),
      startRelyingParty().then((r) => { suite.rp = r; }),
      launchChromium().then((c) => { suite.chromium = c; }),
    ]);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return suite;
  };
  /** A new browser context (a new "browser" for Portico), closed by `stop()`. */
  suite.newBrowser = async (issuer = suite.portico.issuer) => {
    const watch = await openWatched(suite.chromium, issuer);
    suite.watches.push(watch);
    return watch;
  };
  suite.stop = async () => {
    for (const w of suite.watches) await w.context.close().catch(() => {});
    await suite.chromium?.close();
    await suite.rp?.close();
    await suite.portico?.stop();
  };
  return suite;
}

/**
 * A fresh browser context (its own cookie jar: a new "browser" for Portico) with one
 * page, watched for what a person would not see but a developer would:
 * - console errors and warnings, uncaught page errors;
 * - Content-Security-Policy violations, reported by a `securitypolicyviolation`
 *   listener installed before any page script runs (CDP, so not itself under the CSP);
 * - every HTML document Portico served (URL, status, headers), frames included.
 */
export async function openWatched(browser, issuer) {
  // The tests read English texts: the context's locale sets Accept-Language (Portico's
  // default language is Vietnamese).
  const context = await browser.newContext({ locale: 'en-US' });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const watch = {
    context,
    page: null,
    console: [],
    pageErrors: [],
    cspViolations: [],
    /** Chromium's "Failed to load resource: ... status of N" for Portico URLs. */
    httpErrors: [],
    documents: [],
    /** Main-frame navigations (redirect hops included), in order. */
    navigations: [],
  };
  await context.exposeBinding('__porticoTestCspViolation', ({ frame }, v) => {
    watch.cspViolations.push({ page: frame?.url(), ...v });
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      globalThis.__porticoTestCspViolation?.({
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        disposition: e.disposition,
        sample: e.sample,
      });
    });
  });
  context.on('console', (msg) => {
    const type = msg.type();
    if (type !== 'error' && type !== 'warning') return;
    const where = msg.location()?.url ?? '';
    const entry = { type, text: msg.text(), url: where, page: msg.page()?.url() };
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(entry.text);
    if (type === 'error' && failed && where.startsWith(`${issuer}/`)) {
      watch.httpErrors.push({ ...entry, status: Number(failed[1]) });
    } else {
      watch.console.push(entry);
    }
  });
  context.on('weberror', (e) => watch.pageErrors.push(String(e.error())));
  context.on('response', async (res) => {
    const req = res.request();
    if (req.resourceType() !== 'document' || !res.url().startsWith(`${issuer}/`)) return;
    watch.documents.push({
      url: res.url(),
      status: res.status(),
      headers: res.headers(),
    });
  });
  const page = await context.newPage();
  page.on('request', (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) {
      watch.navigations.push(req.url());
    }
  });
  watch.page = page;
  return watch;
}

/**
 * The problems a watched context saw: each must be empty. Chromium logs "Failed to
 * load resource" for every 4xx/5xx response, the error pages themselves included: one
 * for a Portico HTML page served with that status is the page doing its job; one for
 * anything else (a stylesheet, a frame) is a problem.
 */
export function assertClean(watch) {
  const unexplained = watch.httpErrors.filter((e) => !watch.documents.some(
    (d) => d.url === e.url && d.status === e.status
      && (d.headers['content-type'] ?? '').startsWith('text/html'),
  ));
  assert.deepEqual(unexplained, [], `failed loads that are not error pages: ${JSON.stringify(unexplained)}`);
  assert.deepEqual(watch.console, [], `console errors/warnings: ${JSON.stringify(watch.console, null, 1)}`);
  assert.deepEqual(watch.pageErrors, [], 'uncaught page errors');
  assert.deepEqual(watch.cspViolations, [], `CSP violations: ${JSON.stringify(watch.cspViolations)}`);
}

/** The pages Portico served as HTML (not redirects), for header checks. */
export function htmlDocuments(watch) {
  return watch.documents.filter(
    (d) => d.status < 300 || d.status >= 400,
  ).filter((d) => (d.headers['content-type'] ?? '').startsWith('text/html'));
}

/** The path (and no query) of each main-frame navigation, for "which pages were shown". */
export function navigationPaths(watch) {
  return watch.navigations.map((u) => {
    const url = new URL(u);
    return `${url.origin}${url.pathname}`;
  });
}

// ---------------------------------------------------------------------------
// The relying party's browser-facing side: a tiny HTTP server on 127.0.0.1.

/**
 * Answers every path with a small HTML page (no script, so nothing for a console to
 * complain about; `setPage` adds markup to one) and records each request but
 * `/favicon.ico`. `hits(path)` lists the recorded requests to a path as URL objects.
 */
export async function startRelyingParty() {
  const requests = [];
  const pages = new Map();
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://rp.invalid');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    requests.push({ method: req.method, url: new URL(req.url, origin) });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Relying party</title></head>`
      + `<body><h1>Relying party</h1><p>${url.pathname}</p>${pages.get(url.pathname) ?? ''}</body></html>`);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  // Named `localhost` while Portico is `127.0.0.1`: another host, so another site, as
  // a real portal is (cookies are per host, not per port).
  const origin = `http://localhost:${server.address().port}`;
  return {
    origin,
    requests,
    hits: (path) => requests.filter((r) => r.url.pathname === path).map((r) => r.url),
    /** Extra HTML (a form, say) for the page at `path`. */
    setPage: (path, html) => pages.set(path, html),
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

// ---------------------------------------------------------------------------
// What the RP does over HTTP.

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** A fresh PKCE pair, state and nonce. */
export function newRequestSecrets() {
  const verifier = b64url(randomBytes(32));
  return {
    verifier,
    challenge: b64url(createHash('sha256').update(verifier).digest()),
    state: b64url(randomBytes(16)),
    nonce: b64url(randomBytes(16)),
  };
}

/** An authorization request URL: code flow, PKCE S256, state and nonce. */
export function authorizationUrl(issuer, { clientId, redirectUri, scope, secrets, extra = {} }) {
  const url = new URL('/authorize', issuer);
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state: secrets.state,
    nonce: secrets.nonce,
    code_challenge: secrets.challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

/** The authorization code grant with client_secret_basic; returns the JSON body. */
export async function exchangeCode(issuer, { client, code, redirectUri, verifier }) {
  const basic = Buffer.from(
    `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`,
  ).toString('base64');
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `token endpoint: ${JSON.stringify(body)}`);
  return body;
}

/**
 * Verify an ES256 ID token against the issuer's /jwks (by `kid`) and check `iss`,
 * `aud`, `exp`; returns its claims.
 */
export async function verifyIdToken(issuer, idToken, clientId) {
  const [h, p, s] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  assert.equal(header.alg, 'ES256');
  const jwks = await (await fetch(`${issuer}/jwks`)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} published at /jwks`);
  const ok = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  assert.ok(ok, 'ID token signature verifies against /jwks');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  assert.equal(claims.iss, issuer);
  assert.ok([claims.aud].flat().includes(clientId), `aud ${JSON.stringify(claims.aud)}`);
  assert.ok(claims.exp > Date.now() / 1000, 'not expired');
  return claims;
}

// ---------------------------------------------------------------------------
// What the person does in the browser.

/** Click a submit button and wait for the navigation it starts; returns its final response. */
export async function submit(page, button) {
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

/** Type into the login page's form (the default configuration has one source). */
export async function typeCredentials(page, { username, password }) {
  if (username !== undefined) await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
}

/**
 * From an authorization URL to the redirect back to the RP, as a person does it: the
 * login page (typed and submitted) and the consent page (Allow) when they are shown.
 * Returns the callback URL and the Portico pages shown on the way ('login', 'consent').
 */
export async function signInThrough(watch, issuer, { url, username, password, redirectUri }) {
  const { page } = watch;
  const shown = [];
  await page.goto(url);
  for (let i = 0; i < 4 && !page.url().startsWith(redirectUri); i++) {
    const here = new URL(page.url());
    assert.equal(here.origin, issuer, `unexpected page ${page.url()}`);
    if (here.pathname === '/login') {
      shown.push('login');
      await typeCredentials(page, { username, password });
      await submit(page, page.getByRole('button', { name: 'Sign in' }));
    } else if (here.pathname === '/consent') {
      shown.push('consent');
      await submit(page, page.getByRole('button', { name: 'Allow' }));
    } else {
      assert.fail(`unexpected Portico page ${page.url()}: ${await page.locator('main').innerText()}`);
    }
  }
  assert.ok(page.url().startsWith(redirectUri), `ended at ${page.url()}`);
  return { callback: new URL(page.url()), shown };
}

/** The names of the cookies the context holds for `origin`. */
export async function cookieNames(context, origin) {
  return (await context.cookies(origin)).map((c) => c.name).sort();
}
