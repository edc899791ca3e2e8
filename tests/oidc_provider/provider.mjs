// A local OpenID Connect provider for the end-to-end social login tests.
//
// It is the `oidc-provider` package with its built-in development interactions:
// a sign-in form that takes any login name (the password is ignored) and a consent
// form. Every login name is an account of its own. Nothing here is fit for
// production, and none of the values below is a secret of anyone.
//
// Configured by environment variables only:
//   PROVIDER_PORT       port on 127.0.0.1; the issuer is http://127.0.0.1:PORT
//   CLIENT_ID           the one client's id
//   CLIENT_SECRET       its secret
//   REDIRECT_URI        its one redirect URI
//   CLIENT_AUTH_METHOD  optional: client_secret_basic or client_secret_post, the
//                       one method that discovery then advertises. Unset, it
//                       advertises both.
//
// The client may authenticate at the token endpoint either way, whatever
// discovery says: oidc-provider takes client_secret_basic and client_secret_post
// as one. Each token request is logged with the method the client used, so a test
// can tell which one a relying party picked.
//
// Prints `listening http://127.0.0.1:PORT` once it serves; stops on SIGTERM or
// SIGINT.

import { generateKeyPairSync } from 'node:crypto';
import process from 'node:process';

import Provider from 'oidc-provider';

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: set the environment variable ${name}`);
    process.exit(2);
  }
  return value;
}

const port = Number.parseInt(required('PROVIDER_PORT'), 10);
const clientId = required('CLIENT_ID');
const clientSecret = required('CLIENT_SECRET');
const redirectUri = required('REDIRECT_URI');
const authMethod = process.env.CLIENT_AUTH_METHOD;
if (authMethod && !AUTH_METHODS.includes(authMethod)) {
  console.error(`provider.mjs: CLIENT_AUTH_METHOD must be one of ${AUTH_METHODS.join(', ')}`);
  process.exit(2);
}
const advertised = authMethod ? [authMethod] : AUTH_METHODS;

const issuer = `http://127.0.0.1:${port}`;

// A fresh signing key per run: ID tokens are RS256, as most providers sign them.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' };

function emailOf(login) {
  return login.includes('@') ? login : `${login}@example.test`;
}

const configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: advertised[0],
    },
  ],
  clientAuthMethods: advertised,
  responseTypes: ['code'],
  jwks: { keys: [signingKey] },
  // Fixed test values: the signed cookies only have to outlive one run.
  cookies: { keys: ['oidc-test-provider-cookie-key'] },
  // oidc-provider 9 supports the S256 method only; require it of every client.
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  features: {
    // The sign-in and consent forms that the tests post.
    devInteractions: { enabled: true },
  },
  // Any login name typed into the sign-in form is an account.
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: emailOf(id),
          email_verified: true,
          name: id,
        };
      },
    };
  },
  // Set, so that oidc-provider does not note that it runs on its defaults.
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    Grant: 3600,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
  },
};

const provider = new Provider(issuer, configuration);

// Errors the provider answers with (a refused code, a wrong secret...) go to the
// log, where a failing test shows them.
for (const event of ['authorization.error', 'grant.error', 'server_error', 'userinfo.error']) {
  provider.on(event, (_ctx, error) => {
    const description = error.error_description ? ` (${error.error_description})` : '';
    const cause = error.cause ? `: ${error.cause.message}` : '';
    console.error(`${event}: ${error.message}${description}${cause}`);
  });
}

provider.on('grant.success', (ctx) => {
  const method = ctx.get('authorization') ? 'client_secret_basic' : 'client_secret_post';
  console.log(`token: ${ctx.oidc.params.grant_type} for ${ctx.oidc.client.clientId}, authenticated with ${method}`);
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
