/**
 * The tokenizer of Run SQL's statement guard (sql-guard.ts): it splits a script into statements of tokens, without
 * DuckDB, so that the guard can look at every statement before DuckDB prepares any (preparing is not harmless:
 * DuckDB 1.5 creates EXPORT DATABASE's folder while preparing it).
 *
 * It must never see less code than DuckDB's lexer (libpg_query's scan.l, run after Parser::StripUnicodeSpaces): a
 * call it took for part of a string or a comment would go unchecked. So it reads only the forms whose bounds it
 * finds exactly where DuckDB does: '…' strings ('' inside), "…" names ("" inside), -- comments (up to \n or \r,
 * like DuckDB), /* comments *\/, numbers, names, punctuation. A script with any other form whose bounds DuckDB finds
 * elsewhere is refused as not checkable: E'…' strings (a backslash escapes the quote), $…$ quoting, a /* inside a
 * comment (DuckDB nests them), U&'…' and U&"…" (Unicode escapes) and NUL characters. Reading those as code would not
 * be safe either: a quote inside them would open a string where DuckDB sees code, and hide what follows.
 *
 * DuckDB turns no-break and other Unicode spaces into spaces before lexing (outside what it takes for quotes), so
 * they are spaces here too: "enable_profiling\u00a0(" is a call for DuckDB. Where DuckDB keeps one, it is part of a
 * name there, and no function's name has one, so splitting the name here only ever finds more calls, not fewer.
 */

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'punct';

export interface Token {
	kind: TokenKind;
	/** word, quoted: the name, lower-cased as DuckDB compares names (ASCII only); string: its content; else the text. */
	value: string;
}

/** A script the tokenizer cannot split exactly as DuckDB does; `statement` is where (1-based). */
export class UncheckableSql extends Error {
	constructor(
		readonly statement: number,
		found: string,
		remedy: string,
	) {
		super(`the script cannot be checked safely: it has ${found}. ${remedy}`);
	}
}

// Parser::StripUnicodeSpaces's list (U+00A0, U+2000–U+200B, U+202F, U+205F, U+2060, U+3000, U+FEFF), and \v.
const SPACE = /[ \t\n\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u2060\u3000\ufeff]/;
// DuckDB's names: [A-Za-z\200-\377_] then also digits and $ (every byte of a non-ASCII character is \200-\377).
const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_\u0080-\uffff]/;
// An exponent only with digits: in "1e'…'" DuckDB reads 1 and then an E'…' string.
const NUMBER = /\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?(?:[eE][+-]?\d(?:_?\d)*)?|\.\d(?:_?\d)*(?:[eE][+-]?\d(?:_?\d)*)?/y;

const lowerAscii = (text: string): string => text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());

class Lexer {
	private pos = 0;
	private readonly statements: Token[][] = [];
	private current: Token[] = [];

	constructor(private readonly sql: string) {}

	run(): Token[][] {
		while (this.pos < this.sql.length) this.step();
		this.endStatement();
		return this.statements;
	}

	private refuse(found: string, remedy: string): never {
		throw new UncheckableSql(this.statements.length + 1, found, remedy);
	}

	private endStatement(): void {
		if (this.current.length > 0) this.statements.push(this.current);
		this.current = [];
	}

	private step(): void {
		const { sql, pos } = this;
		const char = sql[pos];
		const pair = sql.slice(pos, pos + 2);
		if (SPACE.test(char)) this.pos++;
		else if (pair === '--') this.lineComment();
		else if (pair === '/*') this.blockComment();
		else if (char === "'") this.current.push({ kind: 'string', value: this.quoted("'", "'…' string") });
		else if (char === '"') this.current.push({ kind: 'quoted', value: lowerAscii(this.quoted('"', '"…" name')) });
		else if (char === ';') this.semicolon();
		else if (char === '$')
			this.refuse(
				'a $ outside a string ($$…$$ or $tag$…$tag$ quoting, a $1 parameter or a name with $)',
				"Write strings as '…' (double a ' inside), and quote names that contain $ (\"a$b\")",
			);
		else if (char === '\0') this.refuse('a NUL character', 'Remove it');
		else if (WORD_START.test(char)) this.word();
		else if (this.number()) return;
		else {
			this.current.push({ kind: 'punct', value: char });
			this.pos++;
		}
	}

	private semicolon(): void {
		this.endStatement();
		this.pos++;
	}

	private lineComment(): void {
		while (this.pos < this.sql.length && this.sql[this.pos] !== '\n' && this.sql[this.pos] !== '\r') this.pos++;
	}

	/** Ends at the first star-slash; a slash-star before it would open a nested comment for DuckDB: refused. */
	private blockComment(): void {
		for (let at = this.pos + 2; at < this.sql.length; at++) {
			const pair = this.sql.slice(at, at + 2);
			if (pair === '*/') {
				this.pos = at + 2;
				return;
			}
			if (pair === '/*') this.refuse('a /* comment inside a /* comment (DuckDB nests them)', 'Remove the inner /*');
		}
		this.refuse('an unterminated /* comment', 'Close it with */');
	}

	/** The content of a quoted string or name starting at pos; a doubled quote stands for one. */
	private quoted(quote: string, what: string): string {
		let content = '';
		for (let at = this.pos + 1; at < this.sql.length; at++) {
			if (this.sql[at] !== quote) content += this.sql[at];
			else if (this.sql[at + 1] === quote) content += this.sql[at++];
			else {
				this.pos = at + 1;
				return content;
			}
		}
		return this.refuse(`an unterminated ${what}`, `Close it with ${quote}`);
	}

	private word(): void {
		let end = this.pos + 1;
		while (end < this.sql.length && WORD_PART.test(this.sql[end]) && !SPACE.test(this.sql[end])) end++;
		const value = lowerAscii(this.sql.slice(this.pos, end));
		const next = this.sql.slice(end, end + 2);
		if (value === 'e' && next[0] === "'")
			this.refuse(
				"an E'…' string (a backslash escapes the quote there)",
				"Write it as a plain '…' string: double a ' inside, and use chr(10) for a newline",
			);
		if (value === 'u' && (next === "&'" || next === '&"'))
			this.refuse('a U&\'…\' or U&"…" literal (Unicode escapes)', 'Write the characters themselves');
		this.current.push({ kind: 'word', value });
		this.pos = end;
	}

	private number(): boolean {
		NUMBER.lastIndex = this.pos;
		const match = NUMBER.exec(this.sql);
		if (!match) return false;
		this.current.push({ kind: 'number', value: match[0] });
		this.pos += match[0].length;
		return true;
	}
}

/** The script's statements (empty ones dropped, as DuckDB does), each as its tokens. Throws UncheckableSql. */
export function splitStatements(sql: string): Token[][] {
	return new Lexer(sql).run();
}
