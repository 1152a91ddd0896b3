/**
 * Run SQL's statement guard: which statements and which table functions a script may contain, decided from the
 * script's text before DuckDB prepares any of it. Preparing is not harmless (DuckDB 1.5.6 creates EXPORT DATABASE's
 * folder while preparing it, even at '<database>.wal', after which the database no longer opens), and some table
 * functions write files that the locked configuration does not protect (enable_profiling(save_location => …)
 * empties an existing file, enable_logging(storage_path => …) appends to CSV files). Deny by default: a statement
 * runs only if it starts with an allowed keyword; a built-in table or pragma function runs only if it is on a list of
 * functions known to only read (within allowed_directories).
 *
 * Pure: the caller gives DuckDB's statement count and the names of the built-in table/pragma functions, and a
 * script whose statements the tokenizer (sql-lexer.ts) cannot split exactly as DuckDB does is refused.
 */
import { splitStatements, UncheckableSql, type Token } from './lexer';

import { ONLY, refusal, TRANSACTION, WHY } from './refusals';
import { INFORMATIONAL_PRAGMAS, refuseCalls } from './functions';

/** First words of the statements that run (the rest of them is checked for calls). COMMENT ON arrives as ALTER. */
const ALLOWED_STARTS = new Set([
	'select',
	'with',
	'from',
	'values',
	'table',
	'insert',
	'delete',
	'merge',
	'alter',
	'call',
	'set',
	'reset',
	'use',
	'analyze',
	'vacuum',
	'describe',
	'show',
	'summarize',
	'pivot',
	'unpivot',
	'comment',
]);
const TRANSACTION_WORDS = new Set(['begin', 'start', 'commit', 'end', 'rollback', 'abort']);
const REFUSED_STARTS: Record<string, [string, string]> = {
	export: WHY.export,
	import: WHY.import,
	attach: WHY.attach,
	detach: WHY.detach,
	install: WHY.load,
	load: WHY.load,
	prepare: WHY.prepare,
	execute: WHY.execute,
	deallocate: WHY.deallocate,
	explain: WHY.explain,
	checkpoint: WHY.checkpoint,
};
/** What CREATE and DROP may make or remove (CREATE FUNCTION is CREATE MACRO). */
const OBJECTS = new Set(['table', 'view', 'macro', 'function', 'sequence', 'schema', 'index', 'type']);
const CREATE_MODIFIERS = new Set(['or', 'replace', 'temp', 'temporary', 'unique']);
const OBJECT_LIST = 'tables, views, macros (functions), sequences, schemas, indexes and types';

const isWord = (token: Token | undefined, ...values: string[]): token is Token =>
	token?.kind === 'word' && (values.length === 0 || values.includes(token.value));
const isName = (token: Token | undefined): boolean => token?.kind === 'word' || token?.kind === 'quoted';

function describe(token: Token | undefined): string {
	if (!token) return 'nothing';
	if (token.kind === 'word') return token.value.toUpperCase();
	if (token.kind === 'quoted') return `"${token.value}"`;
	return token.kind === 'string' ? `'${token.value}'` : token.value;
}

function refuseCreate(tokens: Token[]): string | undefined {
	let at = 1;
	while (isWord(tokens[at]) && CREATE_MODIFIERS.has(tokens[at].value)) at++;
	if (isWord(tokens[at]) && OBJECTS.has(tokens[at].value)) return undefined;
	if (isWord(tokens[at], 'persistent', 'secret')) return refusal(WHY.secret);
	return refusal([`CREATE ${describe(tokens[at])}`, `Run SQL creates ${OBJECT_LIST} only`]);
}

function refuseDrop(tokens: Token[]): string | undefined {
	if (isWord(tokens[1]) && OBJECTS.has(tokens[1].value)) return undefined;
	if (isWord(tokens[1], 'persistent', 'temporary', 'temp', 'secret')) return refusal(WHY.dropSecret);
	return refusal([`DROP ${describe(tokens[1])}`, `Run SQL drops ${OBJECT_LIST} only`]);
}

/** UPDATE EXTENSIONS [(name, …)]; a table named extensions is followed by SET, an alias or a dot. */
function refuseUpdate(tokens: Token[]): string | undefined {
	if (!isWord(tokens[1], 'extensions')) return undefined;
	return isName(tokens[2]) || tokens[2]?.value === '.' ? undefined : refusal(WHY.updateExtensions);
}

function refusePragma(tokens: Token[]): string | undefined {
	const informational =
		isWord(tokens[1]) &&
		INFORMATIONAL_PRAGMAS.has(tokens[1].value) &&
		(tokens.length === 2 || (tokens[2].kind === 'punct' && tokens[2].value === '('));
	return informational ? undefined : refusal(WHY.pragma);
}

function refuseCopy(tokens: Token[]): string {
	return refusal(isWord(tokens[1], 'from') && isWord(tokens[2], 'database') ? WHY.copyDatabase : WHY.copy);
}

function refuseForce(tokens: Token[]): string {
	return refusal(isWord(tokens[1], 'checkpoint') ? WHY.checkpoint : WHY.load);
}

const STATEMENT_CHECKS: Record<string, (tokens: Token[]) => string | undefined> = {
	create: refuseCreate,
	drop: refuseDrop,
	update: refuseUpdate,
	pragma: refusePragma,
	copy: refuseCopy,
	force: refuseForce,
};

/** Why the statement may not run, judged by its first words; undefined when it may. */
export function refuseStatement(tokens: Token[]): string | undefined {
	const [first] = tokens;
	if (first.kind === 'punct' && first.value === '(') return undefined;
	if (first.kind !== 'word') return refusal([`a statement starting with ${describe(first)}`, ONLY]);
	if (ALLOWED_STARTS.has(first.value)) return undefined;
	if (TRANSACTION_WORDS.has(first.value)) return TRANSACTION;
	const check = STATEMENT_CHECKS[first.value];
	if (check) return check(tokens);
	return refusal(REFUSED_STARTS[first.value] ?? [`a statement starting with ${describe(first)}`, ONLY]);
}

function splitDiffers(statements: Token[][], duckdbCount: number): string {
	const pivot = statements.some((tokens) => tokens.some((token) => isWord(token, 'pivot')));
	const remedy = pivot
		? "A PIVOT without an IN list becomes several statements in DuckDB: list the values (PIVOT t ON col IN ('a', 'b') USING …)"
		: "Write strings as '…' (double a ' inside) and comments as -- … or /* … */";
	return `the script cannot be checked safely: DuckDB reads ${duckdbCount} statements in it where Run SQL's check reads ${statements.length}. ${remedy}`;
}

export interface GuardRefusal {
	/** 1-based; absent when the script as a whole cannot be checked. */
	statement?: number;
	message: string;
}

/** Why the script may not run, before DuckDB prepares any of it; undefined when every statement may run. */
export function checkScript(sql: string, duckdbCount: number, builtins: ReadonlySet<string>): GuardRefusal | undefined {
	let statements: Token[][];
	try {
		statements = splitStatements(sql);
	} catch (error) {
		if (error instanceof UncheckableSql) return { statement: error.statement, message: error.message };
		throw error;
	}
	if (statements.length !== duckdbCount) return { message: splitDiffers(statements, duckdbCount) };
	for (const [index, tokens] of statements.entries()) {
		const message = refuseStatement(tokens) ?? refuseCalls(tokens, builtins);
		if (message) return { statement: index + 1, message };
	}
	return undefined;
}
