// An upstream identity provider for Portico's `kind = "oidc"` sources: panva's
// oidc-provider (OpenID certified), configured as a national identity service would be
// (the postal identity, the social-security accounts): one client, `portico`, with
// client_secret_basic, PKCE S256 required, ES256 ID tokens, and test accounts carrying
// national_id, given_name, family_name and birthdate. Userinfo is JSON, or a signed JWT
// (`application/jwt`) with `signedUserinfo`.
//
// The person's login there has no form: GET /interaction/:uid signs in whichever
// account `upstream.signInAs(id)` named last (with amr ["pwd"]), and the `portico`
// client is granted what it asked for, as a first-party relying party would be.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

export const UPSTREAM_CLIENT_SECRET = 'portico-at-the-upstream-secret';

const SCOPES = ['openid', 'profile', 'national_id'];
const CLAIMS = {
  // acr and amr in the ID token, so that Portico can check and pass on its methods.
  acr: null,
  amr: null,
  openid: ['sub', 'acr', 'amr'],
  profile: ['given_name', 'family_name', 'birthdate'],
  national_id: ['national_id'],
};

/**
 * Starts a provider at http://127.0.0.1:<port>. `redirectUri`: Portico's
 * `{issuer}/login/{id}/callback`; `accounts`: id -> claims.
 * Returns { issuer, signInAs(id), authorizeRequests, close() }. An operator (Mobile
 * Connect) has `acrValues` (what it accepts in `acr_values`) and `loginAcr` (the `acr`
 * of its logins).
 */
export async function startUpstream({
  name, port, redirectUri, accounts, signedUserinfo = false, acrValues = [], loginAcr,
}) {
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingJwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256', kid: `${name}-key-1` };
  const state = { next: undefined, authorizeRequests: [] };

  const configuration = {
    jwks: { keys: [signingJwk] },
    clients: [{
      client_id: 'portico',
      client_secret: UPSTREAM_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      id_token_signed_response_alg: 'ES256',
      ...(signedUserinfo ? { userinfo_signed_response_alg: 'ES256' } : {}),
    }],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    responseTypes: ['code'],
    acrValues,
    scopes: SCOPES,
    claims: CLAIMS,
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256'],
      userinfoSigningAlgValues: ['ES256'],
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      jwtUserinfo: { enabled: true },
    },
    pkce: { methods: ['S256'], required: () => true },
    async findAccount(ctx, id) {
      const claims = accounts[id];
      if (!claims) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...claims }) };
    },
    // Portico is granted every scope and claim it asks for: no consent page upstream.
    async loadExistingGrant(ctx) {
      const { client, session, provider } = ctx.oidc;
      const accountId = ctx.oidc.account?.accountId ?? session.accountId;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      if (grantId) {
        const grant = await provider.Grant.find(grantId);
        if (grant && grant.accountId === accountId) return grant;
      }
      const grant = new provider.Grant({ clientId: client.clientId, accountId });
      grant.addOIDCScope(SCOPES.join(' '));
      grant.addOIDCClaims(Object.values(CLAIMS).flat().filter(Boolean));
      await grant.save();
      return grant;
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: {
      keys: [crypto.randomBytes(32).toString('base64url')],
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 600, Grant: 600 },
    async renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, err) => console.error(`${name} server_error`, ctx.method, ctx.path, err));
  const callback = provider.callback();
  const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)$/;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, issuer);
    if (req.method === 'GET' && url.pathname === '/auth') {
      state.authorizeRequests.push(Object.fromEntries(url.searchParams));
    }
    if (req.method === 'GET' && INTERACTION.test(url.pathname)) {
      provider
        .interactionFinished(req, res, { login: { accountId: state.next, amr: ['pwd'], ...(loginAcr ? { acr: loginAcr } : {}) }, consent: {} }, { mergeWithLastSubmission: false })
        .catch((err) => {
          if (res.headersSent) return;
          const status = err instanceof errors.OIDCProviderError ? err.statusCode : 500;
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: err.error || 'server_error' }));
        });
      return;
    }
    callback(req, res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    issuer,
    authorizeRequests: state.authorizeRequests,
    signInAs(id) { state.next = id; },
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
