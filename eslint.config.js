// ESLint (flat config) with typescript-eslint: `npm run lint` (part of `npm test`).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'bench-results/', 'test-results/', 'playwright-report/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // ftfy's text cleaning matches control characters on purpose.
    files: ['src/models/clip/textClean.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    files: ['**/*.mjs', 'scripts/**', 'bench/**', '*.config.*', '.dependency-cruiser.cjs'],
    // Node scripts; the bench driver's page callbacks run in the browser.
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
