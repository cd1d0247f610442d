/**
 * Where a cluster is and how to reach it safely: its bootstrap brokers with the TLS and SASL settings of
 * `kafka.tls` and `kafka.sasl`. Every client the service makes is given a whole `KafkaCluster` (`clusterOf`);
 * one given brokers alone cannot reach the secured broker of test/it/kafka/secure-*.test.ts, so those tests
 * fail. The PEM files are read when a client is made (at start-up for most).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ConnectionOptions } from 'node:tls';
import type { AuthenticationProviderArgs, Authenticator, Mechanism, SASLOptions } from 'kafkajs';
import { CdcError } from '../../common/errors.ts';
import { markSaslFailure } from './security-errors.ts';
import type { SchemaRegistryConfig } from '../config/schema-registry.ts';
import type { TopicSettings } from './topics.ts';

export interface KafkaTls {
  readonly enabled: boolean;
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly checkServerName: boolean;
  readonly servername?: string | undefined;
}

export interface KafkaSasl {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

export interface KafkaCluster {
  readonly brokers: readonly string[];
  readonly tls?: KafkaTls | undefined;
  readonly sasl?: KafkaSasl | undefined;
  /** How the topics the service creates on this cluster are set up (`kafka.topicCreation`). */
  readonly topicCreation?: TopicSettings | undefined;
  /**
   * The schema registry that goes with the cluster (`kafka.schemaRegistry`): carried with it so that every
   * client made from a `kafka` configuration, the changelog's readers and its publisher, uses the same one.
   */
  readonly schemaRegistry?: SchemaRegistryConfig | undefined;
}

/** The cluster part of anything that carries one (a `kafka` configuration, a client's options). */
export function clusterOf(from: KafkaCluster): KafkaCluster {
  return {
    brokers: from.brokers,
    tls: from.tls,
    sasl: from.sasl,
    topicCreation: from.topicCreation,
    schemaRegistry: from.schemaRegistry,
  };
}

/** kafkajs's `ssl` and `sasl` settings for a cluster; neither when it takes plain connections. */
export function kafkajsSecurity(cluster: KafkaCluster): {
  ssl?: ConnectionOptions;
  sasl?: Mechanism;
} {
  const tls = cluster.tls?.enabled === true ? cluster.tls : undefined;
  const sasl = cluster.sasl;
  return {
    ...(tls !== undefined ? { ssl: tlsOptions(tls) } : {}),
    ...(sasl !== undefined ? { sasl: saslMechanism(sasl) } : {}),
  };
}

/** kafkajs's own authenticator of each mechanism, by the file it lives in. */
const BUILT_IN_PROVIDERS: Record<KafkaSasl['mechanism'], string> = {
  plain: 'plain',
  'scram-sha-256': 'scram256',
  'scram-sha-512': 'scram512',
};
type Provider = (args: AuthenticationProviderArgs) => Authenticator;

/**
 * kafkajs's authenticator for the mechanism, whose failure names the broker and the user (kafkajs's names
 * neither): the same exchange with the broker, only the error says more.
 */
function saslMechanism(sasl: KafkaSasl): Mechanism {
  const file = `kafkajs/src/broker/saslAuthenticator/${BUILT_IN_PROVIDERS[sasl.mechanism]}.js`;
  const builtIn = (createRequire(import.meta.url)(file) as (options: SASLOptions) => Provider)({
    mechanism: sasl.mechanism,
    username: sasl.username,
    password: sasl.password,
  });
  return {
    mechanism: sasl.mechanism,
    authenticationProvider: (args) => {
      const authenticator = builtIn(args);
      return {
        authenticate: async () => {
          try {
            await authenticator.authenticate();
          } catch (error) {
            throw markSaslFailure(error, `${args.host}:${args.port}`, sasl.username, sasl.mechanism);
          }
        },
      };
    },
  };
}

function tlsOptions(tls: KafkaTls): ConnectionOptions {
  return {
    rejectUnauthorized: true,
    ...(tls.caFile !== undefined ? { ca: pem(tls.caFile, 'caFile') } : {}),
    ...(tls.certFile !== undefined ? { cert: pem(tls.certFile, 'certFile') } : {}),
    ...(tls.keyFile !== undefined ? { key: pem(tls.keyFile, 'keyFile') } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    // The chain is still verified against the authorities; only the name in the certificate is not compared.
    ...(tls.checkServerName ? {} : { checkServerIdentity: () => undefined }),
  };
}

function pem(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CdcError(
      'CONFIG_INVALID',
      `kafka.tls.${field}: cannot read ${path} (${code})`,
      { field: `kafka.tls.${field}`, file: path },
      { cause: error },
    );
  }
}
