/** Throwaway TLS material for tests: a self-signed certificate from Debian's openssl. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Writes cert.pem and key.pem (EC P-256, valid one day) for localhost and 127.0.0.1 into `dir`;
 * tests trust it as their own CA.
 */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
