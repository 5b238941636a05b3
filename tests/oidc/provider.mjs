// A real OpenID provider for OpenPIM's sign-in tests: panva's oidc-provider (OpenID-certified),
// issuing JWT access tokens for OpenPIM's audience, with a way to rotate its signing key.
//
// Environment:
//   OIDC_PORT       port to listen on at 127.0.0.1 (default 0: any free port)
//   OIDC_AUDIENCE   the `aud` of OpenPIM access tokens (default api://openpim)
//   OIDC_ACCESS_TTL lifetime of access tokens in seconds (default: oidc-provider's, 1 hour), short
//                   to make a client refresh
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
//
// Test control endpoints (never part of a real provider):
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

const clients = [
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
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    features: {
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
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
  return provider.callback();
}

let handler;
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
  if (req.url.startsWith('/jwks')) jwksFetches += 1;
  handler(req, res);
});

await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
handler = makeProvider(issuer);
process.stdout.write(`${JSON.stringify({ issuer, keys: keys.map((k) => k.info) })}\n`);

// Stop with the test: when its stdin closes (the parent died) or on SIGTERM.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
