// The authorization code flow with PKCE in a real browser: Debian's
// headless Chromium (/usr/bin/chromium), driven by playwright-core (which
// never downloads a browser). Run by e2e/run.sh:
//
//   node e2e/browser/consent.mjs http://127.0.0.1:PORT target/consent.png
//
// Opens /authorize for public-client, checks the consent page (and saves a
// screenshot of it), logs in as alice with a wrong password (401, the form
// again), then correctly, clicks Approve, captures the redirect to
// http://127.0.0.1:9999/callback (nothing listens there: the test answers
// that navigation itself with a plain page, and reads its URL), exchanges
// the code with the verifier at the token endpoint and calls /resource.
// Then the same with Deny, and a pushed authorization request (RFC 9126):
// pushed to /par, approved in the browser by its request_uri.

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

const CALLBACK = 'http://127.0.0.1:9999/callback';
const [base, screenshot] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error('usage: consent.mjs http://127.0.0.1:PORT SCREENSHOT.png');
  process.exit(2);
}

let passed = 0;
function check(condition, what) {
  if (!condition) {
    console.log(`FAIL ${what}`);
    throw new Error(what);
  }
  passed += 1;
  console.log(`  ok  ${what}`);
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function authorizeUrl(challenge, state) {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'public-client',
    redirect_uri: CALLBACK,
    scope: 'read',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return `${base}/authorize?${query}`;
}

/**
 * Clicks `button` and returns the URL of the navigation to the callback,
 * once that navigation has finished: the next `page.goto` must not race a
 * navigation still in flight.
 */
async function clickToCallback(page, button) {
  const request = page.waitForEvent('request', (r) => r.url().startsWith(CALLBACK), {
    timeout: 15000,
  });
  await page.click(button);
  const url = new URL((await request).url());
  await page.waitForURL((u) => u.href.startsWith(CALLBACK), { timeout: 15000 });
  return url;
}

const profile = mkdtempSync(join(tmpdir(), 'demo-e2e-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 720, height: 900 },
});

let failed = false;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  // The client's callback: nothing listens on its port, so the browser
  // would land on an error page that commits late, racing the next
  // navigation. Answer it here instead, as the client's page would.
  await page.route(`${CALLBACK}**`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback reached' }),
  );
  const problems = [];
  page.on('console', (m) => {
    // The wrong-password answer is a 401 on purpose; Chromium reports every
    // 4xx document as a console error.
    const expected = m.text().includes('status of 401');
    if (m.type() === 'error' && !expected) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));

  // --- The consent page.
  const { verifier, challenge } = pkce();
  const state = randomBytes(12).toString('hex');
  const response = await page.goto(authorizeUrl(challenge, state));
  check(response.status() === 200, 'GET /authorize: 200');
  check((await page.title()) === 'Authorize public-client', 'consent page: title names the client');
  const heading = await page.textContent('h1');
  check(heading.includes('public-client'), 'consent page: heading names the client');
  check((await page.textContent('ul.scopes')).includes('read'), 'consent page: lists the scope');
  check((await page.textContent('.redirect')).includes(CALLBACK), 'consent page: shows the redirect URI');
  check(await page.isVisible('#username'), 'consent page: username field');
  check(await page.isVisible('#password'), 'consent page: password field');
  check(await page.isVisible('button[value=approve]'), 'consent page: Approve button');
  check(await page.isVisible('button[value=deny]'), 'consent page: Deny button');
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  check(true, `screenshot saved to ${screenshot}`);

  // --- A wrong password: 401 and the form again.
  await page.fill('#username', 'alice');
  await page.fill('#password', 'wrong');
  const [rejected] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${base}/authorize` && r.request().method() === 'POST'),
    page.click('button[value=approve]'),
  ]);
  await page.waitForLoadState();
  check(rejected.status() === 401, 'wrong password: 401');
  check((await page.textContent('.error')).includes('Wrong username or password'),
    'wrong password: the form again with an error');
  check((await page.inputValue('#username')) === 'alice', 'wrong password: username kept');
  await page.screenshot({ path: screenshot.replace(/\.png$/, '-401.png'), fullPage: true });

  // --- Approve.
  await page.fill('#password', 'wonderland');
  const callback = await clickToCallback(page, 'button[value=approve]');
  check(`${callback.origin}${callback.pathname}` === CALLBACK, 'approve: redirected to the callback');
  check(callback.searchParams.get('state') === state, 'approve: state echoed');
  check(callback.searchParams.get('iss') === base, 'approve: iss is the issuer');
  const code = callback.searchParams.get('code');
  check(Boolean(code), 'approve: a code');

  // --- The code at the token endpoint.
  const exchange = (verifierToSend) =>
    fetch(`${base}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: 'public-client',
        code,
        redirect_uri: CALLBACK,
        code_verifier: verifierToSend,
      }),
    });
  const wrong = await exchange(pkce().verifier);
  check(wrong.status === 400 && (await wrong.json()).error === 'invalid_grant',
    'token endpoint: a wrong verifier is refused');
  // The failed attempt did not consume the code: PKCE failures are checked first.
  const tokenResponse = await exchange(verifier);
  const token = await tokenResponse.json();
  check(tokenResponse.status === 200, `token endpoint accepts the code (${tokenResponse.status})`);
  check(token.token_type === 'Bearer' && token.scope === 'read', 'token: Bearer, scope read');
  const me = await fetch(`${base}/resource`, {
    headers: { Authorization: `Bearer ${token.access_token}` },
  });
  const who = await me.json();
  check(me.status === 200 && who.user === 'alice', 'resource: alice');

  // --- Deny.
  const second = pkce();
  await page.goto(authorizeUrl(second.challenge, 'deny-state'));
  const denied = await clickToCallback(page, 'button[value=deny]');
  check(denied.searchParams.get('error') === 'access_denied', 'deny: error=access_denied');
  check(denied.searchParams.get('state') === 'deny-state', 'deny: state echoed');
  check(!denied.searchParams.has('code'), 'deny: no code');

  // --- A pushed authorization request (RFC 9126): the client pushes its
  // request to /par, the browser carries only client_id + request_uri.
  const third = pkce();
  const pushResponse = await fetch(`${base}/par`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      response_type: 'code',
      client_id: 'public-client',
      redirect_uri: CALLBACK,
      scope: 'read',
      state: 'par-state',
      code_challenge: third.challenge,
      code_challenge_method: 'S256',
    }),
  });
  const pushed = await pushResponse.json();
  check(pushResponse.status === 201, `PAR: 201 (${pushResponse.status})`);
  check(pushed.request_uri.startsWith('urn:ietf:params:oauth:request_uri:') && pushed.expires_in === 60,
    'PAR: request_uri and expires_in 60');
  const byReference = `${base}/authorize?${new URLSearchParams({
    client_id: 'public-client',
    request_uri: pushed.request_uri,
  })}`;
  const parPage = await page.goto(byReference);
  check(parPage.status() === 200, 'PAR: GET /authorize?request_uri: 200');
  check((await page.textContent('.redirect')).includes(CALLBACK), 'PAR: the pushed redirect URI shown');
  await page.fill('#username', 'alice');
  await page.fill('#password', 'wonderland');
  const parCallback = await clickToCallback(page, 'button[value=approve]');
  check(parCallback.searchParams.get('state') === 'par-state', 'PAR: the pushed state echoed');
  const parCode = parCallback.searchParams.get('code');
  check(Boolean(parCode), 'PAR: a code');
  const parToken = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: 'public-client',
      code: parCode,
      redirect_uri: CALLBACK,
      code_verifier: third.verifier,
    }),
  });
  check(parToken.status === 200, `PAR: the code exchanges (${parToken.status})`);
  const reused = await fetch(byReference, { redirect: 'manual' });
  check(reused.status === 400, `PAR: the request_uri is used up (${reused.status})`);

  check(problems.length === 0, `no console errors or CSP violations (${problems.join('; ')})`);
} catch (e) {
  failed = true;
  console.log(`browser test failed: ${e.message}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`browser: ${passed} passed, ${failed ? 1 : 0} failed`);
process.exit(failed ? 1 : 0);
