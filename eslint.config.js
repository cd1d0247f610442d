// Type-aware lint. The import restrictions keep the data flow one-way:
// common (errors, logging, retry) imports nothing of ours; schemas import only common; connectors know
// nothing of Kafka or apply; apply knows nothing of connectors.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: patterns.map((group) => ({
        group: [group],
        message: 'This layer must not depend on that one (see ARCHITECTURE.md).',
      })),
    },
  ],
});

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', 'stack/.cache/**', 'stack/.data/**', 'stack/.run/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs what test() and describe() return; nothing to await there.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The dashboard's script runs in the browser as written (no build step): plain lint, browser globals.
    files: ['services/api/ui/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'script',
      parserOptions: { projectService: false, project: false },
      globals: Object.fromEntries(
        ['document', 'sessionStorage', 'fetch', 'AbortController', 'TextDecoderStream', 'setTimeout'].map(
          (name) => [name, 'readonly'],
        ),
      ),
    },
  },
  {
    files: ['connectors/**/*.ts'],
    rules: restrict([
      '**/services/kafka/**',
      '**/services/apply/**',
      '**/services/api/**',
      '**/services/pipeline/**',
      'kafkajs',
    ]),
  },
  {
    files: ['services/apply/**/*.ts'],
    rules: restrict(['**/connectors/**', 'kafkajs', 'pg-logical-replication', '@vlasky/zongji']),
  },
  {
    // The lowest layer: errors, logging, retry. Everything may import it; it imports nothing of ours.
    files: ['common/**/*.ts'],
    rules: restrict([
      '**/schemas/**',
      '**/connectors/**',
      '**/services/**',
      'kafkajs',
      'pg',
      'mysql2',
      'pg-logical-replication',
      '@vlasky/zongji',
    ]),
  },
  {
    files: ['schemas/**/*.ts'],
    rules: restrict([
      '**/services/**',
      '**/connectors/**',
      '**/services/kafka/**',
      '**/services/apply/**',
      'kafkajs',
      'pg',
      'mysql2',
    ]),
  },
  {
    files: ['services/kafka/**/*.ts'],
    rules: restrict(['**/services/apply/**', 'pg', 'mysql2', 'pg-logical-replication']),
  },
  {
    // kafkajs.ts patches kafkajs's producer before it loads; a value import elsewhere could load it unpatched.
    files: ['services/kafka/**/*.ts'],
    ignores: ['services/kafka/kafkajs.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'kafkajs',
              allowTypeImports: true,
              message: 'Import kafkajs from services/kafka/kafkajs.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts', 'services/cli/**/*.ts', 'stack/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
