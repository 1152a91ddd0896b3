// n8n's community-node lint rules (the set without n8n Cloud support: this package spawns processes and ships a
// native DuckDB binary, so it is an unverified community package, "strict": false), plus narrow exceptions.
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

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
	{
		// Tests, fixtures and benchmarks start real processes and print results.
		files: ['test/**/*.ts', 'bench/**/*.ts'],
		rules: { '@n8n/community-nodes/no-dangerous-functions': 'off', 'no-console': 'off' },
	},
];
