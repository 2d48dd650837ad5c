// Smoke test of a running benchmark peer (node server.mjs), by plain fetch with manual
// redirects and cookies, as the load generator talks to it.
//
//   ISSUER=http://127.0.0.1:8091 node smoke.mjs
//
// ISSUER defaults to http://127.0.0.1:$PORT. CODE_ACCESS_TOKEN_FORMAT must match the
// server's (default opaque). Exits non-zero at the first failed check.

import * as crypto from 'node:crypto';
import { strict as assert } from 'node:assert';

const ISSUER = process.env.ISSUER || `http://127.0.0.1:${process.env.PORT ?? 8091}`;
const CODE_AT_JWT = (process.env.CODE_ACCESS_TOKEN_FORMAT || 'opaque') === 'jwt';
const REDIRECT_URI = 'http://127.0.0.1:9/cb';
const RP = { id: 'bench-rp', secret: 'bench-rp-secret' };
const CC = { id: 'bench-cc', secret: 'bench-cc-secret' };
const VERBOSE = !!process.env.VERBOSE;

let passed = 0;
function ok(what) {
  passed += 1;
  console.log(`ok ${passed} - ${what}`);
}
function trace(...args) {
  if (VERBOSE) console.log('   ', ...args);
}

const basic = ({ id, secret }) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const decodeJwt = (jwt) => {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')) };
};
const isJwt = (s) => typeof s === 'string' && s.split('.').length === 3;

// A tiny cookie jar: name -> { value, path }. Sends the cookies whose path prefixes the URL.
class Jar {
  cookies = new Map();

  store(res, url) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = value === '';
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        if (k.toLowerCase() === 'path') path = v;
        if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
      trace('set-cookie', name, 'path', path, expired ? '(cleared)' : '', 'on', new URL(url).pathname);
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    const list = [...this.cookies.values()].filter(({ path }) => pathname === path || pathname.startsWith(path.endsWith('/') ? path : `${path}/`) || path === '/');
    return list.map(({ name, value }) => `${name}=${value}`).join('; ');
  }

  names() {
    return [...this.cookies.values()].map(({ name, path }) => `${name} (path ${path})`);
  }
}

async function get(url, jar) {
  const cookie = jar?.header(url);
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  trace('GET', new URL(url).pathname, '->', res.status, res.headers.get('location') ?? '');
  jar?.store(res, url);
  return res;
}

async function post(path, client, form, headers = {}) {
  const res = await fetch(new URL(path, ISSUER), {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  const body = await res.json();
  trace('POST', path, '->', res.status, JSON.stringify(body).slice(0, 200));
  return { status: res.status, body };
}

function authorizeUrl(challenge, state) {
  const u = new URL('/auth', ISSUER);
  u.search = new URLSearchParams({
    client_id: RP.id,
    response_type: 'code',
    scope: 'openid profile email offline_access',
    redirect_uri: REDIRECT_URI,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce: b64url(crypto.randomBytes(16)),
  }).toString();
  return u.href;
}

function pkce() {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

function codeFrom(location, state) {
  const u = new URL(location);
  assert.equal(`${u.origin}${u.pathname}`, REDIRECT_URI, `redirect to the rp, got ${location}`);
  assert.equal(u.searchParams.get('state'), state);
  assert.equal(u.searchParams.get('iss'), ISSUER, 'RFC 9207 iss in the authorization response');
  const code = u.searchParams.get('code');
  assert.ok(code, `code in ${location}`);
  return code;
}

// 1. Discovery.
const discovery = await (await get(new URL('/.well-known/openid-configuration', ISSUER).href)).json();
assert.equal(discovery.issuer, ISSUER);
for (const [k, path] of Object.entries({
  authorization_endpoint: '/auth',
  token_endpoint: '/token',
  introspection_endpoint: '/token/introspection',
  revocation_endpoint: '/token/revocation',
  userinfo_endpoint: '/me',
  jwks_uri: '/jwks',
  end_session_endpoint: '/session/end',
})) {
  assert.equal(discovery[k], new URL(path, ISSUER).href, k);
}
assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['ES256']);
ok('discovery');

const jwks = await (await get(discovery.jwks_uri)).json();
assert.equal(jwks.keys.length, 1);
assert.equal(jwks.keys[0].kty, 'EC');
assert.equal(jwks.keys[0].crv, 'P-256');
assert.equal(jwks.keys[0].alg, 'ES256');
assert.ok(!('d' in jwks.keys[0]), 'no private part in /jwks');
const publicKey = crypto.createPublicKey({ key: jwks.keys[0], format: 'jwk' });
const verify = (jwt) => {
  const [h, p, s] = jwt.split('.');
  const good = crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
  assert.ok(good, 'ES256 signature verifies with the /jwks key');
  return decodeJwt(jwt);
};
ok('jwks: one P-256 key');

// 2. client_credentials: an ES256 JWT for https://api.example.gov.
const cc = await post('/token', CC, { grant_type: 'client_credentials', scope: 'api.read' });
assert.equal(cc.status, 200, JSON.stringify(cc.body));
assert.ok(isJwt(cc.body.access_token), 'client_credentials access token is a JWT');
{
  const { header, payload } = verify(cc.body.access_token);
  assert.equal(header.alg, 'ES256');
  assert.equal(header.typ, 'at+jwt');
  assert.equal(header.kid, jwks.keys[0].kid);
  assert.equal(payload.aud, 'https://api.example.gov');
  assert.equal(payload.iss, ISSUER);
  assert.equal(payload.client_id, CC.id);
  assert.equal(payload.sub, CC.id);
  assert.equal(payload.scope, 'api.read');
  assert.equal(payload.exp - payload.iat, 600);
}
assert.equal(cc.body.expires_in, 600);
assert.equal(cc.body.token_type, 'Bearer');
ok('client_credentials: ES256 at+jwt, aud https://api.example.gov, scope api.read, 600 s');

// 3. Introspection of it by bench-cc.
{
  const { status, body } = await post('/token/introspection', CC, { token: cc.body.access_token });
  assert.equal(status, 200);
  assert.equal(body.active, true, JSON.stringify(body));
  assert.equal(body.client_id, CC.id);
  assert.equal(body.aud, 'https://api.example.gov');
  assert.equal(body.scope, 'api.read');
}
ok('introspection by bench-cc: active');
{
  const { status, body } = await post('/token/introspection', RP, { token: cc.body.access_token });
  assert.equal(status, 200);
  assert.equal(body.active, false, 'another client does not see it');
}
ok('introspection by bench-rp of a bench-cc token: inactive');

// 4. The code flow, cookies by hand.
const jar = new Jar();
const p1 = pkce();
const state1 = b64url(crypto.randomBytes(8));
let res = await get(authorizeUrl(p1.challenge, state1), jar);
assert.equal(res.status, 303, '/auth without a session -> 303');
const interactionUrl = new URL(res.headers.get('location'), ISSUER).href;
assert.match(new URL(interactionUrl).pathname, /^\/interaction\/[A-Za-z0-9_-]+$/);
const uid = new URL(interactionUrl).pathname.split('/')[2];
ok(`/auth -> 303 ${new URL(interactionUrl).pathname}; cookies ${jar.names().join(', ')}`);

res = await get(interactionUrl, jar);
assert.equal(res.status, 303, 'interaction -> 303');
const resumeUrl = new URL(res.headers.get('location'), ISSUER).href;
assert.equal(new URL(resumeUrl).pathname, `/auth/${uid}`);
ok(`/interaction/UID -> 303 /auth/UID`);

res = await get(resumeUrl, jar);
assert.equal(res.status, 303, `/auth/UID -> 303, got ${res.status} ${await res.clone().text()}`);
const code1 = codeFrom(res.headers.get('location'), state1);
assert.ok(jar.names().some((n) => n.startsWith('_session ')), 'a _session cookie');
ok(`/auth/UID -> 303 redirect_uri?code=...; cookies now ${jar.names().join(', ')}`);

// 5. Code exchange with PKCE.
{
  const bad = await post('/token', RP, { grant_type: 'authorization_code', code: code1, redirect_uri: REDIRECT_URI, code_verifier: pkce().verifier });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'invalid_grant');
}
ok('code exchange with a wrong code_verifier: invalid_grant');
// (the failed attempt does not consume the code in oidc-provider; a fresh flow is not needed)
const tok = await post('/token', RP, { grant_type: 'authorization_code', code: code1, redirect_uri: REDIRECT_URI, code_verifier: p1.verifier });
assert.equal(tok.status, 200, JSON.stringify(tok.body));
assert.ok(tok.body.access_token && tok.body.id_token && tok.body.refresh_token, 'access, id and refresh tokens');
assert.equal(tok.body.expires_in, 600);
// oidc-provider drops offline_access from a request without prompt=consent (OIDC Core 11);
// the refresh token comes from the Grant instead (see README.md), so `scope` lacks it.
assert.equal(tok.body.scope.split(' ').sort().join(' '), 'email openid profile');
{
  const { header, payload } = verify(tok.body.id_token);
  assert.equal(header.alg, 'ES256');
  assert.equal(payload.iss, ISSUER);
  assert.equal(payload.aud, RP.id);
  assert.equal(payload.sub, 'bench');
  assert.equal(payload.exp - payload.iat, 600);
  trace('id_token claims:', Object.keys(payload).join(' '));
  assert.ok(payload.at_hash && payload.sid && payload.auth_time && payload.nonce);
  assert.equal(payload.acr, 'urn:portico:loa:2');
  assert.deepEqual(payload.amr, ['pwd']);
  if (CODE_AT_JWT) {
    // the access token cannot reach /me, so oidc-provider puts the scope's claims here
    assert.equal(payload.email, 'bench@example.gov');
  } else {
    assert.equal(payload.email, undefined, 'profile and email claims only at /me, as Portico');
  }
}
if (CODE_AT_JWT) {
  assert.ok(isJwt(tok.body.access_token));
  const { header, payload } = verify(tok.body.access_token);
  assert.equal(header.alg, 'ES256');
  assert.equal(payload.aud, 'https://api.example.gov');
  assert.equal(payload.sub, 'bench');
  assert.equal(payload.scope, 'openid profile email');
} else {
  assert.ok(!isJwt(tok.body.access_token), 'opaque access token (usable at /me)');
}
ok(`code exchange: ${CODE_AT_JWT ? 'ES256 JWT' : 'opaque'} access token, ES256 id token, refresh token`);

{
  const { status, body } = await post('/token/introspection', RP, { token: tok.body.access_token, token_type_hint: 'access_token' });
  assert.equal(status, 200);
  assert.equal(body.active, true, JSON.stringify(body));
  assert.equal(body.client_id, RP.id);
  assert.equal(body.sub, 'bench');
  trace('introspection of the rp access token:', JSON.stringify(body));
}
ok('introspection by bench-rp of its access token: active');

// 6. UserInfo.
{
  const r = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tok.body.access_token}` } });
  const body = await r.json();
  if (CODE_AT_JWT) {
    assert.equal(r.status, 401, 'oidc-provider refuses a token with an audience at /me');
    assert.equal(body.error, 'invalid_token');
    ok('userinfo with a JWT (audience) access token: 401 invalid_token, as expected in this mode');
  } else {
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.deepEqual(body, {
      sub: 'bench', name: 'Bench User', given_name: 'Bench', family_name: 'User', email: 'bench@example.gov', email_verified: true,
    });
    ok('userinfo /me: profile and email claims');
  }
}

// 7. Refresh: a new refresh token each time; the old one is spent.
const ref = await post('/token', RP, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token });
assert.equal(ref.status, 200, JSON.stringify(ref.body));
assert.ok(ref.body.refresh_token && ref.body.refresh_token !== tok.body.refresh_token, 'rotated');
assert.ok(ref.body.access_token && ref.body.id_token);
assert.equal(ref.body.expires_in, 600);
ok('refresh: new access, id and refresh tokens');
{
  const r = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${ref.body.access_token}` } });
  assert.equal(r.status, CODE_AT_JWT ? 401 : 200);
}
ok('refreshed access token at /me behaves like the first');

// 8. Second /auth with the session cookies: a code at once.
const p2 = pkce();
const state2 = b64url(crypto.randomBytes(8));
res = await get(authorizeUrl(p2.challenge, state2), jar);
assert.equal(res.status, 303, 'second /auth -> 303');
const code2 = codeFrom(res.headers.get('location'), state2);
ok('second /auth with the session cookies: 303 redirect_uri?code=... directly');
const tok2 = await post('/token', RP, { grant_type: 'authorization_code', code: code2, redirect_uri: REDIRECT_URI, code_verifier: p2.verifier });
assert.equal(tok2.status, 200, JSON.stringify(tok2.body));
assert.ok(tok2.body.refresh_token);
ok('second code exchange');

// Cookies are signed: a _session cookie whose value does not match _session.sig is ignored.
{
  const forged = new Jar();
  for (const [k, c] of jar.cookies) forged.cookies.set(k, { ...c });
  const session = [...forged.cookies.values()].find((c) => c.name === '_session');
  session.value = `${session.value.slice(0, -2)}xx`;
  const r = await get(authorizeUrl(pkce().challenge, 'f'), forged);
  assert.equal(r.status, 303);
  assert.match(new URL(r.headers.get('location'), ISSUER).pathname, /^\/interaction\//, 'forged session -> login again');
}
ok('a tampered _session cookie is ignored (signed cookies)');

// 9. Reuse of a rotated refresh token revokes the grant (as in Portico).
{
  const again = await post('/token', RP, { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token });
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
  const after = await post('/token', RP, { grant_type: 'refresh_token', refresh_token: ref.body.refresh_token });
  assert.equal(after.status, 400, 'the whole grant is revoked');
}
ok('reuse of a rotated refresh token: invalid_grant, grant revoked');

// 10. Revocation.
{
  const cc2 = await post('/token', CC, { grant_type: 'client_credentials', scope: 'api.read' });
  const r = await fetch(discovery.revocation_endpoint, {
    method: 'POST',
    headers: { authorization: basic(CC), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: cc2.body.access_token }),
  });
  assert.equal(r.status, 200);
  const { body } = await post('/token/introspection', CC, { token: cc2.body.access_token });
  assert.equal(body.active, false);
}
ok('revocation: a revoked client_credentials token is inactive');

// 11. PKCE is required, S256 only.
{
  const u = new URL(authorizeUrl('x', 's'));
  u.searchParams.delete('code_challenge');
  u.searchParams.delete('code_challenge_method');
  const r = await get(u.href, jar);
  assert.equal(r.status, 303);
  assert.equal(new URL(r.headers.get('location')).searchParams.get('error'), 'invalid_request');
  u.searchParams.set('code_challenge', p2.verifier);
  u.searchParams.set('code_challenge_method', 'plain');
  const r2 = await get(u.href, jar);
  assert.equal(new URL(r2.headers.get('location')).searchParams.get('error'), 'invalid_request');
}
ok('PKCE required; plain refused');

console.log(`${passed} passed, 0 failed`);
