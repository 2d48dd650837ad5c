// Interop: a telecom operator as an upstream of Portico's `profile = "mobile_connect"`
// sources (issue 19). Two oidc-provider instances play two operators; the portal's
// `login_hint` number picks the operator by its prefix, and the operator receives it as
// `MSISDN:<E.164>` with its own `acr_values`. Without a hint, one page asks the number,
// whose prefix picks the operator.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';

import { Browser, freePort, parseForm, startPortico } from './lib/portico.mjs';
import { UPSTREAM_CLIENT_SECRET, startUpstream } from './lib/upstream.mjs';

const PERSON = { national_id: '079201000789', given_name: 'Hoa', family_name: 'Lê', birthdate: '1992-07-15' };

let portico;
let operators;
let portal;
let redirectUri;

function operator(id, name, issuer, prefixes) {
  return `[[sources]]
id = "${id}"
kind = "oidc"
profile = "mobile_connect"
display_name = "${name}"
loa = 3
issuer = "${issuer}"
client_id = "portico"
client_secret = "${UPSTREAM_CLIENT_SECRET}"
scopes = ["openid", "profile", "national_id"]
msisdn_prefixes = [${prefixes.map((p) => `"${p}"`).join(', ')}]
[sources.claims]
national_id = "national_id"
given_name = "given_name"
`;
}

class Agent {
  constructor() { this.jars = new Map(); }

  jar(url) {
    const { origin } = new URL(url);
    if (!this.jars.has(origin)) this.jars.set(origin, new Browser());
    return this.jars.get(origin);
  }

  get(url) { return this.jar(url).get(url); }

  post(url, fields) { return this.jar(url).postForm(url, fields); }
}

describe('Mobile Connect operators as oidc-provider upstreams', { timeout: 120_000 }, () => {
  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const common = { accounts: { 'msisdn-84971234567': PERSON }, acrValues: ['2', '3'], loginAcr: '3' };
    operators = {
      viettel: await startUpstream({ name: 'viettel', port: await freePort(), redirectUri: `${issuer}/login/viettel/callback`, ...common }),
      vina: await startUpstream({ name: 'vina', port: await freePort(), redirectUri: `${issuer}/login/vina/callback`, ...common }),
    };
    operators.viettel.signInAs('msisdn-84971234567');
    portico = await startPortico({
      port,
      toml: operator('viettel', 'Viettel Mobile ID', operators.viettel.issuer, ['+8496', '+8497'])
        + operator('vina', 'VinaPhone Mobile ID', operators.vina.issuer, ['+8491', '+8494']),
    });
    redirectUri = `http://127.0.0.1:${await freePort()}/cb`;
    const reg = JSON.parse(await portico.cli([
      'client', 'add', '--client-id', 'portal', '--redirect-uri', redirectUri, '--first-party', '--json',
    ]));
    portal = await client.discovery(new URL(portico.issuer), 'portal', reg.client_secret, client.ClientSecretBasic(), {
      execute: [client.allowInsecureRequests],
    });
    client.enableNonRepudiationChecks(portal);
  });

  after(async () => {
    await portico?.stop();
    await Promise.all(Object.values(operators ?? {}).map((o) => o.close()));
  });

  async function authorization(extra) {
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(portal, {
      redirect_uri: redirectUri,
      scope: 'openid profile national_id',
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...extra,
    });
    return { url, checks: { pkceCodeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true } };
  }

  // Follows the redirects (to the operator, which signs the person in, and back) to the portal.
  async function followToPortal(agent, from) {
    let url = from;
    for (let i = 0; i < 12 && !url.href.startsWith(redirectUri); i += 1) {
      const res = await agent.get(url);
      assert.equal(res.status, 303, `${url}: ${await res.text()}`);
      url = new URL(res.headers.get('location'), url);
    }
    assert.ok(url.href.startsWith(redirectUri), `ended at ${url}`);
    return url;
  }

  test("the number's prefix picks the operator, which gets login_hint MSISDN:+84...", async () => {
    const { url: authorizationUrl, checks } = await authorization({ login_hint: '0971234567' });
    const agent = new Agent();
    let res = await agent.get(authorizationUrl);
    const loginUrl = new URL(res.headers.get('location'), authorizationUrl);
    res = await agent.get(loginUrl);
    const html = await res.text();
    const offered = [...html.matchAll(/href="\/login\/([a-z-]+)\?request=/g)].map((m) => m[1]);
    assert.deepEqual(offered, ['viettel'], 'only the operator of +8497');
    const url = await followToPortal(agent, new URL(html.match(/href="(\/login\/viettel\?request=[^"]+)"/)[1], loginUrl));
    const sent = operators.viettel.authorizeRequests.at(-1);
    assert.equal(sent.login_hint, 'MSISDN:+84971234567');
    assert.equal(sent.acr_values, '3');
    assert.equal(operators.vina.authorizeRequests.length, 0, 'the other operator is not asked');
    const tokens = await client.authorizationCodeGrant(portal, url, checks);
    const claims = tokens.claims();
    assert.equal(claims.acr, 'urn:portico:loa:3');
    assert.deepEqual(claims.amr, ['fed', 'pwd']);
    const userinfo = await client.fetchUserInfo(portal, tokens.access_token, claims.sub);
    assert.equal(userinfo.national_id, PERSON.national_id);
    assert.equal(userinfo.given_name, PERSON.given_name);
  });

  test('without a hint, one page asks the number, and its prefix picks the operator', async () => {
    const { url: authorizationUrl, checks } = await authorization({});
    const agent = new Agent();
    const viettelBefore = operators.viettel.authorizeRequests.length;
    const vinaBefore = operators.vina.authorizeRequests.length;
    let res = await agent.get(authorizationUrl);
    const loginUrl = new URL(res.headers.get('location'), authorizationUrl);
    res = await agent.get(loginUrl);
    let html = await res.text();
    const offered = [...html.matchAll(/href="\/login\/([a-z-]+)\?request=/g)].map((m) => m[1]);
    assert.deepEqual(offered, ['viettel', 'vina'], 'each operator is its own choice, in order');
    // The person picks VinaPhone, but types a Viettel number: the approval goes to that
    // phone, so its operator is asked.
    const numberPage = new URL(html.match(/href="(\/login\/vina\?request=[^"]+)"/)[1], loginUrl);
    res = await agent.get(numberPage);
    assert.equal(res.status, 200);
    html = await res.text();
    assert.match(html, /type="tel"[^>]*autocomplete="tel"/);
    assert.equal(operators.vina.authorizeRequests.length, vinaBefore, 'no operator is asked before the number');
    let form = parseForm(html, '/login/vina');
    const postUrl = new URL(form.action, numberPage);

    res = await agent.post(postUrl, { ...form.fields, msisdn: 'không phải số' });
    assert.equal(res.status, 200, 'a text that is no number: the same page again');
    html = await res.text();
    assert.match(html, /không phải là số điện thoại di động/);
    form = parseForm(html, '/login/vina');

    res = await agent.post(postUrl, { ...form.fields, msisdn: '+1 202 555 0100' });
    assert.equal(res.status, 200, 'a number no operator serves: the number page again, saying so');
    html = await res.text();
    assert.match(html, /không thuộc nhà mạng nào/);
    form = parseForm(html, '/login/vina');

    res = await agent.post(postUrl, { ...form.fields, msisdn: '097 123 4567' });
    assert.equal(res.status, 303, await res.text());
    const url = await followToPortal(agent, new URL(res.headers.get('location'), postUrl));
    assert.equal(operators.vina.authorizeRequests.length, vinaBefore, 'VinaPhone is not asked about a Viettel number');
    assert.equal(operators.viettel.authorizeRequests.length, viettelBefore + 1);
    assert.equal(operators.viettel.authorizeRequests.at(-1).login_hint, 'MSISDN:+84971234567');
    const tokens = await client.authorizationCodeGrant(portal, url, checks);
    assert.equal(tokens.claims().acr, 'urn:portico:loa:3');
    const userinfo = await client.fetchUserInfo(portal, tokens.access_token, tokens.claims().sub);
    assert.equal(userinfo.national_id, PERSON.national_id);
  });
});
