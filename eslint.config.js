// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Import boundaries of ../shared/ARCHITECTURE.md: fastify lives only in http/, app.ts and server.ts;
 * fhir/, config/ and logging/ import nothing of ours but each other's vocabulary; the repository
 * never reaches up into http, interactions, audit or subscriptions.
 */
const boundary = (message, regex) => ({ 'no-restricted-imports': ['error', { patterns: [{ regex, message }] }] });

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', '.tap/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      'no-console': 'error',
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/http/**', 'src/app.ts', 'src/server.ts'],
    rules: boundary('Fastify belongs to http/, app.ts and server.ts only', '^(fastify|@fastify/)'),
  },
  {
    files: ['src/fhir/**/*.ts', 'src/config/**/*.ts', 'src/logging/**/*.ts'],
    rules: boundary(
      'fhir/, config/ and logging/ are leaves: they import nothing else of ours',
      '^\\.\\./(?!fhir/|config/|logging/)'
    ),
  },
  {
    // A subfolder of fhir/ (fhir/xml/) reaches its siblings through ../ and the rest through ../../.
    files: ['src/fhir/*/**/*.ts'],
    rules: boundary(
      'fhir/, config/ and logging/ are leaves: they import nothing else of ours',
      '^\\.\\./\\.\\./(?!fhir/|config/|logging/)'
    ),
  },
  {
    files: ['src/repository/**/*.ts', 'src/storage/**/*.ts'],
    rules: boundary(
      'storage and repository never import the layers above them',
      '^(\\.\\./(http|interactions|audit|subscriptions|operations|domain|auth|search|validation)/|fastify)'
    ),
  },
  {
    // auth decides who may see what; interactions ask it (auth/narrowing.ts, auth/response-recheck.ts).
    files: ['src/auth/**/*.ts'],
    rules: boundary('auth sits below interactions, operations and http', '^(\\.\\./(http|interactions|operations)/|fastify|@fastify/)'),
  },
  {
    // (\.\./)+ so that subfolders (interactions/bundle/) are held to it too.
    files: ['src/interactions/**/*.ts', 'src/operations/**/*.ts', 'src/domain/**/*.ts'],
    rules: boundary('interactions, operations and domain logic are transport-free', '^((\\.\\./)+http/|fastify)'),
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // tap's top-level t.test() calls are awaited by the runner.
      '@typescript-eslint/no-floating-promises': 'off',
      'no-console': 'off',
    },
  }
);
