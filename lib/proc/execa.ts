/**
 * execa 9, the spawning library (one small module per concern, one kill path). It is ESM-only, so it is loaded with a
 * dynamic import, which keeps this CommonJS build loadable on Node 20.19+ and 24.
 */
type Execa = typeof import('execa', { with: { 'resolution-mode': 'import' } }).execa;

let execaLoaded: Promise<Execa> | undefined;

export function loadExeca(): Promise<Execa> {
	execaLoaded ??= import('execa').then((module) => module.execa);
	return execaLoaded;
}
