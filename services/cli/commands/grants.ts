/**
 * `cdc grants --config <file> [--for <name>]`: the SQL that gives each source's capture user and each
 * replica's writing user what it needs and nothing more (services/privileges/), for an administrator to
 * review and run: `cdc grants -c p.yaml --for pg-main | psql "$ADMIN_URL"`. Sources and replicas may live
 * on different servers, hence `--for`. `--kafka User:cdc` prints the Kafka ACLs of that principal instead.
 */
import { CdcError } from '../../../common/errors.ts';
import { loadConfig } from '../../config/load.ts';
import { formatGrants, grantBlocks } from '../../privileges/grants.ts';
import { formatKafkaAcls, kafkaAclBlocks } from '../../privileges/kafka.ts';
import { out } from '../output.ts';

export async function grantsCommand(options: {
  config: string;
  for?: string;
  kafka?: string;
}): Promise<void> {
  const config = await loadConfig(options.config);
  if (options.kafka !== undefined) {
    out(formatKafkaAcls(kafkaAclBlocks(config), options.kafka, config.kafka.brokers));
    return;
  }
  const blocks = grantBlocks(config).filter(
    (block) => options.for === undefined || block.name === options.for,
  );
  if (blocks.length === 0) {
    const names = [...config.sources, ...config.replicas].map((item) => item.name).join(', ');
    throw new CdcError(
      'REQUEST_INVALID',
      `--for ${JSON.stringify(options.for)} names no source or replica (${names})`,
    );
  }
  out(formatGrants(blocks));
}
