import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../services/config/load.ts';
import { formatGrants, grantBlocks } from '../../../services/privileges/grants.ts';
import { formatKafkaAcls, kafkaAclBlocks } from '../../../services/privileges/kafka.ts';
import { targetError } from '../../../services/apply/target-errors.ts';
import { judgePostgresError } from '../../../services/apply/postgres/target-errors.ts';
import { judgeMysqlError } from '../../../services/apply/mysql/target-errors.ts';

const config = parseConfig(
  JSON.stringify({
    name: 'shop',
    kafka: { brokers: ['127.0.0.1:9092'] },
    sources: [
      {
        name: 'pg-main',
        kind: 'postgres',
        url: 'postgres://capture:pw@db/shop',
        tables: ['public.*', 'sales.orders'],
      },
      { name: 'maria', kind: 'mariadb', url: 'mysql://binlog:pw@db/shop', tables: ['shop.*', 'crm.cust*'] },
    ],
    replicas: [
      { name: 'pg-copy', source: 'pg-main', kind: 'postgres', url: 'postgres://writer:pw@replica/copy' },
      {
        name: 'report',
        source: 'maria',
        kind: 'postgres',
        url: 'postgres://writer:pw@replica/copy',
        origin: false,
      },
      { name: 'maria-copy', source: 'pg-main', kind: 'mariadb', url: 'mysql://applier:pw@replica/' },
    ],
  }),
  'json',
);

void describe('cdc grants', () => {
  const blocks = grantBlocks(config);
  const byName = (name: string) => blocks.find((block) => block.name === name)!;

  void test('one block per source and replica, for the user of its URL', () => {
    assert.deepEqual(
      blocks.map((block) => [block.name, block.server, block.user]),
      [
        ['pg-main', 'postgres', 'capture'],
        ['maria', 'mariadb', 'binlog'],
        ['pg-copy', 'postgres', 'writer'],
        ['report', 'postgres', 'writer'],
        ['maria-copy', 'mariadb', 'applier'],
      ],
    );
  });

  void test('PostgreSQL capture: REPLICATION, SELECT on what is captured, the publication made by the administrator', () => {
    assert.deepEqual(byName('pg-main').statements, [
      'ALTER ROLE "capture" WITH LOGIN REPLICATION',
      'GRANT CONNECT ON DATABASE "shop" TO "capture"',
      'GRANT USAGE ON SCHEMA "public" TO "capture"',
      'GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "capture"',
      'ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT SELECT ON TABLES TO "capture"',
      'GRANT USAGE ON SCHEMA "sales" TO "capture"',
      'GRANT SELECT ON "sales"."orders" TO "capture"',
      `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_publication WHERE pubname = 'cdc_pg-main') THEN CREATE PUBLICATION "cdc_pg-main" FOR TABLES IN SCHEMA "public", TABLE "sales"."orders"; END IF; END $$`,
    ]);
  });

  void test('PostgreSQL writer: its database and schemas, and the origin functions only when it marks origins', () => {
    const marking = byName('pg-copy').statements;
    assert.deepEqual(marking.slice(0, 3), [
      'GRANT CONNECT, CREATE ON DATABASE "copy" TO "writer"',
      'CREATE SCHEMA IF NOT EXISTS "public" AUTHORIZATION "writer"',
      'GRANT USAGE, CREATE ON SCHEMA "public" TO "writer"',
    ]);
    assert.match(
      marking.at(-1)!,
      /^GRANT EXECUTE ON FUNCTION pg_replication_origin_create\(text\), .* TO "writer"$/,
    );
    const plain = byName('report').statements;
    assert.ok(
      plain.includes('GRANT USAGE, CREATE ON SCHEMA "shop" TO "writer"'),
      'a MariaDB database names the schema',
    );
    assert.ok(!plain.some((statement) => statement.includes('EXECUTE')));
  });

  void test('MariaDB capture and writer', () => {
    assert.deepEqual(byName('maria').statements, [
      "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'binlog'@'%'",
      "GRANT SELECT ON `shop`.* TO 'binlog'@'%'",
      "GRANT SELECT ON `crm`.* TO 'binlog'@'%'",
    ]);
    assert.deepEqual(byName('maria-copy').statements, [
      "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES ON `public`.* TO 'applier'@'%'",
      "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES ON `sales`.* TO 'applier'@'%'",
      "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON `cdc_apply`.* TO 'applier'@'%'",
      "GRANT BINLOG REPLAY ON *.* TO 'applier'@'%'",
    ]);
  });

  void test('the text ends each statement and comments each block', () => {
    const text = formatGrants([byName('maria')]);
    assert.match(text, /^-- capture of source maria: MariaDB\/MySQL user binlog\n-- {3}/);
    assert.match(text, /TO 'binlog'@'%';$/);
  });
});

void describe('cdc grants --kafka', () => {
  void test('prefixed ACLs on the pipeline topic prefix only; transactional ids for capture', () => {
    const blocks = kafkaAclBlocks(config);
    assert.deepEqual(
      blocks.map((block) =>
        block.acls.map((acl) => `${acl.resource} ${acl.prefix} ${acl.operations.join(',')}`),
      ),
      [
        [
          'topic cdc. Create,Describe,DescribeConfigs,AlterConfigs,Read,Write',
          'group cdc. Read,Describe',
          'transactional-id cdc.capture. Write,Describe',
        ],
        ['topic cdc. Create,Describe,DescribeConfigs,AlterConfigs,Read,Write', 'group cdc. Read,Describe'],
      ],
    );
    const text = formatKafkaAcls(blocks, 'User:cdc', ['k1:9093']);
    assert.match(
      text,
      /^kafka-acls\.sh --bootstrap-server k1:9093 --add --allow-principal 'User:cdc' --operation Write --operation Describe --transactional-id 'cdc\.capture\.' --resource-pattern-type prefixed$/m,
    );
  });
});

void describe('a missing privilege on the target names the GRANT', () => {
  const pgError = (message: string) => Object.assign(new Error(message), { code: '42501' });
  const pgFix = (message: string) =>
    targetError(pgError(message), 'cannot apply', {}, judgePostgresError(pgError(message), false, 'writer'));

  void test('PostgreSQL', () => {
    const cases: [string, string][] = [
      ['permission denied for database copy', 'GRANT CONNECT, CREATE ON DATABASE "copy" TO "writer"'],
      ['permission denied for schema sales', 'GRANT USAGE, CREATE ON SCHEMA "sales" TO "writer"'],
      ['permission denied for table orders', 'GRANT SELECT, INSERT, UPDATE, DELETE ON orders TO "writer"'],
      ['must be owner of table orders', 'ALTER TABLE orders OWNER TO "writer"'],
    ];
    for (const [message, grant] of cases) {
      const error = pgFix(message);
      assert.equal(error.code, 'TARGET_PRIVILEGE');
      assert.equal(error.retriable, false);
      assert.ok(error.message.includes(`fix: ${grant}`), error.message);
    }
    assert.match(
      pgFix('permission denied for function pg_replication_origin_create').message,
      /fix: GRANT EXECUTE ON FUNCTION pg_replication_origin_create\(text\), .* TO "writer" \(or set origin: false\)/,
    );
  });

  void test('MariaDB', () => {
    const fix = (errno: number, message: string) => {
      const error = Object.assign(new Error(message), { errno });
      return targetError(error, 'cannot apply', {}, judgeMysqlError(error, false, 'applier'));
    };
    const cases: [number, string, string][] = [
      [
        1044,
        "Access denied for user 'applier'@'localhost' to database 'cdc_apply'",
        "ON `cdc_apply`.* TO 'applier'@'localhost'",
      ],
      [
        1142,
        "CREATE command denied to user 'applier'@'10.0.0.2' for table `shop`.`orders`",
        "GRANT CREATE ON `shop`.* TO 'applier'@'10.0.0.2'",
      ],
      [
        1227,
        'Access denied; you need (at least one of) the SUPER, BINLOG REPLAY privilege(s) for this operation',
        "GRANT BINLOG REPLAY ON *.* TO 'applier'@'%'",
      ],
    ];
    for (const [errno, message, grant] of cases) {
      const error = fix(errno, message);
      assert.equal(error.code, 'TARGET_PRIVILEGE');
      assert.ok(error.message.includes(grant), error.message);
    }
    assert.equal(fix(1062, "Duplicate entry '1' for key 'PRIMARY'").code, 'APPLY_FAILED');
  });
});
