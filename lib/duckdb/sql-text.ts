/** Names and values written into SQL text: always quoted, so that nothing a person typed is read as SQL. */

export function quoteIdentifier(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
	return `'${value.replace(/'/g, "''")}'`;
}
