/** Opens the reader for a connection URL's dialect: `postgres(ql)://` or `mysql://` / `mariadb://`. */
import { CdcError } from '../../common/errors.ts';
import { redactUrl, silentLogger, type Logger } from '../../common/logger.ts';
import { openMysqlDialect } from './mysql-dialect.ts';
import { openPostgresDialect } from './postgres-dialect.ts';
import type { ReaderDialect } from './reader-dialect.ts';
import type { TableReader } from './types.ts';
import { VerifyReader } from './verify-reader.ts';

export async function openReader(
  url: string,
  role: 'source' | 'target',
  logger: Logger = silentLogger,
): Promise<TableReader> {
  return new VerifyReader(await openDialect(url, role, logger));
}

function openDialect(url: string, role: 'source' | 'target', logger: Logger): Promise<ReaderDialect> {
  const scheme = /^([a-z]+):/i.exec(url)?.[1]?.toLowerCase() ?? '';
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return openPostgresDialect(url, role, logger);
    case 'mysql':
    case 'mariadb':
      return openMysqlDialect(url, role);
    default:
      throw new CdcError(
        'REQUEST_INVALID',
        `the ${role} URL ${redactUrl(url)} must start with postgres://, mysql:// or mariadb://`,
        { role },
      );
  }
}
