/**
 * README's generated sections (the configuration reference and the error codes), rendered from the config
 * schema and the error catalog so the documentation cannot drift from the code, and the pipeline file's JSON
 * Schema (services/config/json-schema.ts). `npm run docs` rewrites them; unit tests fail when one is out of date.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { ERROR_CODES } from '../../common/error-codes.ts';
import { pipelineJsonSchema } from '../config/json-schema.ts';
import { configReference } from '../config/reference.ts';

const SECTIONS: Record<string, () => string> = {
  'config-reference': configReference,
  'error-codes': errorCodesTable,
};

export function errorCodesTable(): string {
  const lines = ['| code | HTTP | retried | meaning |', '|---|---|---|---|'];
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    lines.push(`| \`${code}\` | ${entry.http} | ${entry.retriable ? 'yes' : 'no'} | ${entry.doc} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` markers with freshly rendered text. */
export function renderSections(readme: string): string {
  let result = readme;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const from = result.indexOf(start);
    const to = result.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md lacks the ${start} … ${end} markers`);
    result = `${result.slice(0, from + start.length)}\n${render().trimEnd()}\n${result.slice(to)}`;
  }
  return result;
}

/** Where the pipeline file's JSON Schema is published, and its text. */
export const PIPELINE_SCHEMA_FILE = new URL('../../schemas/config/pipeline.schema.json', import.meta.url);
export function pipelineSchemaText(): string {
  return `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`;
}

if (import.meta.main) {
  const path = new URL('../../README.md', import.meta.url);
  await writeFile(path, renderSections(await readFile(path, 'utf8')));
  await mkdir(new URL('.', PIPELINE_SCHEMA_FILE), { recursive: true });
  await writeFile(PIPELINE_SCHEMA_FILE, pipelineSchemaText());
}
