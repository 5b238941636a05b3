// A real OpenID provider for OpenPIM's sign-in tests: panva's oidc-provider (OpenID-certified),
// issuing JWT access tokens for OpenPIM's audience, with a way to rotate its signing key.
//
// Environment:
//   OIDC_PORT       port to listen on at 127.0.0.1 (default 0: any free port)
//   OIDC_AUDIENCE   the `aud` of OpenPIM access tokens (default api://openpim)
//   OIDC_ACCESS_TTL lifetime of access tokens in seconds (default: oidc-provider's, 1 hour), short
//                   to make a client refresh
//   OIDC_WEB_REDIRECT     redirect URIs of the web client openpim-web (comma-separated), e.g.
//                         http://127.0.0.1:8080/signin/oidc/callback
//   OIDC_WEB_POST_LOGOUT  its post-logout redirect URIs (comma-separated)
//
// On start it prints one JSON line to stdout:
//   {"issuer": "http://127.0.0.1:PORT", "keys": [{"kid", "alg", "privatePem", "publicPem"}]}
// so a test can also sign tokens with the provider's own keys (expired, wrong audience, ...).
//
// Users (accounts), each also reachable through a client-credentials client acting as them:
//   alice@openpim.test  amr ["pwd","mfa"]   client alice-cli / alice-secret (ES256),
//                                           client alice-ps256 / alice-secret (PS256)
//   bob@openpim.test    amr ["pwd"]         client bob-cli / bob-secret
//   carol@openpim.test  amr ["pwd","mfa"]   client carol-cli / carol-secret (not in OpenPIM)
// Public client openpim-cli has the device-authorization grant.
// Confidential client openpim-web / openpim-web-secret is OpenPIM's web UI: authorization code
// with PKCE required, ID tokens carrying amr/acr; openpim-web-public is the same as a public
// client (no secret, PKCE alone). Its login page (devInteractions: any password)
// signs in the account named; bob gets amr ["pwd"], or ["pwd","mfa"] when the authorization
// request asks for MFA (acr_values, or claims requesting amr "mfa"): the provider does step-up.
//
// Test control endpoints (never part of a real provider):
//   POST /__test/web-client  {"redirect_uris": [...], "post_logout_redirect_uris": [...]}: the web
//                        client's URIs (for a test that learns OpenPIM's port after starting this)
//   POST /__test/rotate  a new ES256 key signs from now on (the old one stays published);
//                        answers the new key like the start line's entries
//   GET  /__test/stats   {"jwksFetches": n}

import http from 'node:http';
import Provider from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';

const port = Number(process.env.OIDC_PORT || 0);
const audience = process.env.OIDC_AUDIENCE || 'api://openpim';
const accessTtl = process.env.OIDC_ACCESS_TTL ? Number(process.env.OIDC_ACCESS_TTL) : undefined;

const accounts = {
  alice: { preferred_username: 'alice@openpim.test', name: 'Alice', amr: ['pwd', 'mfa'] },
  bob: { preferred_username: 'bob@openpim.test', name: 'Bob', amr: ['pwd'] },
  carol: { preferred_username: 'carol@openpim.test', name: 'Carol', amr: ['pwd', 'mfa'] },
};
// Which account a client-credentials client acts as.
const clientAccount = { 'alice-cli': 'alice', 'alice-ps256': 'alice', 'bob-cli': 'bob', 'carol-cli': 'carol' };

let serial = 0;
async function newKey(alg) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  serial += 1;
  const kid = `${alg.toLowerCase()}-${serial}-${Date.now()}`;
  const jwk = { ...(await exportJWK(privateKey)), kid, use: 'sig' };
  return { jwk, info: { kid, alg, privatePem: await exportPKCS8(privateKey), publicPem: await exportSPKI(publicKey) } };
}

// Signing keys, newest first: the provider signs with the first key fitting the algorithm.
const keys = [await newKey('ES256'), await newKey('PS256')];
let jwksFetches = 0;

// The acr of a sign-in with MFA (besides amr containing "mfa").
const MFA_ACR = 'urn:openpim:test:mfa';
const uris = (v) => (v || '').split(',').map((u) => u.trim()).filter(Boolean);
const webClient = {
  client_id: 'openpim-web',
  client_secret: 'openpim-web-secret',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: uris(process.env.OIDC_WEB_REDIRECT),
  post_logout_redirect_uris: uris(process.env.OIDC_WEB_POST_LOGOUT),
};

// The same as a public client (no secret: PKCE alone).
const { client_secret: _secret, ...withoutSecret } = webClient;
const publicWebClient = { ...withoutSecret, client_id: 'openpim-web-public', token_endpoint_auth_method: 'none' };
const webClients = [webClient, publicWebClient];
const isWebClient = (clientId) => webClients.some((c) => c.client_id === clientId);

const clients = [
  webClient,
  publicWebClient,
  ...Object.keys(clientAccount).map((id) => ({
    client_id: id,
    client_secret: `${clientAccount[id]}-secret`,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  })),
  {
    client_id: 'openpim-cli',
    token_endpoint_auth_method: 'none',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  },
];

function accountClaims(id) {
  const a = accounts[id];
  return a && { preferred_username: a.preferred_username, name: a.name, amr: a.amr };
}

// One store for every provider instance: a key rotation (a new instance with the new key) keeps
// the sessions, grants and refresh tokens issued before it, as a real provider's rotation does.
const adapter = createMemoryAdapter();

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    adapter,
    clients,
    jwks: { keys: keys.map((k) => k.jwk) },
    findAccount: async (_ctx, id) =>
      accounts[id] && { accountId: id, claims: async () => ({ sub: id, ...accountClaims(id) }) },
    // ID tokens always say how the person signed in (amr, acr), as Entra's and Keycloak's do.
    claims: { openid: ['sub', 'amr', 'acr'], profile: ['name', 'preferred_username'], email: ['email'] },
    acrValues: [MFA_ACR, 'urn:openpim:test:pwd'],
    // The web client reads the user's names from the ID token, as OpenPIM maps them.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // OpenPIM's web client is first-party: no consent screen.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (!isWebClient(ctx.oidc.client.clientId)) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid profile email');
      grant.addOIDCClaims(['amr', 'acr']);
      await grant.save();
      return grant;
    },
    features: {
      claimsParameter: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, client) => (isWebClient(client.clientId) ? undefined : audience),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          if (resource !== audience) throw new Provider.errors.InvalidTarget();
          const alg = client.clientId === 'alice-ps256' ? 'PS256' : 'ES256';
          return {
            scope: 'openpim',
            audience,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
            ...(accessTtl ? { accessTokenTTL: accessTtl } : {}),
          };
        },
      },
    },
    // What OpenPIM maps and trusts: the user's name and how they authenticated.
    extraTokenClaims: async (_ctx, token) => {
      const id = token.accountId || clientAccount[token.clientId];
      return accountClaims(id);
    },
  });
  currentProvider = provider;
  return provider.callback();
}

// Whether an authorization request asks for MFA: an acr_values entry, or the claims parameter
// requesting amr "mfa" for the ID token.
function asksForMfa(params) {
  if (uris(params.acr_values?.replaceAll(' ', ',')).includes(MFA_ACR)) return true;
  try {
    const amr = JSON.parse(params.claims || '{}')?.id_token?.amr;
    return Boolean(amr && (amr.value === 'mfa' || amr.values?.includes('mfa')));
  } catch {
    return false;
  }
}

// The login form's submission: signs in the account named, with the amr it gets.
async function login(req, res, params) {
  const body = await new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(new URLSearchParams(data)));
  });
  const accountId = body.get('login');
  const base = accounts[accountId]?.amr || ['pwd'];
  const amr = base.includes('mfa') || asksForMfa(params) ? ['pwd', 'mfa'] : ['pwd'];
  const acr = amr.includes('mfa') ? MFA_ACR : 'urn:openpim:test:pwd';
  await currentProvider.interactionFinished(req, res, { login: { accountId, amr, acr } }, { mergeWithLastSubmission: false });
}

let handler;
let currentProvider;
const server = http.createServer(async (req, res) => {
  if (req.url === '/__test/rotate' && req.method === 'POST') {
    const key = await newKey('ES256');
    keys.unshift(key);
    handler = makeProvider(issuer);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(key.info));
    return;
  }
  if (req.url === '/__test/stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ jwksFetches }));
    return;
  }
  if (req.url === '/__test/web-client' && req.method === 'POST') {
    let data = '';
    for await (const chunk of req) data += chunk;
    const uris = JSON.parse(data);
    for (const client of webClients) {
      client.redirect_uris = uris.redirect_uris || [];
      client.post_logout_redirect_uris = uris.post_logout_redirect_uris || [];
    }
    handler = makeProvider(issuer);
    res.end('{}');
    return;
  }
  // The login prompt's submission is answered here (amr per account and request); anything else
  // (consent, the device flow's pages) by devInteractions.
  if (req.method === 'POST' && /^\/interaction\/[^/]+$/.test(req.url)) {
    const details = await currentProvider.interactionDetails(req, res).catch(() => undefined);
    if (details?.prompt?.name === 'login') {
      await login(req, res, details.params).catch((e) => {
        res.statusCode = 400;
        res.end(String(e));
      });
      return;
    }
  }
  if (req.url.startsWith('/jwks')) jwksFetches += 1;
  handler(req, res);
});

await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
handler = makeProvider(issuer);
process.stdout.write(`${JSON.stringify({ issuer, keys: keys.map((k) => k.info) })}\n`);
// Only the start line goes to stdout (a test may stop reading it); the provider's notices go to
// stderr, and a closed stdout does not crash the provider.
console.log = console.error;
console.info = console.error;
process.stdout.on('error', () => {});

// Stop with the test: when its stdin closes (the parent died) or on SIGTERM.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
