import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { createLogger, infoRedacted, REDACTED, secretMasker } from '../../src/log/logger.js';

/** A logger writing into an array, and the lines it wrote. */
function capture(secrets: readonly string[] = []) {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    secrets,
    destination: { write: (line: string) => void lines.push(line) },
  });
  const last = (): string => {
    const line = lines.at(-1);
    assert.ok(line !== undefined, 'a line was written');
    return line;
  };
  return { logger, lines, last };
}

/** The line leaks none of `forms`, is still valid JSON, and shows the redaction marker. */
function assertMasked(line: string, forms: readonly string[]): void {
  for (const form of forms) assert.ok(!line.includes(form), `the line leaks ${form}: ${line}`);
  assert.ok(line.includes(REDACTED), `the line shows ${REDACTED}: ${line}`);
  JSON.parse(line);
}

const SECRET = 'sk-live-7f3a9c2e1b';

describe('createLogger: secret values from the config', () => {
  it('masks a secret written raw, in the message and in a field', () => {
    const { logger, last } = capture([SECRET]);
    logger.info({ upstreamKey: `Bearer ${SECRET}` }, `calling with ${SECRET}`);
    assertMasked(last(), [SECRET]);
    const entry = JSON.parse(last()) as { msg: string; upstreamKey: string };
    assert.equal(entry.msg, `calling with ${REDACTED}`);
    assert.equal(entry.upstreamKey, `Bearer ${REDACTED}`);
  });

  it('masks a secret containing a quote, as JSON escapes it in the line', () => {
    const secret = 'pa"ss-word-42';
    const { logger, last } = capture([secret]);
    logger.info({ value: secret }, `x ${secret} y`);
    assertMasked(last(), [secret, 'pa\\"ss-word-42', 'ss-word-42']);
    assert.equal((JSON.parse(last()) as { value: string }).value, REDACTED);
  });

  it('masks a secret containing a backslash, as JSON escapes it in the line', () => {
    const secret = 'C:\\keys\\prod-token';
    const { logger, last } = capture([secret]);
    logger.warn({ path: secret });
    assertMasked(last(), [secret, 'C:\\\\keys\\\\prod-token', 'prod-token']);
  });

  it('masks a secret URL-encoded into a URL', () => {
    const secret = 'tok/en+with=chars';
    const { logger, last } = capture([secret]);
    logger.info({ url: `https://api.example.com/mcp?key=${encodeURIComponent(secret)}` }, 'connecting');
    assertMasked(last(), [secret, encodeURIComponent(secret), 'with%3Dchars']);
    // The whole query string goes: it may carry credentials that were never registered as secrets.
    assert.equal((JSON.parse(last()) as { url: string }).url, `https://api.example.com/mcp?${REDACTED}`);
  });

  it('masks a secret form-urlencoded (URLSearchParams: space as +, ~ as %7E), as OAuth bodies are written', () => {
    // Known gap: only the encodeURIComponent spelling is masked, so these forms leak today.
    const secret = 'client secret~v2';
    const { logger, last } = capture([secret]);
    const body = new URLSearchParams({ client_id: 'gw', client_secret: secret }).toString();
    assert.equal(body, 'client_id=gw&client_secret=client+secret%7Ev2');
    logger.info({ body }, 'introspection request');
    assertMasked(last(), [secret, 'client+secret%7Ev2', 'secret%7Ev2']);
  });

  it('masks a secret deep inside a nested object and an array', () => {
    const { logger, last } = capture([SECRET]);
    logger.info({ a: { b: { c: [`prefix-${SECRET}-suffix`] } } }, 'nested');
    assertMasked(last(), [SECRET]);
    const entry = JSON.parse(last()) as { a: { b: { c: string[] } } };
    assert.deepEqual(entry.a.b.c, [`prefix-${REDACTED}-suffix`]);
  });

  it('masks a secret in an error message and its stack', () => {
    const { logger, last } = capture([SECRET]);
    logger.error({ err: new Error(`upstream refused key ${SECRET}`) }, 'call failed');
    assertMasked(last(), [SECRET]);
    const entry = JSON.parse(last()) as { err: { message: string; stack: string } };
    assert.equal(entry.err.message, `upstream refused key ${REDACTED}`);
    assert.ok(entry.err.stack.includes(REDACTED));

    logger.error(new Error(`boom ${SECRET}`));
    assertMasked(last(), [SECRET]);
  });

  it('masks secrets in child logger bindings', () => {
    const { logger, last } = capture([SECRET]);
    logger.child({ upstream: `u-${SECRET}` }).info('from a child');
    assertMasked(last(), [SECRET]);
  });

  it('masks every secret, the longer whole when one contains another', () => {
    const short = 'abcd1234';
    const long = 'abcd1234-and-more';
    const { logger, last } = capture([short, long]);
    logger.info(`${long} | ${short}`);
    assertMasked(last(), [short, '-and-more']);
    assert.equal((JSON.parse(last()) as { msg: string }).msg, `${REDACTED} | ${REDACTED}`);
  });

  it('treats regex metacharacters in a secret literally', () => {
    const secret = 'a.b*c(d)+e';
    const { logger, last } = capture([secret]);
    logger.info(`near miss aXb*c(d)+e, hit ${secret}`);
    const msg = (JSON.parse(last()) as { msg: string }).msg;
    assert.equal(msg, `near miss aXb*c(d)+e, hit ${REDACTED}`);
  });

  it('leaves a secret shorter than 4 characters alone, because masking it would garble ordinary words in every line', () => {
    const { logger, last } = capture(['abc']);
    logger.info('abcdef abc');
    assert.equal((JSON.parse(last()) as { msg: string }).msg, 'abcdef abc');
    assert.ok(!last().includes(REDACTED));
  });

  it('writes lines unchanged when there are no secrets', () => {
    const { logger, last } = capture();
    logger.info({ n: 1 }, 'plain');
    const entry = JSON.parse(last()) as { msg: string; n: number; service: string };
    assert.equal(entry.msg, 'plain');
    assert.equal(entry.n, 1);
    assert.equal(entry.service, 'portcullis');
  });
});

describe('createLogger: credential-bearing fields', () => {
  it('redacts headers.authorization, headers.cookie and headers["x-api-key"], and keeps the rest', () => {
    const { logger, last } = capture();
    logger.info(
      {
        headers: {
          authorization: 'Bearer eyJhbGciOi.payload.sig',
          cookie: 'session=s3cr3t-cookie',
          'x-api-key': 'pcl_live_key_value',
          'proxy-authorization': 'Basic dXNlcjpwYXNz',
          accept: 'text/event-stream',
        },
      },
      'request',
    );
    const line = last();
    for (const value of ['eyJhbGciOi', 's3cr3t-cookie', 'pcl_live_key_value', 'dXNlcjpwYXNz']) {
      assert.ok(!line.includes(value), `leaks ${value}: ${line}`);
    }
    const { headers } = JSON.parse(line) as { headers: Record<string, string> };
    assert.deepEqual(headers, {
      authorization: REDACTED,
      cookie: REDACTED,
      'x-api-key': REDACTED,
      'proxy-authorization': REDACTED,
      accept: 'text/event-stream',
    });
  });

  it('redacts the same headers under req.headers', () => {
    const { logger, last } = capture();
    logger.info({
      req: { headers: { authorization: 'Basic abc', cookie: 'a=b', 'x-api-key': 'k-1', host: 'h' } },
    });
    const { req } = JSON.parse(last()) as { req: { headers: Record<string, string> } };
    assert.deepEqual(req.headers, {
      authorization: REDACTED,
      cookie: REDACTED,
      'x-api-key': REDACTED,
      host: 'h',
    });
  });

  it('redacts password, token and secret fields at the top level of a log object', () => {
    // Known gap: the paths are "*.password" etc., which pino matches one level down only.
    const { logger, last } = capture();
    logger.info({ password: 'hunter22', token: 'eyJ.top.level', secret: 'top-secret-value' }, 'login');
    const line = last();
    for (const value of ['hunter22', 'eyJ.top.level', 'top-secret-value']) {
      assert.ok(!line.includes(value), `leaks ${value}: ${line}`);
    }
    const entry = JSON.parse(line) as Record<string, string>;
    assert.equal(entry.password, REDACTED);
    assert.equal(entry.token, REDACTED);
    assert.equal(entry.secret, REDACTED);
  });

  it('redacts password, token and secret fields one level down', () => {
    const { logger, last } = capture();
    logger.info({
      user: { name: 'ann', password: 'hunter22' },
      oauth: { token: 't-1' },
      cfg: { secret: 's-1' },
    });
    const entry = JSON.parse(last()) as Record<string, Record<string, string>>;
    assert.deepEqual(entry.user, { name: 'ann', password: REDACTED });
    assert.equal(entry.oauth?.token, REDACTED);
    assert.equal(entry.cfg?.secret, REDACTED);
  });
});

describe('createLogger: credentials by their shape and personal data', () => {
  it('masks API keys, JWTs, Bearer values and emails in any field or message, and the line stays JSON', () => {
    const { logger, last } = capture();
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    logger.warn(
      { err: `upstream said: Bearer abcDEF123456 for pcl_AbCdEf0123456789`, who: 'alice@example.com' },
      `token ${jwt} refused`,
    );
    assertMasked(last(), ['abcDEF123456', 'pcl_AbCdEf', jwt, 'alice@example.com']);
  });

  it('leaves personal data alone with pii: false (the audit trail redacts its events itself)', () => {
    const lines: string[] = [];
    const logger = createLogger({ pii: false, destination: { write: (l: string) => void lines.push(l) } });
    logger.info({ who: 'alice@example.com', key: 'pcl_AbCdEf0123456789' }, 'x');
    const entry = JSON.parse(lines.at(-1) as string) as { who: string; key: string };
    assert.equal(entry.who, 'alice@example.com');
    assert.equal(entry.key, REDACTED);
  });
});

describe('infoRedacted (audit events, redacted before they are logged)', () => {
  const event = {
    type: 'policy.decision',
    requestId: 'r-1',
    target: { kind: 'tool', name: 'echo' },
    latencyMs: 3,
    missing: undefined,
    principal: { id: 'api-key:key_1', kind: 'api-key', name: 'bench' },
  };
  const withoutTime = (line: string) => {
    const { time, ...rest } = JSON.parse(line) as { time: string };
    assert.match(time, /^\d{4}-\d\d-\d\dT/);
    return rest;
  };

  it('writes the line logger.info would, keys in the same order, for the root logger and a child', () => {
    for (const make of [
      (l: ReturnType<typeof createLogger>) => l,
      (l: ReturnType<typeof createLogger>) => l.child({ upstream: 'u' }),
    ]) {
      const { logger, lines } = capture();
      const log = make(logger);
      log.info({ audit: event }, 'audit policy.decision');
      infoRedacted(log, 'audit', event, 'audit policy.decision');
      const [viaPino, direct] = lines as [string, string];
      assert.deepEqual(withoutTime(direct), withoutTime(viaPino));
      assert.deepEqual(Object.keys(JSON.parse(direct)), Object.keys(JSON.parse(viaPino)));
      assert.ok(direct.endsWith('}\n'));
    }
  });

  it('still gets the final line pass (secrets, credentials by shape, personal data), and honours the level', () => {
    const { logger, last, lines } = capture([SECRET]);
    infoRedacted(logger, 'audit', { note: `${SECRET} pcl_AbCdEf0123456789 alice@example.com` }, 'audit x');
    assertMasked(last(), [SECRET, 'pcl_AbCdEf', 'alice@example.com']);
    logger.level = 'warn';
    infoRedacted(logger, 'audit', event, 'audit x');
    assert.equal(lines.length, 1, 'nothing at info when the level is warn');
  });
});

describe('secretMasker', () => {
  it('returns undefined when there is nothing to mask', () => {
    assert.equal(secretMasker([]), undefined);
  });

  it('returns undefined when every secret is too short to mask', () => {
    assert.equal(secretMasker(['a', 'ab', 'abc']), undefined);
  });

  it('masks the raw, JSON-escaped and URL-encoded forms', () => {
    const mask = secretMasker(['x"y/z 1']);
    assert.ok(mask);
    assert.equal(
      mask('raw x"y/z 1 json x\\"y/z 1 url x%22y%2Fz%201 end'),
      `raw ${REDACTED} json ${REDACTED} url ${REDACTED} end`,
    );
  });
});

describe('createLogger: stdout in batches', () => {
  /** Runs `body` in a fresh process whose logger writes to stdout (a pipe), and returns stdout's lines. */
  function linesOf(body: string): string[] {
    const module = new URL('../../src/log/logger.ts', import.meta.url).href;
    const script = `const { createLogger, flushLogger } = await import(${JSON.stringify(module)});
      const logger = createLogger({ secrets: ['sk-live-7f3a9c2e1b'] });
      ${body}`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
      maxBuffer: 64 * 2 ** 20,
    });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.split('\n').filter((l) => l !== '');
  }
  const numbered = (lines: readonly string[]) =>
    lines.map((l) => (JSON.parse(l) as { n: number; msg: string }).n);
  const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

  it('loses no line when the process exits at once after logging (the exit hook writes what waits)', () => {
    const lines = linesOf(
      'for (let n = 0; n < 20000; n++) logger.info({ n }, `line ${n} sk-live-7f3a9c2e1b`); process.exit(0);',
    );
    assert.deepEqual(numbered(lines), upTo(20000), 'every line, once, in order');
    assert.ok(
      lines.every((l) => !l.includes('sk-live-7f3a9c2e1b')),
      'and each one redacted',
    );
  });

  it('loses no line written while a batch is on its way, when shutdown awaits flushLogger', () => {
    // Batches in flight: lines keep coming across several event-loop turns, then the flush and exit.
    const lines = linesOf(`let n = 0;
      for (let turn = 0; turn < 50; turn++) {
        for (let i = 0; i < 400; i++, n++) logger.info({ n }, 'line');
        await new Promise((r) => setImmediate(r));
      }
      await flushLogger(logger);
      process.exit(0);`);
    assert.deepEqual(numbered(lines), upTo(20000));
  });

  it('writes lines as they come, without waiting for more lines or for the exit', {
    timeout: 30_000,
  }, async () => {
    // The process exits only once both lines have reached this one: held until exit, they never would.
    // The first goes out at once (after a quiet spell), the second with the periodic flush.
    const module = new URL('../../src/log/logger.ts', import.meta.url).href;
    const script = `const { createLogger } = await import(${JSON.stringify(module)});
      const logger = createLogger();
      logger.info({ n: 0 }, 'after a quiet spell');
      logger.info({ n: 1 }, 'right after');
      process.stdin.resume();
      process.stdin.on('end', () => process.exit(0));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 2) resolve();
      }),
    );
    child.stdin.end();
    await once(child, 'exit');
    assert.deepEqual(numbered(out.split('\n').filter((l) => l !== '')), [0, 1]);
  });
});
