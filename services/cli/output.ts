/** Where the CLI writes: results to stdout, diagnostics to stderr, so `cdc status > file` holds only the table. */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}
