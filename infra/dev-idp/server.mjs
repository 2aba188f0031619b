// A small OpenID Connect provider for Pacto's development demo and its tests. NEVER for production:
// any password is accepted, everything lives in memory and is gone when the process stops.
//
// It is oidc-provider 9 (authorization code flow only, PKCE S256 required, RP-initiated logout) with a
// minimal login page of its own: an HTML form with an input named `login` (and `password`, ignored) and
// one submit button. An unknown login is refused on that page (HTTP 401, message in `p.error`). Consent is
// never asked: every scope the client requests is granted, so a login is
//   authorize → login form → POST → 303 back to the client's redirect_uri with `code` and `state`.
// Logging out (end_session_endpoint) signs out at once: the confirmation page submits itself.
//
// Configuration, by environment variables:
//   IDP_PORT      required. TCP port to listen on.
//   IDP_HOST      bind address, default 127.0.0.1.
//   IDP_ISSUER    default http://localhost:${IDP_PORT}. An origin without a path. It says `localhost`, not
//                 127.0.0.1, so that in browser tests the IdP's cookies do not mix with those of the app
//                 served on 127.0.0.1. Endpoint URLs are built from the Host header of each request, so
//                 fetch the discovery document through the issuer's host name.
//   IDP_CLIENTS   JSON array of clients (default []):
//                   [{"client_id": "pacto", "client_secret": "s3cret",
//                     "redirect_uris": ["http://127.0.0.1:8000/sso/callback"],
//                     "post_logout_redirect_uris": ["http://127.0.0.1:8000/"]}]
//                 Registered with token_endpoint_auth_method client_secret_basic; oidc-provider 9 accepts
//                 client_secret_post for such a client as well (and vice versa). Other client metadata
//                 (client_name, token_endpoint_auth_method, ...) may be given and is passed through.
//   IDP_ACCOUNTS  JSON object, login name → claims (default {}):
//                   {"bram@envases.example": {"sub": "bram-123", "email": "bram@envases.example",
//                    "email_verified": true, "name": "Bram de Vries", "groups": ["pacto-admins"]}}
//                 `sub` defaults to the login name. Logins are matched exactly, then ignoring case.
//   IDP_JWKS      optional: path to a JSON file {"keys": [private JWK, ...]} to sign with (first key is
//                 used for RS256 ID tokens). Without it an RS256 key is generated at start.
//
// Scopes: openid, email (email, email_verified), profile (name and the other standard profile claims,
// plus `groups`), and `groups` (only `groups`) for clients that ask for it separately. Claims go into the
// ID token itself (conformIdTokenClaims: false), not only into userinfo.
//
// Prints `IDP READY <issuer>` on stdout once listening; exits 0 on SIGTERM or SIGINT.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as querystring from 'node:querystring';

import Provider from 'oidc-provider';

function fail(message) {
  process.stderr.write(`dev-idp: ${message}\n`);
  process.exit(2);
}

function jsonEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  try {
    return JSON.parse(raw);
  } catch (err) {
    return fail(`${name} is not valid JSON: ${err.message}`);
  }
}

// ---------------------------------------------------------------- configuration

const port = Number.parseInt(process.env.IDP_PORT ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) fail('IDP_PORT must be set to a TCP port');
const host = process.env.IDP_HOST || '127.0.0.1';
const issuer = (process.env.IDP_ISSUER || `http://localhost:${port}`).replace(/\/+$/, '');
{
  let parsed;
  try { parsed = new URL(issuer); } catch { parsed = undefined; }
  if (!parsed || parsed.pathname !== '/' || parsed.search || parsed.hash) {
    fail(`IDP_ISSUER must be an origin such as http://localhost:${port} (got ${issuer})`);
  }
}

const clientsConfig = jsonEnv('IDP_CLIENTS', []);
if (!Array.isArray(clientsConfig)) fail('IDP_CLIENTS must be a JSON array');
const clients = clientsConfig.map((c) => {
  if (!c || typeof c.client_id !== 'string' || typeof c.client_secret !== 'string'
      || !Array.isArray(c.redirect_uris)) {
    fail('each client in IDP_CLIENTS needs client_id, client_secret and redirect_uris');
  }
  return {
    token_endpoint_auth_method: 'client_secret_basic',
    post_logout_redirect_uris: [],
    ...c,
    grant_types: ['authorization_code'],
    response_types: ['code'],
  };
});

const accountsConfig = jsonEnv('IDP_ACCOUNTS', {});
if (!accountsConfig || typeof accountsConfig !== 'object' || Array.isArray(accountsConfig)) {
  fail('IDP_ACCOUNTS must be a JSON object mapping a login name to its claims');
}
const accountsBySub = new Map();
for (const [login, claims] of Object.entries(accountsConfig)) {
  if (!claims || typeof claims !== 'object') fail(`IDP_ACCOUNTS[${login}] must be an object of claims`);
  const sub = String(claims.sub ?? login);
  accountsBySub.set(sub, { ...claims, sub });
}

function accountForLogin(login) {
  const typed = String(login ?? '').trim();
  if (!typed) return undefined;
  const key = Object.hasOwn(accountsConfig, typed)
    ? typed
    : Object.keys(accountsConfig).find((k) => k.toLowerCase() === typed.toLowerCase());
  if (key === undefined) return undefined;
  return accountsBySub.get(String(accountsConfig[key].sub ?? key));
}

function loadJwks() {
  const path = process.env.IDP_JWKS;
  if (path) {
    let jwks;
    try {
      jwks = JSON.parse(fs.readFileSync(path, 'utf8'));
    } catch (err) {
      return fail(`cannot read IDP_JWKS ${path}: ${err.message}`);
    }
    if (!Array.isArray(jwks?.keys) || jwks.keys.length === 0) fail(`IDP_JWKS ${path} has no "keys"`);
    return jwks;
  }
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: `dev-${crypto.randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' }] };
}

// ---------------------------------------------------------------- pages

const escape = (value) => String(value ?? '').replace(/[&<>"']/g, (ch) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[ch]));

// Self-contained on purpose: oidc-provider's own pages load a web font from the internet.
function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>
body{font-family:system-ui,sans-serif;background:#eef1f5;margin:0;padding:40px 10px}
main{max-width:340px;margin:0 auto;background:#fff;padding:24px 28px;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:1.25rem;margin:0 0 4px}p.note{color:#555;font-size:.85rem;margin:0 0 16px}
label{display:block;margin:12px 0 4px;font-size:.9rem}input{width:100%;box-sizing:border-box;padding:8px;font-size:1rem}
button{margin-top:18px;width:100%;padding:10px;font-size:1rem;background:#2d5bd7;color:#fff;border:0;border-radius:4px;cursor:pointer}
button.secondary{background:#888}p.error{color:#a40000;background:#fde8e8;padding:8px;border-radius:4px}
a{color:#2d5bd7;font-size:.9rem}pre{white-space:pre-wrap;word-break:break-word}
</style>
</head>
<body><main>
${body}
</main></body>
</html>`;
}

function loginPage({ uid, client, error, login }) {
  const clientName = client?.clientName || client?.clientId || 'an application';
  return page('Sign in · Development IdP', `<h1>Development IdP</h1>
<p class="note">Sign in to continue to ${escape(clientName)}. Any password is accepted.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
<label for="login">Login</label>
<input id="login" name="login" type="text" value="${escape(login)}" autofocus required>
<label for="password">Password</label>
<input id="password" name="password" type="password">
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${escape(uid)}/abort">Cancel</a></p>`);
}

function errorPage(title, details) {
  return page(title, `<h1>${escape(title)}</h1>
${Object.entries(details).filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<pre><strong>${escape(k)}</strong>: ${escape(v)}</pre>`).join('\n')}`);
}

// ---------------------------------------------------------------- the provider

const provider = new Provider(issuer, {
  clients,
  jwks: loadJwks(),
  findAccount(ctx, sub) {
    const claims = accountsBySub.get(sub);
    if (!claims) return undefined;
    return { accountId: sub, claims: () => ({ ...claims }) };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
      'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at', 'groups'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  pkce: { required: () => true },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
    // Over plain http the cookies are not `secure` (they follow the request, and proxy is off).
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out · Development IdP', `<h1>Sign out?</h1>
${form}
<button id="idp-logout" type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button class="secondary" type="submit" form="op.logoutForm">No, stay signed in</button>
<script>document.getElementById('idp-logout').click();</script>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out · Development IdP', '<h1>Signed out</h1><p>You have been signed out.</p>');
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = errorPage('Development IdP error', out);
  },
});
provider.proxy = false; // plain http, no reverse proxy: never trust X-Forwarded-*

// ---------------------------------------------------------------- interactions (login + auto-consent)

function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 64 * 1024) {
        reject(new Error('request body too large'));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(querystring.parse(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

// Grants whatever the pending consent prompt is missing: there is no consent screen.
async function autoConsent(req, res, details) {
  const { prompt: { details: missing }, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } },
    { mergeWithLastSubmission: true });
}

async function handleInteraction(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    send(res, 400, errorPage('Sign-in expired', {
      error: 'invalid_request', error_description: `${err.message}; start the sign-in again` }));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, errorPage('Sign-in expired', { error: 'invalid_request', error_description: 'interaction mismatch' }));
    return;
  }
  const client = await provider.Client.find(details.params.client_id);
  const promptName = details.prompt.name;

  if (action === undefined && req.method === 'GET') {
    if (promptName === 'consent') {
      await autoConsent(req, res, details);
    } else if (promptName === 'login') {
      send(res, 200, loginPage({ uid, client, login: details.params.login_hint }));
    } else {
      send(res, 501, errorPage('Not implemented', { prompt: promptName }));
    }
    return;
  }
  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const login = Array.isArray(form.login) ? form.login[0] : form.login;
    const account = accountForLogin(login);
    if (!account) {
      send(res, 401, loginPage({ uid, client, login, error: `Unknown login: ${login ?? ''}` }));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'abort' && (req.method === 'GET' || req.method === 'POST')) {
    await provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }
  send(res, 405, errorPage('Method not allowed', { method: req.method, path: req.url }));
}

// ---------------------------------------------------------------- server

const oidcCallback = provider.callback();
const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, 'http://idp.invalid');
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?\/?$/.exec(pathname);
  if (!match) {
    oidcCallback(req, res);
    return;
  }
  handleInteraction(req, res, match[1], match[2]).catch((err) => {
    process.stderr.write(`dev-idp: interaction error: ${err.stack || err}\n`);
    if (!res.headersSent) send(res, 500, errorPage('Server error', { error: err.message }));
    else res.end();
  });
});

server.on('error', (err) => fail(`cannot listen on ${host}:${port}: ${err.message}`));
server.listen(port, host, () => {
  process.stdout.write(`IDP READY ${issuer}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
