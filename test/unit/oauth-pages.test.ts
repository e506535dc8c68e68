import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { CsrfError } from '../../src/oauth/csrf.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { clientDisplayName, clientHeadingName } from '../../src/oauth/pages/client-name.js';
import { type ConsentPageOptions, renderConsentPage } from '../../src/oauth/pages/consent-page.js';
import {
  renderAuthorizeErrorPage,
  renderCsrfErrorPage,
  renderErrorPage,
} from '../../src/oauth/pages/error-page.js';
import { formActionSource, PAGE_CSP, PAGE_HEADERS, pageHeaders } from '../../src/oauth/pages/headers.js';
import { escapeHtml, html, SafeHtml, safeHref, safePath } from '../../src/oauth/pages/html.js';
import { renderLoginPage } from '../../src/oauth/pages/login-page.js';
import { describeScope } from '../../src/oauth/pages/scope-descriptions.js';
import {
  STYLESHEET,
  STYLESHEET_HEADERS,
  STYLESHEET_INTEGRITY,
  STYLESHEET_PATH,
} from '../../src/oauth/pages/stylesheet.js';

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' autofocus onfocus='alert(1)",
  '</textarea></title><svg onload=alert(1)>',
  '&lt;script&gt; is already escaped',
  '${1+1} {{7*7}}',
];

/** The tags of a page, in order: a value that became markup would add or change one. */
function tags(page: string): string[] {
  return [...page.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1] as string);
}

function consentOptions(overrides: Partial<ConsentPageOptions> = {}): ConsentPageOptions {
  return {
    action: '/oauth/consent',
    requestId: 'req_1',
    csrfToken: 'tok',
    client: {
      clientId: 'pcd_abc',
      kind: 'dynamic',
      clientName: 'Acme Notes',
      redirectUris: ['http://127.0.0.1/callback'],
    },
    redirectUri: 'http://127.0.0.1:53117/callback',
    resource: 'https://mcp.example.com/mcp',
    grant: { granted: ['tools:read', 'resources:read'], dropped: ['tools:destructive'] },
    userName: 'alice',
    ...overrides,
  };
}

/** No script, no inline style, no inline handler, no meta refresh: what the CSP would refuse. */
function assertStrictCspMarkup(page: string): void {
  assert.doesNotMatch(page, /<script|\sstyle=|<style|\son[a-z]+=|http-equiv/i);
}

describe('escapeHtml and the html tag', () => {
  it('escapes the five characters that can end text or an attribute', () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&</a>`),
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    for (const value of HOSTILE) {
      assert.doesNotMatch(escapeHtml(value), /[<>"']/, value);
    }
    assert.equal(
      escapeHtml('&lt;'),
      '&amp;lt;',
      'already-escaped text is escaped again, so it shows as typed',
    );
  });

  it('escapes interpolations, keeps nested html, flattens lists and drops false/undefined/null', () => {
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(
      html`<p title="${'"x"'}">${inner}${['a', html`<br>`]}${false}${undefined}${null}${3}</p>`.toString(),
      '<p title="&quot;x&quot;"><b>&lt;i&gt;</b>a<br>3</p>',
    );
  });

  it('cannot be bypassed by constructing SafeHtml from a string', () => {
    const Ctor = SafeHtml as unknown as new (markup: string, token: symbol) => SafeHtml;
    assert.throws(() => new Ctor('<script>', Symbol('SafeHtml')), { name: 'TypeError' });
  });

  it('safePath keeps form actions on this server; safeHref allows only that or https', () => {
    assert.equal(safePath('/oauth/login'), '/oauth/login');
    for (const bad of [
      '//evil.example',
      '/\\evil.example',
      'https://evil.example',
      'javascript:alert(1)',
      '/a b',
      '',
    ]) {
      assert.throws(() => safePath(bad), { name: 'TypeError' }, bad);
    }
    assert.equal(safeHref('https://idp.example.com/authorize?x=1'), 'https://idp.example.com/authorize?x=1');
    assert.equal(safeHref('/oauth/login/external?request_id=1'), '/oauth/login/external?request_id=1');
    for (const bad of [
      'javascript:alert(1)',
      'JAVASCRIPT:alert(1)',
      'data:text/html,x',
      'http://idp.example.com',
      '//x',
    ]) {
      assert.throws(() => safeHref(bad), { name: 'TypeError' }, bad);
    }
  });
});

describe('headers and stylesheet', () => {
  it('PAGE_HEADERS carry the strict CSP, DENY framing, no-store, no-referrer and the HTML type', () => {
    assert.equal(
      PAGE_CSP,
      "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    assert.deepEqual(Object.fromEntries(PAGE_HEADERS), {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': PAGE_CSP,
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    });
  });

  it('lets a form end at the validated redirect URI: its origin, or its private-use scheme', () => {
    const csp = (uris: string[]) =>
      Object.fromEntries(pageHeaders({ redirectUris: uris }))['content-security-policy'];
    assert.match(
      csp(['http://127.0.0.1:53117/callback?x=1', 'http://127.0.0.1:53117/other']) ?? '',
      /; form-action 'self' http:\/\/127\.0\.0\.1:53117; frame-ancestors 'none';/,
    );
    assert.match(
      csp(['https://claude.ai/api/mcp/auth_callback']) ?? '',
      /form-action 'self' https:\/\/claude\.ai;/,
    );
    assert.match(csp(['cursor://anysphere.cursor-mcp/oauth/callback']) ?? '', /form-action 'self' cursor:;/);
    assert.match(csp(['com.example.app:/cb']) ?? '', /form-action 'self' com\.example\.app:;/);
    assert.match(csp(['http://[::1]:5000/cb']) ?? '', /form-action 'self' http:\/\/\[::1\]:5000;/);
  });

  it('formActionSource never lets a value add a directive', () => {
    assert.throws(() => formActionSource('not a uri'), { name: 'TypeError' });
    // `;` and `,` survive in a URL host, and would end a directive or a policy in a CSP.
    for (const uri of ['https://a.example;script-src/cb', 'https://a.example,x/cb']) {
      assert.throws(() => formActionSource(uri), { name: 'TypeError', message: /no usable CSP source/ }, uri);
    }
  });

  it('the stylesheet path and integrity are its SHA-256; it loads nothing from elsewhere', () => {
    const digest = createHash('sha256').update(STYLESHEET).digest();
    assert.equal(STYLESHEET_INTEGRITY, `sha256-${digest.toString('base64')}`);
    assert.equal(STYLESHEET_PATH, `/oauth/assets/pages-${digest.toString('hex').slice(0, 16)}.css`);
    assert.doesNotMatch(STYLESHEET, /url\(|@import|expression\(/);
    assert.equal(Object.fromEntries(STYLESHEET_HEADERS)['content-type'], 'text/css; charset=utf-8');
  });
});

describe('renderLoginPage', () => {
  const base = {
    action: '/oauth/login',
    requestId: 'req_1',
    csrfToken: 'tok',
    client: { clientId: 'pcd_abc', kind: 'dynamic' as const, clientName: 'Acme Notes' },
  };

  it('is a labelled form with autocomplete hints, the hidden request id and CSRF token', () => {
    const page = renderLoginPage(base);
    assert.match(page, /^<!doctype html>\n<html lang="en">/);
    assert.match(
      page,
      /<h1>Sign in to continue to Acme Notes <span class="badge badge-unverified name-mark" id="name-mark">self-declared name<\/span><\/h1>/,
    );
    assert.match(page, /<form method="post" action="\/oauth\/login">/);
    assert.match(page, /<input type="hidden" name="request_id" value="req_1">/);
    assert.match(page, /<input type="hidden" name="csrf_token" value="tok">/);
    assert.match(
      page,
      /<label for="username">User name<\/label>\n<input type="text" id="username" name="username" value="" autocomplete="username"/,
    );
    assert.match(
      page,
      /<label for="password">Password<\/label>\n<input type="password" id="password" name="password" autocomplete="current-password" required/,
    );
    assert.match(
      page,
      new RegExp(
        `<link rel="stylesheet" href="${STYLESHEET_PATH}" integrity="${STYLESHEET_INTEGRITY.replace(/[+/]/g, '\\$&')}">`,
      ),
    );
    assert.doesNotMatch(page, /Sign in with/);
    assertStrictCspMarkup(page);
  });

  it('shows a failed attempt as an alert tied to the field, keeping the user name', () => {
    const page = renderLoginPage({
      ...base,
      username: 'alice',
      error: 'The user name or password is not right.',
    });
    assert.match(
      page,
      /<div class="notice notice-error" role="alert" id="login-error"><p>The user name or password is not right\.<\/p><\/div>/,
    );
    assert.match(page, /value="alice" autocomplete="username"[^>]* aria-describedby="login-error">/);
    assert.match(page, /autocomplete="current-password" required autofocus>/);
  });

  it('offers the external provider, alone or beside the form, and never a script link', () => {
    const external = { name: 'Example SSO', href: '/oauth/login/external?request_id=req_1' };
    const both = renderLoginPage({ ...base, externalLogin: external });
    assert.match(
      both,
      /<p class="divider">or<\/p>\n<p><a class="button" href="\/oauth\/login\/external\?request_id=req_1">Sign in with Example SSO<\/a><\/p>/,
    );
    const only = renderLoginPage({ ...base, localLogin: false, externalLogin: external });
    assert.doesNotMatch(only, /<form|divider/);
    assert.throws(
      () => renderLoginPage({ ...base, externalLogin: { name: 'x', href: 'javascript:alert(1)' } }),
      {
        name: 'TypeError',
      },
    );
    assert.throws(() => renderLoginPage({ ...base, action: '//evil.example/steal' }), { name: 'TypeError' });
    assert.throws(
      () => renderLoginPage({ ...base, localLogin: false }),
      /needs local login, an external provider, or both/,
    );
  });

  it('renders every hostile value as text', () => {
    const benign = renderLoginPage({
      ...base,
      username: 'u',
      error: 'e',
      externalLogin: { name: 'n', href: '/x' },
    });
    for (const value of HOSTILE) {
      const page = renderLoginPage({
        ...base,
        client: { clientId: value, kind: 'dynamic', clientName: value },
        requestId: value,
        csrfToken: value,
        username: value,
        error: value,
        externalLogin: { name: value, href: '/x' },
      });
      assert.deepEqual(tags(page), tags(benign), value);
      assert.ok(page.includes(escapeHtml(value)), value);
    }
  });
});

describe('renderConsentPage', () => {
  it('names a self-registered client as unverified and warns when it only listens on loopback', () => {
    const page = renderConsentPage(consentOptions());
    assert.match(
      page,
      /<h1>Acme Notes <span class="badge badge-unverified name-mark" id="name-mark">self-declared name<\/span> wants to access your account<\/h1>/,
    );
    assert.match(
      page,
      /<span class="badge badge-unverified" id="client-kind">Unverified application<\/span>/,
    );
    assert.match(
      page,
      /id="unverified-warning"><p><strong>This application registered itself, and its name has not been checked\.<\/strong>/,
    );
    assert.match(page, /Anyone can register an application called “Acme Notes”/);
    assert.match(page, /id="loopback-warning"/);
    assert.match(page, /<dt>Signed in as<\/dt><dd>alice<\/dd>/);
    assert.match(page, /<dt>Access to<\/dt><dd class="mono">https:\/\/mcp\.example\.com\/mcp<\/dd>/);
    assert.match(
      page,
      /<dt>Returns you to<\/dt><dd><span class="mono">127\.0\.0\.1:53117<\/span> \(this computer\)<\/dd>/,
    );
    assertStrictCspMarkup(page);
  });

  it('lists the granted scopes with descriptions, and the dropped ones apart, as not granted', () => {
    const page = renderConsentPage(consentOptions());
    const [granted, dropped] = page.split('id="dropped-scopes"');
    assert.match(
      granted ?? '',
      /<ul class="scopes granted"><li><code>tools:read<\/code><span class="description">Use tools that only read data<\/span><\/li><li><code>resources:read<\/code>/,
    );
    assert.match(dropped ?? '', /<h2 id="dropped-heading">It asked for, but will not get<\/h2>/);
    assert.match(dropped ?? '', /Your account does not have these permissions/);
    assert.match(dropped ?? '', /<ul class="scopes dropped"><li><code>tools:destructive<\/code>/);
    assert.doesNotMatch(dropped ?? '', /tools:read/);
    assert.doesNotMatch(
      renderConsentPage(consentOptions({ grant: { granted: ['tools:read'], dropped: [] } })),
      /dropped-scopes/,
    );
  });

  it('offers Approve and Deny, and Approve only when something would be granted', () => {
    const page = renderConsentPage(consentOptions());
    assert.match(
      page,
      /<form class="decision" method="post" action="\/oauth\/consent">\n<input type="hidden" name="request_id" value="req_1">\n<input type="hidden" name="csrf_token" value="tok">/,
    );
    assert.match(
      page,
      /<button type="submit" class="primary" name="decision" value="approve">Approve<\/button>\n<button type="submit" name="decision" value="deny">Deny<\/button>/,
    );
    const none = renderConsentPage(consentOptions({ grant: { granted: [], dropped: ['tools:write'] } }));
    assert.doesNotMatch(none, /value="approve"/);
    assert.match(
      none,
      /id="nothing-granted">Nothing: none of the permissions it asked for are yours to give\./,
    );
  });

  it('marks a static client verified, and does not warn when a redirect URI is not loopback', () => {
    const page = renderConsentPage(
      consentOptions({
        client: {
          clientId: 'pcc_1',
          kind: 'static',
          clientName: 'CRM sync',
          redirectUris: ['https://crm.example.com/cb', 'http://127.0.0.1/cb'],
        },
        redirectUri: 'https://crm.example.com/cb',
      }),
    );
    assert.match(page, /Verified application/);
    assert.doesNotMatch(page, /unverified-warning|loopback-warning/);
    assert.match(page, /<dd><span class="mono">crm\.example\.com<\/span><\/dd>/);
  });

  it('names a metadata-document client by the host that published it', () => {
    const client = {
      clientId: 'https://app.example.net/.well-known/mcp-client.json',
      kind: 'metadata-document' as const,
      redirectUris: ['cursor://anysphere.cursor-mcp/oauth/callback'],
    };
    const page = renderConsentPage(
      consentOptions({ client, redirectUri: 'cursor://anysphere.cursor-mcp/oauth/callback' }),
    );
    assert.match(
      page,
      /<h1>app\.example\.net wants to access your account<\/h1>/,
      'the host names it: no mark',
    );
    assert.match(
      page,
      /<span class="badge badge-document" id="client-kind">Published by app\.example\.net<\/span>/,
    );
    assert.match(
      page,
      /described at <span class="mono">https:\/\/app\.example\.net\/\.well-known\/mcp-client\.json<\/span>/,
    );
    assert.match(page, /the app that handles <span class="mono">cursor:<\/span> links on this device/);
    assert.doesNotMatch(page, /loopback-warning/);
  });

  it('renders hostile client names, ids, scopes and user names as text', () => {
    // A scope outside the vocabulary, as each hostile one is: the same group, so the same tags.
    const benign = renderConsentPage(
      consentOptions({ grant: { granted: ['custom:x', 'resources:read'], dropped: ['custom:y'] } }),
    );
    for (const value of HOSTILE) {
      const page = renderConsentPage(
        consentOptions({
          requestId: value,
          csrfToken: value,
          client: {
            clientId: value,
            kind: 'dynamic',
            clientName: value,
            redirectUris: ['http://127.0.0.1/cb'],
          },
          resource: value,
          userName: value,
          grant: { granted: [value, 'resources:read'], dropped: [value] },
        }),
      );
      assert.deepEqual(tags(page), tags(benign), value);
      assert.ok(page.includes(`<h1>${escapeHtml(value)} <span class="badge`), value);
    }
  });

  it('groups the scopes by meaning, names the folded ones, and warns only when data can be deleted', () => {
    const page = renderConsentPage(
      consentOptions({
        grant: { granted: ['tools:read', 'everything:write', 'tools:write', 'crm:export'], dropped: [] },
        upstreams: ['everything'],
      }),
    );
    assert.deepEqual(
      [...page.matchAll(/<h3 id="scopes-(\w+)-heading">([^<]*)<\/h3>/g)].map((m) => `${m[1]}: ${m[2]}`),
      ['write: Change data', 'read: Read data', 'other: Permissions this server defines'],
    );
    assert.match(
      page,
      /<li><code>tools:write<\/code> <span class="covers">includes <code>everything:write<\/code><\/span><span class="description">Use tools that can change data<\/span><\/li>/,
    );
    assert.doesNotMatch(page, /destructive-warning/);
    for (const granted of [['tools:destructive'], ['*'], ['everything:*', 'everything:read']]) {
      const warned = renderConsentPage(
        consentOptions({ grant: { granted, dropped: [] }, upstreams: ['everything'] }),
      );
      assert.match(
        warned,
        /<section class="scope-group destructive" id="scopes-(destructive|everything)" aria-labelledby="scopes-\1-heading">\n<h3 id="scopes-\1-heading">[^<]+<\/h3>\n<p class="destructive-warning" id="destructive-warning"><strong>It could delete or overwrite data\.<\/strong>/,
        granted.join(' '),
      );
    }
  });

  it('clientDisplayName never gives an empty name', () => {
    assert.equal(
      clientDisplayName({ clientId: 'pcd_x', kind: 'dynamic', clientName: '  ' }),
      'An unnamed application',
    );
    assert.equal(
      clientDisplayName({ clientId: 'https://a.example/c.json', kind: 'metadata-document' }),
      'a.example',
    );
  });
});

describe('clientHeadingName', () => {
  it('marks a name the client gave itself, or that its metadata document gave it, and no other', () => {
    const heading = (client: Parameters<typeof clientHeadingName>[0]) => clientHeadingName(client).toString();
    const mark = (text: string) =>
      ` <span class="badge badge-unverified name-mark" id="name-mark">${text}</span>`;
    assert.equal(
      heading({ clientId: 'pcd_1', kind: 'dynamic', clientName: 'Acme' }),
      `Acme${mark('self-declared name')}`,
    );
    assert.equal(
      heading({ clientId: 'https://app.example.net/c.json', kind: 'metadata-document', clientName: 'Acme' }),
      `Acme${mark('name given by app.example.net')}`,
    );
    assert.equal(
      heading({ clientId: 'https://app.example.net/c.json', kind: 'metadata-document' }),
      'app.example.net',
    );
    assert.equal(heading({ clientId: 'pcc_1', kind: 'static', clientName: 'CRM sync' }), 'CRM sync');
    assert.equal(heading({ clientId: 'pcd_2', kind: 'dynamic', clientName: ' ' }), 'An unnamed application');
  });

  it('the sign-in page of an operator-registered client has no mark', () => {
    const page = renderLoginPage({
      action: '/oauth/login',
      requestId: 'r',
      csrfToken: 't',
      client: { clientId: 'pcc_1', kind: 'static', clientName: 'CRM sync' },
    });
    assert.match(page, /<h1>Sign in to continue to CRM sync<\/h1>/);
  });
});

describe('describeScope', () => {
  it('describes the vocabulary, upstream scopes, wildcards, and anything else generically', () => {
    assert.equal(describeScope('tools:read'), 'Use tools that only read data');
    assert.equal(describeScope('files:write', ['files']), 'Use tools that can change data, on files only');
    assert.equal(describeScope('files:*'), 'Every permission that starts with “files:”');
    assert.equal(
      describeScope('files:*', ['files']),
      'Everything on files, including tools that delete or overwrite data',
    );
    assert.equal(describeScope('tools:*'), 'Use every tool, including tools that delete or overwrite data');
    assert.match(describeScope('*'), /^Everything you can do on this server/);
    assert.match(describeScope('files:write'), /defined for specific tools or data/);
  });
});

describe('error pages', () => {
  it('an invalid client says what is wrong and what to do, with no way onward', () => {
    const page = renderAuthorizeErrorPage(new OAuthError('invalid_client', 'the client id is not known'));
    assert.match(page, /<h1>This sign-in link is not valid<\/h1>/);
    assert.match(page, /role="alert"><p>The client id is not known\.<\/p>/);
    assert.match(
      page,
      /not registered with this server, or no longer is\. Go back to the application and connect again\./,
    );
    assert.match(page, /Error code: <code>invalid_client<\/code>/);
    assert.doesNotMatch(page, /<a |<form|http-equiv/);
    assertStrictCspMarkup(page);
  });

  it('an unregistered redirect URI is quoted as text and explained', () => {
    const uri = 'https://evil.example/"><script>alert(1)</script>';
    const page = renderAuthorizeErrorPage(
      new OAuthError(
        'invalid_request',
        `redirect_uri ${JSON.stringify(uri)} is not registered for this client`,
      ),
    );
    assert.doesNotMatch(page, /<script>/);
    assert.match(page, /will not send you back to an address the application did not register/);
  });

  it('a server error shows nothing of the inside', () => {
    const page = renderAuthorizeErrorPage(new OAuthError('server_error', 'db at 10.0.0.5 refused'));
    assert.doesNotMatch(page, /10\.0\.0\.5/);
    assert.match(page, /<h1>Sign-in failed<\/h1>/);
  });

  it('a CSRF refusal names its code; renderErrorPage escapes everything', () => {
    assert.match(
      renderCsrfErrorPage(new CsrfError('csrf_cookie_missing')),
      /<code>csrf_cookie_missing<\/code>/,
    );
    const benign = renderErrorPage({ title: 't', problem: 'p', advice: 'a', code: 'c' });
    for (const value of HOSTILE) {
      assert.deepEqual(
        tags(renderErrorPage({ title: value, problem: value, advice: value, code: value })),
        tags(benign),
      );
    }
  });
});
