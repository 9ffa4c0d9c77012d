/**
 * The cell rules are checked by the compiler: a rule missing a part, or a kind of cell without a
 * rule, or a kind with a rule but no layer class, does not compile. Each case is compiled here
 * with the project's own settings, against the rules themselves.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from '../helpers.js';

/** The compiler's errors for each module, compiled together in src/ (so they import the sources as the library does). */
function errorsOf(sources: string[]): string[][] {
  const dir = mkdtempSync(join(ROOT, 'src', '.rules-check-'));
  try {
    const files = sources.map((src, i) => {
      const file = join(dir, `check${i}.ts`);
      writeFileSync(file, src);
      return file;
    });
    const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
    const program = ts.createProgram(files, { ...config.options, noEmit: true });
    const all = ts.getPreEmitDiagnostics(program);
    return files.map((f) => all.filter((d) => d.file?.fileName === f).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('cell rules', () => {
  it('a complete rule compiles; one missing its ONNX mapping, a kind without a rule, or a kind without a layer class does not', () => {
    const head = `import { CELL_RULES, type CellKind, type CellRule } from '../backend/cells.js';\nimport { LAYERS } from '../nn/rnn.js';\nimport type { RecurrentBase } from '../nn/recurrent-base.js';\n`;
    const [complete, noOnnx, noRule, noLayer] = errorsOf([
      // a copy of minGRU's rule as a new kind: complete, it compiles
      `${head}export const RULES = { ...CELL_RULES, mycell: { ...CELL_RULES.mingru, model: 'mycell' } } as const satisfies Record<CellKind | 'mycell', CellRule>;\n`,
      // the same rule without its interchange map
      `${head}const { onnx: _, ...partial } = CELL_RULES.mingru;\nexport const RULES = { ...CELL_RULES, mycell: partial } as const satisfies Record<CellKind | 'mycell', CellRule>;\n`,
      // a new kind with no rule at all
      `${head}export const RULES = { ...CELL_RULES } as const satisfies Record<CellKind | 'mycell', CellRule>;\n`,
      // a rule whose model names a layer kind with no class in LAYERS
      `${head}type Models = (typeof CELL_RULES)[CellKind]['model'] | 'mycell';\nexport const L = { ...LAYERS } as const satisfies Record<Models, new (options: never) => RecurrentBase>;\n`,
    ]);
    assert.deepEqual(complete, []);
    assert.ok(noOnnx!.some((e) => /Property 'onnx' is missing/.test(e)), noOnnx!.join('\n'));
    assert.ok(noRule!.some((e) => /Property 'mycell' is missing/.test(e)), noRule!.join('\n'));
    assert.ok(noLayer!.some((e) => /Property 'mycell' is missing/.test(e)), noLayer!.join('\n'));
  });
});
