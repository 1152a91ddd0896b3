/** The operations of DuckDB Safe Ingest, in the order the editor lists them: a new operation is one file and one line here. */
import * as ingestFiles from './ingestFiles.operation';
import * as insertRows from './insertRows.operation';
import * as runCommand from './runCommand.operation';
import * as runSql from './runSql.operation';

export const OPERATIONS = [runCommand, ingestFiles, runSql, insertRows];
