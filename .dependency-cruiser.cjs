/**
 * The layer table of README.md "Design", enforced by `npm run lint:layers` (part of `npm test`).
 * Each layer imports only the layers below it:
 *   src/core ← src/data ← src/models ← src/train ← src/pipeline ← workers/ ← src/ui
 * and production code never imports test helpers.
 */
const layers = ['src/core', 'src/data', 'src/models', 'src/train', 'src/pipeline', 'workers', 'src/ui'];
const esc = (p) => p.replace(/[/.]/g, (c) => `\\${c}`);

const upward = layers.slice(0, -1).map((layer, i) => ({
  name: `${layer.replace('/', '-')}-imports-upward`,
  comment: `${layer} may import only ${layers.slice(0, i).join(', ') || 'nothing of the lab'} (README: Design)`,
  severity: 'error',
  from: { path: `^${esc(layer)}/` },
  to: {
    path: `^(${layers
      .slice(i + 1)
      .map(esc)
      .join('|')})/`,
  },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'ui-runs-no-tfjs',
      comment:
        'the main thread never runs tfjs or model code: the UI talks to the worker (types only from below workers/)',
      severity: 'error',
      from: { path: '^src/ui/' },
      to: { path: '(^src/(models|train|pipeline)/|@tensorflow)', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'production-imports-test-helpers',
      comment: 'test helpers live under test/ and are imported by tests only',
      severity: 'error',
      from: { path: '^(src|workers)/', pathNot: '\\.(test|parity\\.test|browser\\.test)\\.ts$' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      comment:
        'a cycle of runtime imports means two modules are one, or one is in the wrong layer (type-only imports vanish at run time)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test/fixtures)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
