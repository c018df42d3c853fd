// A real OpenID Connect provider (panva/oidc-provider) for tests and `make run OIDC=1`, on loopback.
//
//   node provider.mjs config.json
//
// config.json: {"port": 0 | N, "issuer"?: "http://127.0.0.1:N", "clients": [{client_id, client_secret,
//   redirect_uris, post_logout_redirect_uris, ...other client metadata}], "resource": "http://127.0.0.1:8000",
//   "extra_resources"?: ["http://wrong-audience.invalid"], "resource_scope"?: "api",
//   "access_token_ttl": 600, "accounts_file": "/path/accounts.json", "keys_file": "/path/jwks.json"}
//
// Prints `oidc-provider listening <issuer>` once it accepts connections. Accounts are re-read from
// accounts_file at every sign-in and token issue. POST /_devstack/rotate (loopback only) puts a new signing
// key first in keys_file and swaps in a provider built with it; the old keys stay published.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

// Two warnings that are expected here are not repeated at every start (and key swap): that Node 20 is not
// the LTS oidc-provider 9 asks for (it runs; the tests prove what we use), and that state is in memory.
const EXPECTED_WARNINGS = ['Unsupported runtime', 'in-memory adapter is used'];
const warn = console.warn;
console.warn = (...args) => {
  if (typeof args[0] === 'string' && EXPECTED_WARNINGS.some((text) => args[0].includes(text))) return;
  warn(...args);
};
const { default: Provider, errors } = await import('oidc-provider');
// One in-memory store for every Provider this process builds, so that sessions, grants, codes and
// interactions outlive a key rotation's swap (oidc-provider gives each instance a store of its own).
// An internal module of the pinned version: without it, each instance keeps its own (state lost at rotation).
const sharedAdapter = await import('oidc-provider/lib/adapters/memory_adapter.js')
  .then((module) => module.createMemoryAdapter?.(15))
  .catch(() => undefined);

const ACR_PWD = 'urn:cpd:pwd';
const ACR_MFA = 'urn:cpd:mfa';
const MAX_BODY = 64 * 1024;

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node provider.mjs config.json');
  process.exit(2);
}
const cfg = JSON.parse(fs.readFileSync(configPath, 'utf8'));
for (const key of ['clients', 'resource', 'accounts_file', 'keys_file']) {
  if (cfg[key] === undefined) {
    console.error(`oidc-provider: ${configPath} has no "${key}"`);
    process.exit(2);
  }
}
const accessTokenTTL = Number(cfg.access_token_ttl ?? 600);
const allowedResources = [cfg.resource, ...(cfg.extra_resources ?? ['http://wrong-audience.invalid'])];
// What an authorization request that names no resource is given: every allowed one, so that the token
// request may still pick one with `resource` (RFC 8707 lets it only narrow what was authorized).
const defaultedResources = JSON.stringify(allowedResources);
const cookieKeys = [crypto.randomBytes(32).toString('base64url')]; // one per process: cookies outlive a key swap

// --- accounts --------------------------------------------------------------------------------------

function readAccounts() {
  return JSON.parse(fs.readFileSync(cfg.accounts_file, 'utf8'));
}

function accountByLogin(login) {
  const accounts = readAccounts();
  const account = Object.hasOwn(accounts, login) ? accounts[login] : undefined;
  return account ? { login, ...account, sub: account.sub ?? login } : undefined;
}

function accountBySub(sub) {
  for (const [login, account] of Object.entries(readAccounts())) {
    if ((account.sub ?? login) === sub) return { login, ...account, sub: account.sub ?? login };
  }
  return undefined;
}

const amrFor = (account) => (account.mfa ? ['pwd', 'mfa'] : ['pwd']);
const acrFor = (account) => (account.mfa ? ACR_MFA : ACR_PWD);

function identityClaims(account) {
  const claims = {};
  for (const key of ['email', 'email_verified', 'name', 'groups', 'roles', 'district', 'star']) {
    if (account[key] !== undefined && account[key] !== null) claims[key] = account[key];
  }
  return claims;
}

async function findAccount(ctx, sub) {
  const account = accountBySub(sub);
  if (!account) return undefined;
  return {
    accountId: sub,
    async claims() {
      return { sub, ...identityClaims(account) };
    },
  };
}

async function extraTokenClaims(ctx, token) {
  if (!token.accountId) return undefined;
  const account = accountBySub(token.accountId);
  if (!account) return undefined;
  // amr/acr as the sign-in established them (kept by the code or refresh token this token comes from).
  const source = ctx?.oidc?.entities?.AuthorizationCode ?? ctx?.oidc?.entities?.RefreshToken;
  return {
    ...identityClaims(account),
    amr: source?.amr ?? amrFor(account),
    acr: source?.acr ?? acrFor(account),
  };
}

// --- keys ------------------------------------------------------------------------------------------

function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return { ...jwk, kid: `devstack-${stamp}-${crypto.randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

function writeKeys(keys) {
  const tmp = `${cfg.keys_file}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(cfg.keys_file), { recursive: true });
  fs.writeFileSync(tmp, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, cfg.keys_file);
}

function loadKeys() {
  if (!fs.existsSync(cfg.keys_file)) {
    const keys = [newSigningKey()];
    writeKeys(keys);
    return keys;
  }
  const { keys } = JSON.parse(fs.readFileSync(cfg.keys_file, 'utf8'));
  if (!Array.isArray(keys) || !keys.length) throw new Error(`${cfg.keys_file} holds no keys`);
  return keys;
}

// --- pages -----------------------------------------------------------------------------------------

const esc = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>body{font-family:sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box;margin:.3rem 0}input,button{padding:.5rem}
.error{color:#a00}</style></head>
<body><main>
${body}
</main></body>
</html>`;
}

// The only text on each page that reads "Sign in" (or "Sign out") is its button, so that a test's
// text selector finds the button.
function loginPage({ uid, client, login, error }) {
  return page('Sign in', `<h1>Development identity provider</h1>
<p>Signing in to ${esc(client?.clientName || client?.clientId || 'the application')}</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label for="login">Login</label>
<input id="login" name="login" autocomplete="username" required autofocus value="${esc(login)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`);
}

async function logoutSource(ctx, form) {
  // `form` is oidc-provider's own (id="op.logoutForm", its hidden xsrf field): the button goes inside it.
  const button = '<button type="submit" name="logout" value="yes" autofocus>Sign out</button>';
  ctx.type = 'html';
  ctx.body = page('Sign out', `<h1>Signing out</h1>
<p>End your session at ${esc(ctx.host)}?</p>
${form.replace('</form>', `${button}</form>`)}`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<h1>Signed out</h1><p>You have signed out.</p>');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('Sign-in error', `<h1>Sign-in error</h1>
<p class="error" role="alert"><code>${esc(out.error)}</code>: ${esc(out.error_description)}</p>`);
}

// --- the provider ----------------------------------------------------------------------------------

function clientMetadata({ client_id, client_secret, redirect_uris, post_logout_redirect_uris, ...rest }) {
  return {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...rest,
    client_id,
    client_secret,
    redirect_uris,
    post_logout_redirect_uris: post_logout_redirect_uris ?? [],
  };
}

function buildProvider(issuer, keys) {
  const provider = new Provider(issuer, {
    ...(sharedAdapter ? { adapter: sharedAdapter } : {}),
    clients: cfg.clients.map(clientMetadata),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    findAccount,
    // Scope-requested claims go into the ID token too (conformIdTokenClaims: false); acr/amr always.
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      profile: ['name', 'groups', 'roles', 'district', 'star'],
      email: ['email', 'email_verified'],
      acr: null,
      amr: null,
      auth_time: null,
      iss: null,
      sid: null,
    },
    conformIdTokenClaims: false,
    acrValues: [ACR_PWD, ACR_MFA],
    // Cookies ignore ports: names of our own so that the product's on the same loopback host never clash.
    cookies: { keys: cookieKeys, names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_resume' } },
    extraTokenClaims,
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        async defaultResource(ctx, client, oneOf) {
          if (oneOf) return oneOf.includes(cfg.resource) ? cfg.resource : oneOf[0];
          return [...allowedResources];
        },
        async getResourceServerInfo(ctx, resourceIndicator) {
          if (!allowedResources.includes(resourceIndicator)) {
            throw new errors.InvalidTarget(`resource ${resourceIndicator} is not known to this provider`);
          }
          return {
            scope: cfg.resource_scope ?? 'api',
            audience: resourceIndicator,
            accessTokenTTL: accessTokenTTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
        // A resource the authorization request named is used without repeating it at the token endpoint;
        // the defaulted list is not (no `resource` there gives a UserInfo access token).
        async useGrantedResource(ctx, model) {
          return !(Array.isArray(model.resource) && JSON.stringify(model.resource) === defaultedResources);
        },
      },
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    jwks: { keys },
    pkce: { required: () => true },
    renderError,
    responseTypes: ['code'],
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTTL,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      Interaction: 60 * 60,
      Session: 24 * 60 * 60,
      Grant: 24 * 60 * 60,
    },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));
  return provider;
}

// --- interactions ----------------------------------------------------------------------------------

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function methodNotAllowed(res, allow) {
  send(res, 405, page('Method not allowed', '<h1>Method not allowed</h1>'), { allow });
}

function send(res, status, html, headers = {}) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(html);
}

async function autoConsent(provider, req, res, details) {
  // A first-party provider: grant whatever was asked without a page.
  const { prompt: { details: missing }, params, session: { accountId } } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  const consent = details.grantId ? {} : { grantId };
  await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
}

async function interaction(provider, req, res, url) {
  const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
  if (!match) return send(res, 404, page('Not found', '<h1>Not found</h1>'));
  const [, uid, login] = match;
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new errors.SessionNotFound('interaction session mismatch');
  const client = await provider.Client.find(details.params.client_id);

  if (!login) {
    if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
    if (details.prompt.name === 'login') {
      return send(res, 200, loginPage({ uid, client, login: details.params.login_hint }));
    }
    if (details.prompt.name === 'consent') return autoConsent(provider, req, res, details);
    throw new Error(`unexpected prompt ${details.prompt.name}`);
  }

  if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
  if (details.prompt.name !== 'login') throw new errors.SessionNotFound('this interaction is not a sign-in');
  const form = await readBody(req);
  const given = form.get('login') ?? '';
  const account = given ? accountByLogin(given) : undefined;
  if (!account || account.password === undefined || account.password !== (form.get('password') ?? '')) {
    return send(res, 401, loginPage({ uid, client, login: given, error: 'Invalid login or password' }));
  }
  const result = { login: { accountId: account.sub, amr: amrFor(account), acr: acrFor(account) } };
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

// --- the server ------------------------------------------------------------------------------------

const isLoopback = (address) => /^(127\.|::1$|::ffff:127\.)/.test(address ?? '');

let current; // { provider, handle, keys }

function install(issuer, keys) {
  const provider = buildProvider(issuer, keys);
  current = { provider, handle: provider.callback(), keys };
}

function rotate(res) {
  const keys = [newSigningKey(), ...current.keys];
  const issuer = current.provider.issuer;
  writeKeys(keys); // first the file, then the provider that signs with it
  install(issuer, keys);
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ kid: keys[0].kid, kids: keys.map((k) => k.kid) }));
}

async function handle(req, res) {
  if (!current) return send(res, 503, page('Starting', '<h1>Starting</h1>'));
  const url = new URL(req.url, 'http://127.0.0.1');
  const { provider, handle: oidc } = current;
  try {
    if (url.pathname === '/_devstack/rotate') {
      if (!isLoopback(req.socket.remoteAddress)) return send(res, 403, page('Forbidden', '<h1>Forbidden</h1>'));
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST');
      return rotate(res);
    }
    if (url.pathname.startsWith('/interaction/')) return await interaction(provider, req, res, url);
    return oidc(req, res);
  } catch (err) {
    if (res.headersSent) {
      res.destroy(err);
    } else if (err instanceof errors.SessionNotFound) {
      send(res, 400, page('Sign-in expired', `<h1>Sign-in expired</h1>
<p class="error" role="alert">${esc(err.error_description || err.message)}: start signing in again.</p>`));
    } else {
      console.error('oidc-provider devstack error:', err);
      send(res, 500, page('Error', '<h1>Internal error</h1>'));
    }
  }
  return undefined;
}

const server = http.createServer((req, res) => {
  handle(req, res);
});
server.on('clientError', (err, socket) => socket.destroy());

const host = '127.0.0.1';
server.listen(Number(cfg.port ?? 0), host, () => {
  const { port } = server.address();
  const issuer = cfg.issuer && Number(cfg.port) ? cfg.issuer.replace(/\/$/, '') : `http://${host}:${port}`;
  try {
    install(issuer, loadKeys());
  } catch (err) {
    console.error('oidc-provider: could not start:', err);
    process.exit(1);
  }
  process.stdout.write(`oidc-provider listening ${issuer}\n`);
});
server.on('error', (err) => {
  console.error('oidc-provider: could not listen:', err.message);
  process.exit(1);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
