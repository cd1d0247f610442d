/**
 * Reading the pipeline configuration, once, at start-up: parse YAML or JSON, expand `${ENV}` references,
 * validate against the schema, and fail with every problem at once rather than the first.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { CdcError, errorMessage } from '../../common/errors.ts';
import { jsonErrorOffset } from './json-position.ts';
import { expandEnvironment, type Environment } from './env.ts';
import { configErrorMap, formatIssues } from './issues.ts';
import { pipelineConfigSchema, type PipelineConfig } from './schema.ts';

export type ConfigFormat = 'yaml' | 'json';

export interface ParseOptions {
  /** Where `${NAME}` references are looked up; the process environment by default. */
  readonly env?: Environment;
  /** Named in error messages: the file path, or a description of where the text came from. */
  readonly origin?: string;
}

export async function loadConfig(
  path: string,
  options: Omit<ParseOptions, 'origin'> = {},
): Promise<PipelineConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CdcError(
      'CONFIG_UNREADABLE',
      `cannot read configuration file ${path}: ${errorMessage(error)}`,
      { file: path },
      { cause: error },
    );
  }
  return parseConfig(text, formatOf(path), { ...options, origin: path });
}

/** `.json` files are JSON; everything else is read as YAML (which JSON files also are, but with worse errors). */
export function formatOf(path: string): ConfigFormat {
  return extname(path).toLowerCase() === '.json' ? 'json' : 'yaml';
}

export function parseConfig(text: string, format: ConfigFormat, options: ParseOptions = {}): PipelineConfig {
  const origin = options.origin ?? 'configuration';
  const raw = format === 'json' ? parseJson(text, origin) : parseYaml(text, origin);
  if (raw === null || raw === undefined) {
    throw new CdcError('CONFIG_INVALID', `invalid configuration ${origin}:\n  - (root): is empty`, {
      file: origin,
      problems: 1,
    });
  }
  const expanded = expandEnvironment(raw, options.env ?? process.env);
  if (expanded.problems.length > 0) throw invalid(origin, expanded.problems);
  const result = pipelineConfigSchema.safeParse(expanded.value, { error: configErrorMap, reportInput: true });
  if (!result.success) throw invalid(origin, formatIssues(result.error.issues));
  return result.data;
}

function invalid(origin: string, problems: readonly string[]): CdcError {
  const list = problems.map((line) => `  - ${line}`).join('\n');
  return new CdcError('CONFIG_INVALID', `invalid configuration ${origin}:\n${list}`, {
    file: origin,
    problems: problems.length,
  });
}

function parseYaml(text: string, origin: string): unknown {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const details = document.errors.map((error) => {
      const at = error.linePos?.[0];
      const where = at ? `line ${at.line}, column ${at.col}` : 'unknown position';
      return `${where}: ${error.message.split('\n')[0] ?? error.code}`;
    });
    const first = document.errors[0]?.linePos?.[0];
    throw new CdcError('CONFIG_UNREADABLE', `cannot parse YAML in ${origin}: ${details.join('; ')}`, {
      file: origin,
      line: first?.line ?? null,
      column: first?.col ?? null,
    });
  }
  return document.toJS();
}

function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const { line, column } = jsonErrorPosition(text, errorMessage(error));
    const where = line === null ? '' : ` at line ${line}, column ${column}`;
    throw new CdcError(
      'CONFIG_UNREADABLE',
      `cannot parse JSON in ${origin}${where}: ${errorMessage(error)}`,
      { file: origin, line, column },
      { cause: error },
    );
  }
}

function jsonErrorPosition(text: string, message: string): { line: number | null; column: number | null } {
  const position = /position (\d+)/.exec(message);
  const offset = position ? Number(position[1]) : jsonErrorOffset(text);
  return offset === null ? { line: null, column: null } : lineColumn(text, offset);
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}
