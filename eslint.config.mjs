// n8n's community-node lint rules (the set without n8n Cloud support: this package spawns processes and ships a
// native DuckDB binary, so it is an unverified community package, "strict": false), plus narrow exceptions.
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

// The core's layers, bottom up: a file may import its own layer and the ones below it, never one above (type imports
// included), and never n8n. test/architecture.test.ts checks the same and also that there is no cycle.
const LAYERS = ['base', 'proc', 'duckdb', 'lock', 'outcome', 'run', 'operations', 'cleanup'];
const layerRules = LAYERS.map((layer, index) => ({
	files: [`lib/${layer}/**/*.ts`],
	rules: {
		'no-restricted-imports': [
			'error',
			{
				patterns: [
					...(index < LAYERS.length - 1
						? [
								{
									regex: `(^|/)(${LAYERS.slice(index + 1).join('|')})(/|$)`,
									message: `lib/${layer} may import only ${LAYERS.slice(0, index + 1).join(', ')}: one direction down.`,
								},
							]
						: []),
					{ regex: '^n8n-', message: 'The core knows nothing of n8n: n8n code lives in nodes/.' },
				],
			},
		],
	},
}));

export default [
	...configWithoutCloudSupport,
	{ ignores: ['dist/**', 'node_modules/**', 'scripts/**', 'gulpfile.js', '.ci/**'] },
	{
		// Runtime dependencies are the point of this package: @duckdb/node-api (native DuckDB), execa (process
		// supervision) and ps-list (process facts where /proc is absent). n8n installs them with the package.
		files: ['package.json'],
		rules: { '@n8n/community-nodes/no-runtime-dependencies': 'off' },
	},
	{
		// The core (lib/) and the command-line tools have no n8n import by design: they throw plain errors (UsageError
		// for bad input), and the nodes wrap them in NodeOperationError with the item index.
		files: ['lib/**/*.ts', 'bin/**/*.ts', 'index.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
	...layerRules,
	{
		// Tests, fixtures and benchmarks start real processes and print results.
		files: ['test/**/*.ts', 'bench/**/*.ts'],
		rules: { '@n8n/community-nodes/no-dangerous-functions': 'off', 'no-console': 'off' },
	},
];
