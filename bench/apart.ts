/**
 * Runs a part of a benchmark in a Node process of its own, so its peak RSS is its own and not the heap an
 * earlier stage left behind. The child is this same script with `variable` set to the JSON of its input; it
 * prints its result as JSON on its last line of output (see `answerIfChild`).
 */
import { spawn } from 'node:child_process';
import { NODE_HEAP_FLAGS, tuneHeap } from '../common/heap-tuning.ts';

export function runApart<Input, Output>(script: string, variable: string, input: Input): Promise<Output> {
  return new Promise((resolve, reject) => {
    // The heap flags `cdc run` is started with, so the figure is the service's.
    const child = spawn(process.execPath, [...NODE_HEAP_FLAGS, script], {
      env: { ...process.env, [variable]: JSON.stringify(input) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code === 0) resolve(JSON.parse(last) as Output);
      else reject(new Error(`${script} (${JSON.stringify(input)}) exited with ${code}: ${out.slice(-2000)}`));
    });
  });
}

/** In a child started by runApart: runs `part` on its input and prints the result; returns false elsewhere. */
export async function answerIfChild<Input, Output>(
  variable: string,
  part: (input: Input) => Promise<Output>,
): Promise<boolean> {
  const input = process.env[variable];
  if (input === undefined) return false;
  tuneHeap();
  console.log(JSON.stringify(await part(JSON.parse(input) as Input)));
  return true;
}
