/**
 * `kafka.tls` and `kafka.sasl`: how the service proves who it is to a Kafka cluster that asks (a managed
 * cluster almost always does) and checks that it talks to the right one. Files named here are checked at
 * validation, so a path that is wrong fails `cdc validate` naming the field, not the first connection.
 */
import { z } from 'zod';
import { pemProblem } from '../../common/connect/pem-files.ts';

const pemFile = (description: string) => z.string().min(1).optional().meta({ description });

export const kafkaTlsSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({
      description:
        'Connect with TLS. `false` turns the block off without removing it (`enabled: ${KAFKA_TLS:-false}`).',
    }),
    caFile: pemFile(
      "PEM file of the certificate authorities that signed the brokers' certificates. Default the system's trusted authorities (enough for most managed clusters).",
    ),
    certFile: pemFile(
      'PEM file of the client certificate (with its chain), for a cluster that authenticates clients by certificate (mutual TLS). Needs `keyFile`.',
    ),
    keyFile: pemFile('PEM file of the private key of `certFile` (not encrypted).'),
    checkServerName: z.boolean().default(true).meta({
      description:
        "Check that each broker's certificate names the host connected to (or `servername`). Only turn off for a cluster whose certificates name no address it is reached by; the certificate chain is still checked.",
    }),
    servername: z.string().min(1).optional().meta({
      description:
        "The name sent to the brokers (SNI) and checked against their certificates instead of each broker's own host name.",
    }),
  })
  .superRefine((tls, ctx) => {
    if (!tls.enabled) return;
    for (const field of ['caFile', 'certFile', 'keyFile'] as const) {
      const path = tls[field];
      const problem = path === undefined ? null : pemProblem(path);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: [field], message: problem });
    }
    if (tls.certFile !== undefined && tls.keyFile === undefined)
      ctx.addIssue({ code: 'custom', path: ['keyFile'], message: 'is required when certFile is set' });
    if (tls.keyFile !== undefined && tls.certFile === undefined)
      ctx.addIssue({ code: 'custom', path: ['certFile'], message: 'is required when keyFile is set' });
  });

export const kafkaSaslSchema = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).meta({
    description:
      'SASL mechanism the cluster expects. `plain` sends the password itself: use it only with `tls`.',
  }),
  username: z.string().min(1).meta({ description: 'SASL user name.' }),
  password: z.string().min(1).meta({
    description:
      'SASL password; write `${ENV_VAR}` or `${file:/path}` rather than the password itself. Never logged.',
  }),
});
