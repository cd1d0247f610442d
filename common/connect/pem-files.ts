/**
 * PEM files named by the configuration (Kafka's `tls.*File`, a database URL's `sslrootcert` or `ssl-ca`): why a
 * path cannot serve, so validation names the field instead of the first connection failing, and the text read
 * when a connection is made.
 */
import { readFileSync } from 'node:fs';

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----/;

/** Why `path` cannot serve as a PEM file, or null when it can. */
export function pemProblem(path: string): string | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${path} does not exist`;
    if (code === 'EACCES') return `${path} is not readable by this process`;
    if (code === 'EISDIR') return `${path} is a folder, not a file`;
    return `cannot read ${path} (${code ?? 'unreadable'})`;
  }
  return PEM_BLOCK.test(text) ? null : `${path} holds no PEM block (-----BEGIN ...-----)`;
}

/** The text of a PEM file; read at each connection, so a renewed certificate is used without a restart. */
export const readPem = (path: string): string => readFileSync(path, 'utf8');
