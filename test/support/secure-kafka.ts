/**
 * The Kafka broker whose clients must use TLS or SASL_SSL (stack/kafka-secure.sh), started on demand for the
 * tests of kafka.tls and kafka.sasl and stopped after them; the stack's own Kafka is never touched. Its
 * certificates, user and password are made by the script once and read back here from stack/.data.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './child-process.ts';

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'stack', 'kafka-secure.sh');
const DATA = join(REPO_ROOT, 'stack', '.data', 'kafka-secure');
const TLS_DIR = join(DATA, 'tls');

const port = (name: string, fallback: number): string => `127.0.0.1:${process.env[name] ?? fallback}`;

export interface SecureKafka {
  /** SSL listener that requires a client certificate (mutual TLS). */
  readonly tlsBrokers: readonly string[];
  /** SASL_SSL listener: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, no client certificate. */
  readonly saslBrokers: readonly string[];
  /** SSL listener whose certificate is made out to kafka.wrong-host.invalid, not to 127.0.0.1. */
  readonly wrongHostBrokers: readonly string[];
  /** The authority that signed the broker's and the client's certificates. */
  readonly caFile: string;
  /** An authority that signed nothing of this broker's. */
  readonly otherCaFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** The SASL user (SCRAM and PLAIN) and its password: a super user, needing no ACL. */
  readonly user: string;
  readonly password: string;
  /** A SASL user (SCRAM-SHA-512 and PLAIN) that may do only what ACLs allow it. */
  readonly limitedUser: string;
  readonly limitedPassword: string;
  /** Stops the broker; its data stays for the next start. */
  stop(): Promise<void>;
}

async function script(...args: string[]): Promise<void> {
  try {
    await run('bash', [SCRIPT, ...args], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`bash stack/kafka-secure.sh ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`, {
      cause: error,
    });
  }
}

export async function startSecureKafka(): Promise<SecureKafka> {
  await script('start');
  const credentials = new Map(
    (await readFile(join(DATA, 'credentials'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
  );
  return {
    tlsBrokers: [port('CDC_KAFKA_SECURE_TLS_PORT', 59292)],
    saslBrokers: [port('CDC_KAFKA_SECURE_SASL_PORT', 59293)],
    wrongHostBrokers: [port('CDC_KAFKA_SECURE_WRONG_HOST_PORT', 59294)],
    caFile: join(TLS_DIR, 'ca.pem'),
    otherCaFile: join(TLS_DIR, 'other-ca.pem'),
    clientCertFile: join(TLS_DIR, 'client.pem'),
    clientKeyFile: join(TLS_DIR, 'client.key'),
    user: credentials.get('user') ?? '',
    password: credentials.get('password') ?? '',
    limitedUser: credentials.get('limited_user') ?? '',
    limitedPassword: credentials.get('limited_password') ?? '',
    stop: () => script('stop'),
  };
}
