// Interop: Portico as the relying party of real upstream OpenID providers (issue 19).
// Two oidc-provider instances play the postal identity and the social-security
// identity (the second answers userinfo as a signed JWT); openid-client plays the
// portal. The browser is plain fetch with one cookie jar per origin. The whole chain:
// portal → Portico → upstream → Portico → portal.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';

import { Browser, freePort, startPortico } from './lib/portico.mjs';
import { UPSTREAM_CLIENT_SECRET, startUpstream } from './lib/upstream.mjs';

const SCOPE = 'openid profile national_id';
// The same person, known to both upstreams under their own subjects.
const LAN = { national_id: '079201000123', given_name: 'Lan', family_name: 'Nguyễn', birthdate: '1990-04-30' };
const MINH = { national_id: '079201000456', given_name: 'Minh', family_name: 'Trần', birthdate: '1985-11-02' };

let portico;
let upstreams; // id -> upstream
let portal; // openid-client configuration
let redirectUri;

function source(id, name, issuer) {
  return `[[sources]]
id = "${id}"
kind = "oidc"
display_name = { vi = "${name.vi}", en = "${name.en}" }
loa = 3
issuer = "${issuer}"
client_id = "portico"
scopes = ["openid", "profile", "national_id"]
trusted_for_linking = true
[sources.claims]
national_id = "national_id"
given_name = "given_name"
family_name = "family_name"
birthdate = "birthdate"
`;
}

/** A user agent with one cookie jar per origin (Portico's and each upstream's). */
class Agent {
  constructor() { this.jars = new Map(); }

  get(url) {
    const { origin } = new URL(url);
    if (!this.jars.has(origin)) this.jars.set(origin, new Browser());
    return this.jars.get(origin).get(url);
  }
}

/**
 * From the portal's authorization URL to the portal's callback, choosing `sourceId` on
 * Portico's login page. Answers the callback URL and the URLs passed through.
 */
async function signInVia(authorizationUrl, sourceId) {
  const agent = new Agent();
  const passed = [];
  let res = await agent.get(authorizationUrl);
  assert.equal(res.status, 303);
  const loginUrl = new URL(res.headers.get('location'), authorizationUrl);
  assert.equal(loginUrl.pathname, '/login');
  res = await agent.get(loginUrl);
  assert.equal(res.status, 200);
  const html = await res.text();
  // Each source is its own link, in the configured order.
  const links = [...html.matchAll(/href="(\/login\/([a-z-]+)\?request=[^"]+)"/g)].map((m) => m[2]);
  assert.deepEqual(links, ['vnpost', 'bhxh'], html);
  const link = html.match(new RegExp(`href="(/login/${sourceId}\\?request=[^"]+)"`))[1];
  let url = new URL(link, loginUrl);
  for (let i = 0; i < 12; i += 1) {
    if (url.href.startsWith(redirectUri)) return { callbackUrl: url, passed };
    passed.push(url);
    res = await agent.get(url);
    assert.equal(res.status, 303, `${url}: ${res.status} ${await res.text()}`);
    url = new URL(res.headers.get('location'), url);
  }
  throw new Error(`too many redirects: ${passed.join(' ')}`);
}

async function tokensVia(sourceId) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(portal, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const { callbackUrl, passed } = await signInVia(authorizationUrl, sourceId);
  const tokens = await client.authorizationCodeGrant(portal, callbackUrl, {
    pkceCodeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(portal, tokens.access_token, claims.sub);
  return { claims, userinfo, passed };
}

describe('Portico as the relying party of oidc-provider upstreams', { timeout: 120_000 }, () => {
  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const [vnpostPort, bhxhPort] = [await freePort(), await freePort()];
    upstreams = {
      vnpost: await startUpstream({
        name: 'vnpost',
        port: vnpostPort,
        redirectUri: `${issuer}/login/vnpost/callback`,
        accounts: { 'vnpost-lan': LAN, 'vnpost-minh': MINH },
      }),
      bhxh: await startUpstream({
        name: 'bhxh',
        port: bhxhPort,
        redirectUri: `${issuer}/login/bhxh/callback`,
        accounts: { 'bhxh-0001': LAN },
        signedUserinfo: true,
      }),
    };
    const toml = source('vnpost', { vi: 'Định danh Bưu điện', en: 'Vietnam Post identity' }, upstreams.vnpost.issuer)
      + source('bhxh', { vi: 'Bảo hiểm xã hội Việt Nam', en: 'Vietnam Social Security' }, upstreams.bhxh.issuer);
    portico = await startPortico({
      port,
      toml,
      // The upstream secrets come from the environment, as an operator would set them.
      env: {
        PORTICO_SOURCES__VNPOST__CLIENT_SECRET: UPSTREAM_CLIENT_SECRET,
        PORTICO_SOURCES__BHXH__CLIENT_SECRET: UPSTREAM_CLIENT_SECRET,
      },
    });
    redirectUri = `http://127.0.0.1:${await freePort()}/cb`;
    const reg = JSON.parse(await portico.cli([
      'client', 'add', '--client-id', 'portal', '--name', 'Interop portal',
      '--redirect-uri', redirectUri, '--first-party', '--json',
    ]));
    portal = await client.discovery(new URL(portico.issuer), 'portal', reg.client_secret, client.ClientSecretBasic(), {
      execute: [client.allowInsecureRequests],
    });
    client.enableNonRepudiationChecks(portal);
  });

  after(async () => {
    await portico?.stop();
    await Promise.all(Object.values(upstreams ?? {}).map((u) => u.close()));
  });

  test('sources list prints the redirect URI each upstream registered', async () => {
    const out = await portico.cli(['sources', 'list', '--json']);
    const list = JSON.parse(out);
    assert.deepEqual(list.map((s) => [s.id, s.kind, s.loa, s.redirect_uri]), [
      ['vnpost', 'oidc', 3, `${portico.issuer}/login/vnpost/callback`],
      ['bhxh', 'oidc', 3, `${portico.issuer}/login/bhxh/callback`],
    ]);
    assert.ok(!out.includes(UPSTREAM_CLIENT_SECRET), 'the secret is not printed');
  });

  test('the postal identity: the portal gets the mapped claims and the source level', async () => {
    upstreams.vnpost.signInAs('vnpost-lan');
    const { claims, userinfo, passed } = await tokensVia('vnpost');
    // Portico went to the upstream with the code flow, PKCE S256, a state and a nonce.
    assert.ok(passed.some((u) => u.origin === upstreams.vnpost.issuer && u.pathname === '/auth'));
    const sent = upstreams.vnpost.authorizeRequests.at(-1);
    assert.equal(sent.response_type, 'code');
    assert.equal(sent.code_challenge_method, 'S256');
    assert.equal(sent.scope, SCOPE);
    assert.ok(sent.state.length >= 32 && sent.nonce.length >= 32);
    assert.equal(sent.redirect_uri, `${portico.issuer}/login/vnpost/callback`);
    assert.equal(claims.iss, portico.issuer);
    assert.equal(claims.acr, 'urn:portico:loa:3');
    assert.deepEqual(claims.amr, ['fed', 'pwd']);
    assert.equal(userinfo.given_name, LAN.given_name);
    assert.equal(userinfo.family_name, LAN.family_name);
    assert.equal(userinfo.birthdate, LAN.birthdate);
    assert.equal(userinfo.national_id, LAN.national_id);
    assert.equal(userinfo.national_id_verified, true);
  });

  test('the social-security identity (signed userinfo) with the same national id is the same account', async () => {
    upstreams.vnpost.signInAs('vnpost-lan');
    const postal = await tokensVia('vnpost');
    upstreams.bhxh.signInAs('bhxh-0001');
    const social = await tokensVia('bhxh');
    assert.equal(social.claims.acr, 'urn:portico:loa:3');
    assert.equal(social.claims.sub, postal.claims.sub, 'one account: the same sub at the portal');
    assert.equal(social.userinfo.national_id, LAN.national_id);
    // Another person at the postal identity is another account.
    upstreams.vnpost.signInAs('vnpost-minh');
    const minh = await tokensVia('vnpost');
    assert.notEqual(minh.claims.sub, postal.claims.sub);
    assert.equal(minh.userinfo.given_name, MINH.given_name);
    assert.equal(minh.userinfo.national_id, MINH.national_id);
  });
});
