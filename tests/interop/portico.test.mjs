// Interop: openid-client (panva, OpenID-certified RP) drives Portico through the
// authorization code flow with PKCE and validates the ID token itself.
//
// Run: cd tests/interop && npm ci && npm test   (PORTICO_BIN overrides the binary)

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';

import { Browser, authorizeInBrowser, freePort, jwtHeader, startPortico } from './lib/portico.mjs';

const USERNAME = 'alice';
const PASSWORD = 'a-long-password-123';
const SCOPE = 'openid profile email national_id';
const LOA2 = 'urn:portico:loa:2';

let portico;
let redirectUri;
let subject; // Alice's `sub`, learned from the first flow; public subject type => same for every client
const clients = {}; // name -> registration JSON printed by `portico client add --json`

/**
 * Wrap the configuration's fetch so the test can see what openid-client sent
 * to and received from the token endpoint.
 */
function recordTokenExchanges(config) {
  const exchanges = [];
  const tokenEndpoint = config.serverMetadata().token_endpoint;
  config[client.customFetch] = async (url, options) => {
    const res = await fetch(url, options);
    if (String(url) === tokenEndpoint) {
      exchanges.push({
        requestHeaders: new Headers(options.headers),
        requestBody: new URLSearchParams(String(options.body ?? '')),
        status: res.status,
        responseHeaders: res.headers,
      });
    }
    return res;
  };
  return exchanges;
}

async function discover(clientId, metadata, clientAuth) {
  const config = await client.discovery(new URL(portico.issuer), clientId, metadata, clientAuth, {
    execute: [client.allowInsecureRequests],
  });
  // openid-client skips the signature check of an ID token from the token endpoint
  // unless asked (OIDC Core 3.1.3.7 step 6 lets TLS stand in for it): ask, so the
  // signature is verified against Portico's /jwks.
  client.enableNonRepudiationChecks(config);
  return config;
}

/**
 * The README's `openid-client` example, read from README.md, as the body of an async
 * function of `client` and `browse(url) -> callbackUrl`. Only what names the README's
 * example deployment is replaced (each must be there, so an edited README fails here
 * rather than drifting from what is tested); the code itself runs as written.
 */
async function readmeSnippet({ issuer, secret, redirectUri }) {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const block = readme.match(/A minimal client with the npm `openid-client`[^\n]*\n+```js\n([\s\S]*?)```/);
  assert.ok(block, 'README.md has the openid-client example');
  let code = block[1];
  const replace = (from, to) => {
    assert.ok(code.includes(from), `README example contains ${from}`);
    code = code.replaceAll(from, to);
  };
  // An ES module import cannot sit in a function body: the same module is passed in.
  replace("import * as client from 'openid-client'\n", '');
  replace("'https://id.example.gov'", JSON.stringify(issuer));
  replace("'SECRET'", JSON.stringify(secret));
  replace("'https://tax.example.gov/oidc/callback'", JSON.stringify(redirectUri));
  replace('// ... redirect the browser to `url`; on the callback:', 'const callbackUrl = await browse(url)');
  const AsyncFunction = (async () => {}).constructor;
  return new AsyncFunction('client', 'browse', `${code}\nreturn { config, tokens, me }`);
}

/**
 * Start an authorization request, run the browser part, return what the RP needs to
 * finish. `extra` adds authorization request parameters; `decision` answers consent.
 */
async function authorize(config, { extra = {}, decision = 'allow', browser = new Browser() } = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  assert.equal(authorizationUrl.origin + authorizationUrl.pathname, `${portico.issuer}/authorize`);

  const { callbackUrl, steps } = await authorizeInBrowser(browser, authorizationUrl, {
    username: USERNAME,
    password: PASSWORD,
    redirectUri,
    decision,
  });
  return { callbackUrl, steps, browser, pkceCodeVerifier, state, nonce };
}

/** The whole flow for one client; asserts on everything the RP can see. */
async function fullFlow(config, { expectedAlg, clientId, expectBasicAuth }) {
  const exchanges = recordTokenExchanges(config);
  const { callbackUrl, steps, browser, pkceCodeVerifier, state, nonce } = await authorize(config);

  // The browser went through login and consent (a third-party client).
  assert.deepEqual(
    steps.map((s) => s.split(' -> ')[0]),
    ['GET /authorize', 'GET /login', 'POST /login', 'GET /consent', 'POST /consent'],
    steps.join(', '),
  );
  assert.ok(browser.cookies.has('__Host-portico_browser'), 'browser cookie set');
  assert.ok(browser.cookies.has('__Host-portico_session'), 'session cookie set');
  for (const sc of browser.setCookieHeaders.filter((h) => h.startsWith('__Host-'))) {
    // RFC 6265bis __Host- prefix requirements.
    assert.match(sc, /;\s*Secure/i, sc);
    assert.match(sc, /;\s*Path=\/(;|$)/i, sc);
    assert.doesNotMatch(sc, /;\s*Domain=/i, sc);
  }

  // Authorization response (RFC 9207 iss is validated by openid-client too).
  assert.equal(callbackUrl.searchParams.get('state'), state);
  assert.equal(callbackUrl.searchParams.get('iss'), portico.issuer);
  assert.ok(callbackUrl.searchParams.get('code'), 'code present');

  // Code exchange; openid-client validates the ID token signature (via /jwks),
  // iss, aud, exp, iat, nonce, and the PKCE/state checks.
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });

  assert.equal(exchanges.length, 1);
  const [ex] = exchanges;
  assert.equal(ex.status, 200);
  assert.equal(ex.requestBody.get('grant_type'), 'authorization_code');
  assert.equal(ex.requestBody.get('code_verifier'), pkceCodeVerifier);
  assert.equal(ex.requestBody.get('client_secret'), null, 'secret never in the body');
  if (expectBasicAuth) {
    assert.match(ex.requestHeaders.get('authorization') ?? '', /^Basic /);
  } else {
    assert.equal(ex.requestHeaders.get('authorization'), null);
    assert.equal(ex.requestBody.get('client_id'), clientId);
  }
  // RFC 6749 §5.1: token responses MUST carry Cache-Control: no-store.
  assert.match(ex.responseHeaders.get('cache-control') ?? '', /no-store/i);

  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.access_token, 'access token');
  assert.ok(tokens.id_token, 'id token');

  const header = jwtHeader(tokens.id_token);
  assert.equal(header.alg, expectedAlg);
  assert.ok(header.kid, 'kid in ID token header');

  const claims = tokens.claims();
  assert.ok(claims);
  assert.equal(claims.iss, portico.issuer);
  assert.ok([claims.aud].flat().includes(clientId));
  assert.equal(typeof claims.sub, 'string');
  assert.ok(claims.sub.length > 0 && claims.sub.length <= 255);
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.acr, LOA2);
  assert.ok(Array.isArray(claims.amr) && claims.amr.includes('pwd'), `amr: ${JSON.stringify(claims.amr)}`);
  assert.equal(typeof claims.sid, 'string');
  assert.ok(claims.sid.length > 0);
  assert.equal(typeof claims.auth_time, 'number');
  assert.ok(claims.auth_time <= claims.iat);
  assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 120, 'iat is now');
  assert.ok(claims.exp > claims.iat);
  // OIDC Core 3.1.3.6: at_hash is optional in the code flow, but if present it must match
  // (left half of SHA-256 of the access token for ES256 and RS256).
  if (claims.at_hash !== undefined) {
    const digest = createHash('sha256').update(tokens.access_token, 'ascii').digest();
    assert.equal(claims.at_hash, digest.subarray(0, 16).toString('base64url'), 'at_hash');
  }
  if (subject === undefined) subject = claims.sub;
  assert.equal(claims.sub, subject, 'public subject type: same sub for every client');

  // UserInfo, with the sub checked against the ID token's by openid-client.
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(userinfo.sub, claims.sub);
  assert.equal(userinfo.name, 'Alice Example');
  assert.equal(userinfo.email, 'alice@example.gov');
  assert.equal(typeof userinfo.email_verified, 'boolean');
  assert.equal(userinfo.national_id, '001099000001');
  // Not requested: phone and address scopes.
  assert.equal(userinfo.phone_number, undefined);
  assert.equal(userinfo.address, undefined);

  return { tokens, claims, userinfo };
}

describe('openid-client against Portico (authorization code + PKCE)', { timeout: 120_000 }, () => {
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
    await add('interop-rp');
    await add('interop-public', '--public');
    await add('interop-rs256', '--id-token-alg', 'RS256');
    await add('tax-portal'); // the README example's client, registered with the defaults

    assert.equal(clients['interop-rp'].auth_method, 'client_secret_basic');
    assert.equal(clients['interop-public'].auth_method, 'none');
    assert.equal(clients['interop-public'].client_secret, undefined);
    assert.equal(clients['interop-rs256'].id_token_alg, 'RS256');

    await portico.cli([
      'account', 'add', '--username', USERNAME, '--password-stdin',
      '--name', 'Alice Example', '--email', 'alice@example.gov',
      '--national-id', '001099000001', '--json',
    ], PASSWORD);
  });

  after(async () => {
    await portico?.stop();
  });

  test('discovery document is accepted and advertises the flow', async () => {
    const config = await discover('interop-rp', clients['interop-rp'].client_secret, client.ClientSecretBasic());
    const md = config.serverMetadata();
    assert.equal(md.issuer, portico.issuer);
    assert.ok(md.response_types_supported.includes('code'));
    assert.ok(md.code_challenge_methods_supported.includes('S256'));
    assert.ok(md.id_token_signing_alg_values_supported.includes('ES256'));
    assert.ok(md.id_token_signing_alg_values_supported.includes('RS256'));
    assert.ok(md.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
    assert.ok(md.token_endpoint_auth_methods_supported.includes('none'));
    assert.equal(md.authorization_response_iss_parameter_supported, true);
    assert.ok(md.scopes_supported.includes('openid'));
    assert.ok(md.scopes_supported.includes('national_id'));
  });

  test("the README's openid-client example, as written (client_secret_post to a default client)", async () => {
    assert.equal(clients['tax-portal'].auth_method, 'client_secret_basic');
    const sent = [];
    // The test instance is plain HTTP on loopback, which openid-client refuses unless
    // told; everything else in the call is the README's (its default client_secret_post
    // included). The token requests are recorded to show which method was used.
    const readmeClient = {
      ...client,
      discovery: async (server, clientId, metadata, auth, options) => {
        const config = await client.discovery(server, clientId, metadata, auth, {
          execute: [client.allowInsecureRequests],
          ...options,
        });
        config[client.customFetch] = async (url, init) => {
          if (String(url) === config.serverMetadata().token_endpoint) {
            sent.push({ headers: new Headers(init.headers), body: new URLSearchParams(String(init.body ?? '')) });
          }
          return fetch(url, init);
        };
        return config;
      },
    };
    const browse = async (url) => {
      const { callbackUrl } = await authorizeInBrowser(new Browser(), url, {
        username: USERNAME,
        password: PASSWORD,
        redirectUri,
      });
      return callbackUrl;
    };
    const run = await readmeSnippet({
      issuer: portico.issuer,
      secret: clients['tax-portal'].client_secret,
      redirectUri,
    });
    const { tokens, me } = await run(readmeClient, browse);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].headers.get('authorization'), null, 'no Basic header');
    assert.equal(sent[0].body.get('client_id'), 'tax-portal');
    assert.equal(sent[0].body.get('client_secret'), clients['tax-portal'].client_secret);
    assert.equal(tokens.claims().aud, 'tax-portal');
    assert.equal(me.sub, tokens.claims().sub);
    assert.equal(me.email, 'alice@example.gov');
  });

  test('confidential client (client_secret_basic, ES256 ID token)', async () => {
    const config = await discover('interop-rp', clients['interop-rp'].client_secret, client.ClientSecretBasic());
    await fullFlow(config, { expectedAlg: 'ES256', clientId: 'interop-rp', expectBasicAuth: true });
  });

  test('public client (token_endpoint_auth_method none, PKCE)', async () => {
    const config = await discover('interop-public', undefined, client.None());
    await fullFlow(config, { expectedAlg: 'ES256', clientId: 'interop-public', expectBasicAuth: false });
  });

  test('confidential client with RS256 ID tokens', async () => {
    const config = await discover(
      'interop-rs256',
      { client_secret: clients['interop-rs256'].client_secret, id_token_signed_response_alg: 'RS256' },
      client.ClientSecretBasic(),
    );
    await fullFlow(config, { expectedAlg: 'RS256', clientId: 'interop-rs256', expectBasicAuth: true });
  });

  test('an authorization code cannot be redeemed twice (invalid_grant)', async () => {
    const config = await discover('interop-rp', clients['interop-rp'].client_secret, client.ClientSecretBasic());
    const { callbackUrl, pkceCodeVerifier, state, nonce } = await authorize(config);
    const checks = { pkceCodeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true };

    const first = await client.authorizationCodeGrant(config, callbackUrl, checks);
    assert.ok(first.access_token);

    await assert.rejects(
      client.authorizationCodeGrant(config, callbackUrl, checks),
      (err) => {
        assert.ok(err instanceof client.ResponseBodyError, `${err?.name}: ${err?.message}`);
        assert.equal(err.error, 'invalid_grant');
        assert.equal(err.status, 400);
        return true;
      },
    );
  });

  test('consent denied: error response accepted by openid-client as access_denied', async () => {
    const config = await discover('interop-rp', clients['interop-rp'].client_secret, client.ClientSecretBasic());
    // interop-rp was granted consent earlier, which Portico remembers: prompt=consent
    // (OIDC Core 3.1.2.1) asks again.
    const { callbackUrl, steps, pkceCodeVerifier, state, nonce } = await authorize(config, {
      decision: 'deny',
      extra: { prompt: 'consent' },
    });
    assert.equal(steps.at(-1).split(' -> ')[0], 'POST /consent');
    assert.equal(callbackUrl.searchParams.get('code'), null);
    // openid-client checks state and (RFC 9207) iss on error responses too.
    await assert.rejects(
      client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier, expectedState: state, expectedNonce: nonce }),
      (err) => {
        assert.ok(err instanceof client.AuthorizationResponseError, `${err?.name}: ${err?.message}`);
        assert.equal(err.error, 'access_denied');
        assert.equal(err.cause.get('iss'), portico.issuer);
        return true;
      },
    );
  });

  test('prompt=none without a session: login_required back at the RP', async () => {
    const config = await discover('interop-public', undefined, client.None());
    const { callbackUrl, steps, pkceCodeVerifier, state, nonce } = await authorize(config, { extra: { prompt: 'none' } });
    assert.deepEqual(steps, ['GET /authorize -> 303'], 'no login page');
    await assert.rejects(
      client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier, expectedState: state, expectedNonce: nonce }),
      (err) => {
        assert.ok(err instanceof client.AuthorizationResponseError, `${err?.name}: ${err?.message}`);
        assert.equal(err.error, 'login_required');
        return true;
      },
    );
  });

  test('a wrong PKCE code_verifier is rejected (invalid_grant)', async () => {
    const config = await discover('interop-public', undefined, client.None());
    const { callbackUrl, state, nonce } = await authorize(config);
    await assert.rejects(
      client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: state,
        expectedNonce: nonce,
      }),
      (err) => {
        assert.ok(err instanceof client.ResponseBodyError, `${err?.name}: ${err?.message}`);
        assert.equal(err.error, 'invalid_grant');
        assert.equal(err.status, 400);
        return true;
      },
    );
  });
});
