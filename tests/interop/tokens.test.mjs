// Interop: openid-client against Portico's token lifecycle: refresh tokens (rotation,
// reuse detection, narrower scope), private_key_jwt client authentication (registered
// `jwks` and `jwks_uri`), token introspection (RFC 7662) and revocation (RFC 7009).
//
// Run: cd tests/interop && npm ci && npm test   (PORTICO_BIN overrides the binary)

import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';

import { Browser, authorizeInBrowser, freePort, serveJwks, startPortico } from './lib/portico.mjs';

const USERNAME = 'alice';
const PASSWORD = 'a-long-password-123';
const OFFLINE_SCOPE = 'openid profile offline_access';

let portico;
let redirectUri;
let jwksServer; // serves pkjwt-uri-rp's keys
const clients = {}; // name -> registration JSON printed by `portico client add --json`
const keys = {}; // name -> { privateKey: CryptoKey, kid, jwk }

/** An EC P-256 key pair for ES256 client assertions, with its public JWK. */
async function es256Key(kid) {
  const { privateKey, publicKey } = await webcrypto.subtle.generateKey(
    { name: 'ECDSA', namedCurve: 'P-256' },
    true,
    ['sign', 'verify'],
  );
  const { kty, crv, x, y } = await webcrypto.subtle.exportKey('jwk', publicKey);
  return { privateKey, kid, jwk: { kty, crv, x, y, kid, alg: 'ES256', use: 'sig' } };
}

/** openid-client's private_key_jwt with this key; `modify` may change the assertion. */
function pkjwt(key, modify) {
  return client.PrivateKeyJwt(
    { key: key.privateKey, kid: key.kid },
    modify ? { [client.modifyAssertion]: modify } : undefined,
  );
}

/**
 * Discovery plus a Configuration for one client. Non-repudiation checks make
 * openid-client verify ID token signatures against Portico's /jwks (by default it relies
 * on TLS for ID tokens from the token endpoint, OIDC Core 3.1.3.7 step 6).
 */
async function discover(clientId, metadata, clientAuth) {
  const config = await client.discovery(new URL(portico.issuer), clientId, metadata, clientAuth, {
    execute: [client.allowInsecureRequests],
  });
  client.enableNonRepudiationChecks(config);
  return config;
}

/** Record the HTTP exchanges openid-client makes with one of Portico's endpoints. */
function record(config, endpoint) {
  const seen = [];
  config[client.customFetch] = async (url, options) => {
    const res = await fetch(url, options);
    if (String(url) === endpoint) {
      seen.push({
        requestHeaders: new Headers(options.headers),
        requestBody: new URLSearchParams(String(options.body ?? '')),
        status: res.status,
        responseHeaders: res.headers,
      });
    }
    return res;
  };
  return seen;
}

/** Authorization request, browser part and code exchange; returns tokens and what was seen. */
async function codeFlow(config, { scope = OFFLINE_SCOPE, extra = {} } = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const { callbackUrl, steps } = await authorizeInBrowser(new Browser(), authorizationUrl, {
    username: USERNAME,
    password: PASSWORD,
    redirectUri,
  });
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  return { tokens, claims: tokens.claims(), steps, nonce };
}

/**
 * An assert.rejects predicate for an OAuth error answer. openid-client raises
 * ResponseBodyError for an error in the body, or WWWAuthenticateChallengeError first when
 * a 401 carries WWW-Authenticate (RFC 6749 section 5.2 for invalid_client).
 */
async function expectOAuthError(promise, code, status) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${code}, the call succeeded`);
  if (err instanceof client.WWWAuthenticateChallengeError) {
    // The challenge may carry the code (RFC 6750 3) or just name the scheme, with the
    // code in the JSON body (RFC 6749 5.2).
    assert.equal(err.response.status, status);
    const inChallenge = err.cause.some((c) => c.parameters.error === code);
    if (!inChallenge) {
      const body = await err.response.json();
      assert.equal(body.error, code, `challenge ${JSON.stringify(err.cause)}, body ${JSON.stringify(body)}`);
    }
    return err;
  }
  assert.ok(err instanceof client.ResponseBodyError, `${err?.name}: ${err?.message} ${JSON.stringify(err?.cause)}`);
  assert.equal(err.error, code, JSON.stringify(err.cause));
  assert.equal(err.status, status);
  return err;
}

describe('openid-client against Portico (refresh tokens, private_key_jwt, introspection, revocation)', { timeout: 120_000 }, () => {
  before(async () => {
    portico = await startPortico();
    redirectUri = `http://127.0.0.1:${await freePort()}/cb`;

    const add = async (name, ...extra) => {
      const out = await portico.cli([
        'client', 'add', '--client-id', name, '--name', `Interop ${name}`,
        '--redirect-uri', redirectUri, '--json', ...extra,
      ]);
      clients[name] = JSON.parse(out);
    };

    await add('refresh-rp', '--grant-type', 'authorization_code', 'refresh_token');
    await add(
      'grace-rp', '--grant-type', 'authorization_code', 'refresh_token', '--refresh-grace', '60',
    );
    await add('public-rp', '--public');

    keys['pkjwt-rp'] = await es256Key('pkjwt-rp-1');
    const jwksFile = path.join(portico.dir, 'pkjwt-rp.jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [keys['pkjwt-rp'].jwk] }));
    await add('pkjwt-rp', '--auth-method', 'private_key_jwt', '--jwks', jwksFile);

    keys['pkjwt-uri-rp'] = await es256Key('pkjwt-uri-rp-1');
    jwksServer = await serveJwks({ keys: [keys['pkjwt-uri-rp'].jwk] });
    await add(
      'pkjwt-uri-rp', '--auth-method', 'private_key_jwt', '--jwks-uri', jwksServer.uri,
      '--grant-type', 'authorization_code', 'refresh_token',
    );

    assert.deepEqual(clients['refresh-rp'].grant_types.toSorted(), ['authorization_code', 'refresh_token']);
    assert.ok(clients['refresh-rp'].scopes.includes('offline_access'));
    for (const name of ['pkjwt-rp', 'pkjwt-uri-rp']) {
      assert.equal(clients[name].auth_method, 'private_key_jwt');
      assert.equal(clients[name].client_secret, undefined, `${name}: no secret printed`);
    }
    assert.equal(clients['pkjwt-uri-rp'].jwks_uri, jwksServer.uri);

    await portico.cli([
      'account', 'add', '--username', USERNAME, '--password-stdin',
      '--name', 'Alice Example', '--email', 'alice@example.gov',
      '--national-id', '001099000001', '--json',
    ], PASSWORD);
  });

  after(async () => {
    await jwksServer?.close();
    await portico?.stop();
  });

  test('discovery advertises introspection, revocation, refresh tokens and private_key_jwt', async () => {
    const config = await discover('public-rp', undefined, client.None());
    const md = config.serverMetadata();
    assert.equal(md.introspection_endpoint, `${portico.issuer}/introspect`);
    assert.equal(md.revocation_endpoint, `${portico.issuer}/revoke`);
    assert.ok(md.grant_types_supported.includes('refresh_token'));
    assert.ok(md.grant_types_supported.includes('client_credentials'));
    assert.ok(md.scopes_supported.includes('offline_access'));
    assert.ok(md.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
    assert.ok(md.token_endpoint_auth_signing_alg_values_supported.includes('ES256'));
    assert.ok(!md.token_endpoint_auth_signing_alg_values_supported.some((a) => a === 'none' || a.startsWith('HS')));
    assert.ok(md.introspection_endpoint_auth_methods_supported.includes('private_key_jwt'));
    assert.ok(!md.introspection_endpoint_auth_methods_supported.includes('none'));
    assert.ok(md.revocation_endpoint_auth_methods_supported.includes('private_key_jwt'));
  });

  test('refresh tokens rotate; reusing a rotated one revokes the whole family', async () => {
    const clientId = 'refresh-rp';
    const config = await discover(clientId, clients[clientId].client_secret, client.ClientSecretBasic());
    const { tokens: t0, claims: c0, steps } = await codeFlow(config);
    // offline_access (OIDC Core 11): the consent page is shown.
    assert.ok(steps.some((s) => s.startsWith('POST /consent')), steps.join(', '));
    assert.ok(t0.refresh_token, 'refresh token issued for offline_access');
    assert.deepEqual(t0.scope.split(' ').sort(), OFFLINE_SCOPE.split(' ').sort());

    const exchanges = record(config, config.serverMetadata().token_endpoint);

    // First refresh: new access token, new refresh token, validated ID token.
    const t1 = await client.refreshTokenGrant(config, t0.refresh_token);
    assert.equal(exchanges.at(-1).status, 200);
    assert.equal(exchanges.at(-1).requestBody.get('grant_type'), 'refresh_token');
    assert.match(exchanges.at(-1).requestHeaders.get('authorization') ?? '', /^Basic /);
    assert.match(exchanges.at(-1).responseHeaders.get('cache-control') ?? '', /no-store/i);
    assert.ok(t1.access_token && t1.access_token !== t0.access_token, 'new access token');
    assert.ok(t1.refresh_token && t1.refresh_token !== t0.refresh_token, 'rotated refresh token');
    assert.equal(t1.token_type, 'bearer');
    assert.ok(t1.id_token, 'ID token on refresh (openid in scope)');
    const c1 = t1.claims();
    // OIDC Core 12.2: same iss, sub, aud; auth_time of the original authentication.
    assert.equal(c1.iss, c0.iss);
    assert.equal(c1.sub, c0.sub);
    assert.deepEqual([c1.aud].flat(), [c0.aud].flat());
    assert.equal(c1.auth_time, c0.auth_time);
    // (Portico leaves nonce out; the errata to 12.2 allow that, or the original value.)
    assert.equal(c1.nonce, undefined, 'no nonce in a refreshed ID token');
    assert.ok(c1.iat >= c0.iat);
    const userinfo = await client.fetchUserInfo(config, t1.access_token, c1.sub);
    assert.equal(userinfo.name, 'Alice Example');

    // Second refresh with the newest token.
    const t2 = await client.refreshTokenGrant(config, t1.refresh_token);
    assert.ok(t2.refresh_token && ![t0.refresh_token, t1.refresh_token].includes(t2.refresh_token));
    assert.equal(t2.claims().sub, c0.sub);

    // The refresh token is active before the reuse.
    const live = await client.tokenIntrospection(config, t2.refresh_token, { token_type_hint: 'refresh_token' });
    assert.equal(live.active, true);
    assert.equal(live.client_id, clientId);
    assert.equal(live.sub, c0.sub);

    // The first (rotated) token again: reuse detected (RFC 9700 4.14.2).
    await expectOAuthError(client.refreshTokenGrant(config, t0.refresh_token), 'invalid_grant', 400);
    // ...and the whole family is gone, the newest token included.
    await expectOAuthError(client.refreshTokenGrant(config, t2.refresh_token), 'invalid_grant', 400);
    assert.deepEqual(
      await client.tokenIntrospection(config, t2.refresh_token, { token_type_hint: 'refresh_token' }),
      { active: false },
    );
    // Portico also denies the access tokens of the revoked grant.
    assert.deepEqual(await client.tokenIntrospection(config, t2.access_token), { active: false });
  });

  test('a refresh with a narrower scope; the refresh token keeps the granted scope', async () => {
    const clientId = 'refresh-rp';
    const config = await discover(clientId, clients[clientId].client_secret, client.ClientSecretBasic());
    const { tokens: t0, claims: c0 } = await codeFlow(config);
    assert.ok(t0.refresh_token);

    const narrow = await client.refreshTokenGrant(config, t0.refresh_token, { scope: 'openid' });
    assert.equal(narrow.scope, 'openid');
    assert.ok(narrow.refresh_token && narrow.refresh_token !== t0.refresh_token);
    assert.equal(narrow.claims().sub, c0.sub);
    // The narrower access token no longer reaches the profile claims.
    const userinfo = await client.fetchUserInfo(config, narrow.access_token, c0.sub);
    assert.equal(userinfo.sub, c0.sub);
    assert.equal(userinfo.name, undefined);
    const intro = await client.tokenIntrospection(config, narrow.access_token);
    assert.equal(intro.active, true);
    assert.equal(intro.scope, 'openid');

    // RFC 6749 section 6: the new refresh token has the original scope.
    const full = await client.refreshTokenGrant(config, narrow.refresh_token);
    assert.deepEqual(full.scope.split(' ').sort(), OFFLINE_SCOPE.split(' ').sort());

    // A scope beyond the grant is refused.
    await expectOAuthError(
      client.refreshTokenGrant(config, full.refresh_token, { scope: 'openid email' }),
      'invalid_scope', 400,
    );
  });

  test('with a refresh grace period, a just-rotated token gets the same successor', async () => {
    const clientId = 'grace-rp';
    const config = await discover(clientId, clients[clientId].client_secret, client.ClientSecretBasic());
    const { tokens: t0 } = await codeFlow(config);
    const t1 = await client.refreshTokenGrant(config, t0.refresh_token);
    // Within --refresh-grace (60 s): t0 again is no reuse and answers t1's refresh token.
    const again = await client.refreshTokenGrant(config, t0.refresh_token);
    assert.equal(again.refresh_token, t1.refresh_token);
    const t2 = await client.refreshTokenGrant(config, t1.refresh_token);
    // t1 is now rotated as well, so t0's successor is no longer live: reuse, family revoked.
    await expectOAuthError(client.refreshTokenGrant(config, t0.refresh_token), 'invalid_grant', 400);
    await expectOAuthError(client.refreshTokenGrant(config, t2.refresh_token), 'invalid_grant', 400);
  });

  test('the ID token signature is checked: a tampered one is refused by openid-client', async () => {
    const clientId = 'refresh-rp';
    const config = await discover(clientId, clients[clientId].client_secret, client.ClientSecretBasic());
    const { tokens } = await codeFlow(config);
    // Flip one character in the middle of the refreshed ID token's signature.
    config[client.customFetch] = async (url, options) => {
      const res = await fetch(url, options);
      if (String(url) !== config.serverMetadata().token_endpoint || res.status !== 200) return res;
      const body = await res.json();
      const [h, p, sig] = body.id_token.split('.');
      const i = 20;
      const flipped = sig.slice(0, i) + (sig[i] === 'A' ? 'B' : 'A') + sig.slice(i + 1);
      body.id_token = [h, p, flipped].join('.');
      return new Response(JSON.stringify(body), { status: 200, headers: res.headers });
    };
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (err) => {
      assert.equal(err.code, 'OAUTH_INVALID_RESPONSE', `${err.name}: ${err.message}`);
      assert.match(err.cause?.message ?? '', /signature verification failed/, String(err.cause));
      return true;
    });
  });

  test('revoking a refresh token (RFC 7009) ends its grant', async () => {
    const clientId = 'refresh-rp';
    const config = await discover(clientId, clients[clientId].client_secret, client.ClientSecretBasic());
    const { tokens } = await codeFlow(config);
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);

    await client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    await expectOAuthError(client.refreshTokenGrant(config, tokens.refresh_token), 'invalid_grant', 400);
    assert.deepEqual(await client.tokenIntrospection(config, tokens.refresh_token), { active: false });
    assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false });
    // Revoking it again, or an unknown token, is still 200 (RFC 7009 section 2.2).
    await client.tokenRevocation(config, tokens.refresh_token);
    await client.tokenRevocation(config, 'not-a-token-at-all');
  });

  test('private_key_jwt with a registered jwks: code flow, userinfo, introspection, revocation', async () => {
    const clientId = 'pkjwt-rp';
    const key = keys[clientId];
    const config = await discover(clientId, { token_endpoint_auth_method: 'private_key_jwt' }, pkjwt(key));
    const exchanges = record(config, config.serverMetadata().token_endpoint);

    const { tokens, claims, steps } = await codeFlow(config, { scope: 'openid profile email' });
    assert.deepEqual(
      steps.map((s) => s.split(' -> ')[0]),
      ['GET /authorize', 'GET /login', 'POST /login', 'GET /consent', 'POST /consent'],
      steps.join(', '),
    );
    assert.equal(exchanges.length, 1);
    const [ex] = exchanges;
    assert.equal(ex.status, 200);
    assert.equal(ex.requestHeaders.get('authorization'), null, 'no Basic auth');
    assert.equal(ex.requestBody.get('client_id'), clientId);
    assert.equal(ex.requestBody.get('client_secret'), null);
    assert.equal(ex.requestBody.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = ex.requestBody.get('client_assertion');
    const [h, p] = assertion.split('.').slice(0, 2).map((s) => JSON.parse(Buffer.from(s, 'base64url').toString()));
    assert.equal(h.alg, 'ES256');
    assert.equal(h.kid, key.kid);
    assert.equal(p.iss, clientId);
    assert.equal(p.sub, clientId);
    assert.equal(p.aud, portico.issuer);
    assert.ok(p.jti);

    assert.equal(claims.aud, clientId);
    assert.ok(tokens.access_token);
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(userinfo.sub, claims.sub);
    assert.equal(userinfo.name, 'Alice Example');
    assert.equal(userinfo.email, 'alice@example.gov');

    // Introspection (RFC 7662), authenticated with private_key_jwt.
    const intro = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(intro.active, true);
    assert.equal(intro.client_id, clientId);
    assert.equal(intro.sub, claims.sub);
    assert.equal(intro.iss, portico.issuer);
    assert.deepEqual(intro.scope.split(' ').sort(), ['email', 'openid', 'profile']);
    assert.equal(intro.token_type, 'Bearer');
    assert.ok(intro.exp > Date.now() / 1000);

    // Revocation (RFC 7009), then the token is inactive and UserInfo refuses it.
    await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false });
    await expectOAuthError(client.fetchUserInfo(config, tokens.access_token, claims.sub), 'invalid_token', 401);
  });

  test('private_key_jwt assertions: token endpoint as aud accepted; replay, unknown key, long exp, no jti, other aud refused', async () => {
    const clientId = 'pkjwt-rp';
    const key = keys[clientId];
    const base = await discover(clientId, undefined, pkjwt(key));
    const md = base.serverMetadata();
    const as = (auth) => {
      const c = new client.Configuration(md, clientId, undefined, auth);
      client.allowInsecureRequests(c);
      return c;
    };

    // RFC 7523 3 / OIDC Core 9: the token endpoint URL is a valid audience too.
    const tokenAud = as(pkjwt(key, (_h, p) => { p.aud = md.token_endpoint; }));
    assert.deepEqual(await client.tokenIntrospection(tokenAud, 'unknown-token'), { active: false });

    // The same assertion twice (jti replay) is refused.
    const config = as(pkjwt(key));
    const seen = record(config, md.introspection_endpoint);
    assert.deepEqual(await client.tokenIntrospection(config, 'unknown-token'), { active: false });
    const replay = await fetch(md.introspection_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: seen[0].requestBody.toString(),
    });
    assert.equal(replay.status, 401);
    assert.equal((await replay.json()).error, 'invalid_client');

    // A key that is not registered, under the registered kid.
    const stranger = await es256Key(key.kid);
    await expectOAuthError(client.tokenIntrospection(as(pkjwt(stranger)), 'x'), 'invalid_client', 401);
    // An assertion valid for more than ten minutes.
    const longLived = as(pkjwt(key, (_h, p) => { p.exp = p.iat + 3600; }));
    await expectOAuthError(client.tokenIntrospection(longLived, 'x'), 'invalid_client', 401);
    // No jti.
    const noJti = as(pkjwt(key, (_h, p) => { delete p.jti; }));
    await expectOAuthError(client.tokenIntrospection(noJti, 'x'), 'invalid_client', 401);
    // Another audience.
    const elsewhere = as(pkjwt(key, (_h, p) => { p.aud = 'https://elsewhere.example'; }));
    await expectOAuthError(client.tokenIntrospection(elsewhere, 'x'), 'invalid_client', 401);
    // ...while a fresh, well-formed assertion still works.
    assert.deepEqual(await client.tokenIntrospection(config, 'x'), { active: false });
  });

  test('private_key_jwt with a jwks_uri served by the test; refresh authenticated the same way', async () => {
    const clientId = 'pkjwt-uri-rp';
    const config = await discover(clientId, undefined, pkjwt(keys[clientId]));
    const hitsBefore = jwksServer.hits;
    const { tokens, claims } = await codeFlow(config);
    assert.ok(jwksServer.hits > hitsBefore, 'Portico fetched the jwks_uri');
    assert.equal(claims.aud, clientId);
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(userinfo.name, 'Alice Example');

    assert.ok(tokens.refresh_token);
    // RFC 6749 section 6: another client presenting this refresh token gets invalid_grant
    // (and the token stays usable by its own client).
    const other = await discover('refresh-rp', clients['refresh-rp'].client_secret, client.ClientSecretBasic());
    await expectOAuthError(client.refreshTokenGrant(other, tokens.refresh_token), 'invalid_grant', 400);

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
    assert.equal(refreshed.claims().sub, claims.sub);

    assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, true);
    await client.tokenRevocation(config, refreshed.access_token);
    assert.deepEqual(await client.tokenIntrospection(config, refreshed.access_token), { active: false });
  });

  test('introspection is refused to a public client (invalid_client)', async () => {
    const config = await discover('public-rp', undefined, client.None());
    await expectOAuthError(client.tokenIntrospection(config, 'anything'), 'invalid_client', 401);
  });
});
