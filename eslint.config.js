// Lint rules: typescript-eslint's recommended set, plus a ban on unexplained `any`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'models/', 'docs/', 'scratch/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The web UI: plain ES modules that run in the browser as they are.
    files: ['web/ui/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'module' },
  },
);
