/**
 * JSON schemas of the API's requests and responses. Responses are serialized through them, so a field not
 * listed here (a connection URL someone added to a status object, say) never reaches a client.
 */
const nullableString = { type: ['string', 'null'] } as const;
const nullableNumber = { type: ['number', 'null'] } as const;

export const errorResponse = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

const snapshotProgress = {
  type: ['object', 'null'],
  required: ['table', 'tablesDone', 'tablesTotal', 'rowsDone', 'rowsTotal', 'rowsPerSecond', 'done'],
  properties: {
    table: nullableString,
    tablesDone: { type: 'integer' },
    tablesTotal: { type: 'integer' },
    rowsDone: { type: 'integer' },
    rowsTotal: { type: 'integer' },
    rowsPerSecond: { type: 'number' },
    done: { type: 'boolean' },
  },
} as const;

export const connectorStatus = {
  type: 'object',
  required: [
    'name',
    'kind',
    'state',
    'stream',
    'confirmed',
    'received',
    'lagBytes',
    'lagMillis',
    'snapshot',
    'lastError',
  ],
  properties: {
    name: { type: 'string' },
    kind: { type: 'string', enum: ['postgres', 'mariadb', 'mysql'] },
    state: {
      type: 'string',
      enum: [
        'starting',
        'snapshotting',
        'streaming',
        'reconnecting',
        'paused',
        'standby',
        'stopped',
        'failed',
      ],
    },
    stream: { type: 'string' },
    confirmed: nullableString,
    received: nullableString,
    lagBytes: nullableNumber,
    lagMillis: nullableNumber,
    snapshot: snapshotProgress,
    lastError: nullableString,
    warnings: { type: 'array', items: { type: 'string' } },
    server: {
      type: 'object',
      required: ['current', 'candidates'],
      properties: {
        current: { type: 'string' },
        candidates: { type: 'array', items: { type: 'string' } },
      },
    },
    resnapshot: {
      type: 'object',
      required: ['state', 'reason'],
      properties: { state: { type: 'string', enum: ['needed', 'running'] }, reason: { type: 'string' } },
    },
    eventsOversized: { type: 'integer' },
    lease: {
      type: 'object',
      required: ['state', 'heldSince', 'holder', 'members'],
      properties: {
        state: { type: 'string', enum: ['active', 'standby', 'joining'] },
        heldSince: nullableString,
        holder: {
          type: ['object', 'null'],
          required: ['member', 'host'],
          properties: { member: { type: 'string' }, host: { type: 'string' } },
        },
        members: { type: ['integer', 'null'] },
      },
    },
    synchronous: {
      type: 'object',
      required: ['standbyName', 'named', 'syncState', 'synchronousCommit', 'waitingCommits'],
      properties: {
        standbyName: { type: 'string' },
        named: { type: 'boolean' },
        syncState: nullableString,
        synchronousCommit: { type: 'string' },
        waitingCommits: { type: 'integer' },
      },
    },
  },
} as const;

export const workerStatus = {
  type: 'object',
  required: [
    'name',
    'source',
    'state',
    'appliedPosition',
    'lagMillis',
    'endToEndLagMillis',
    'hopLagMillis',
    'backlogEvents',
    'eventsApplied',
    'transactionsApplied',
    'errors',
    'deadLetters',
    'lastError',
  ],
  properties: {
    name: { type: 'string' },
    source: { type: 'string' },
    state: { type: 'string', enum: ['starting', 'running', 'paused', 'stopped', 'failed'] },
    appliedPosition: nullableString,
    lagMillis: nullableNumber,
    endToEndLagMillis: nullableNumber,
    hopLagMillis: nullableNumber,
    backlogEvents: { type: ['integer', 'null'] },
    eventsApplied: { type: 'integer' },
    transactionsApplied: { type: 'integer' },
    errors: { type: 'integer' },
    deadLetters: { type: 'integer' },
    lastError: nullableString,
  },
} as const;
