// Writes docs/configuration.md, the reference of every option a user can pass: each public factory that takes an
// `options` object (createTracker, the stores, hot stores and queues, the bindings, the dashboard, scriptTag),
// read from the TypeScript types with the compiler API — name, type, `@default` and description from the TSDoc.
// `--check` writes nothing and exits 1 when the committed file differs from what the types say now.
//
//   node --import tsx scripts/gen-config-reference.ts [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'docs/configuration.md');

/** The entry points searched for factories, in the order their sections appear. */
const ENTRIES: { name: string; file: string }[] = [
  { name: '@anon/core', file: 'packages/core/src/index.ts' },
  { name: '@anon/core/memory', file: 'packages/core/src/memory/index.ts' },
  { name: '@anon/redis', file: 'packages/redis/src/index.ts' },
  { name: '@anon/postgres', file: 'packages/postgres/src/index.ts' },
  { name: '@anon/mongo', file: 'packages/mongo/src/index.ts' },
  { name: '@anon/express', file: 'packages/express/src/index.ts' },
  { name: '@anon/koa', file: 'packages/koa/src/index.ts' },
  { name: '@anon/fastify', file: 'packages/fastify/src/index.ts' },
  { name: '@anon/hono', file: 'packages/hono/src/index.ts' },
  { name: '@anon/dashboard', file: 'packages/dashboard/src/index.ts' },
  { name: '@anon/browser', file: 'packages/browser/src/index.ts' },
];

interface OptionRow {
  name: string;
  type: string;
  required: boolean;
  defaultText: string | null;
  description: string;
}

interface Section {
  pkg: string;
  factory: string;
  /** The parameters as the signature names them, e.g. `client, options`. */
  params: string;
  typeName: string;
  summary: string;
  /** Files that declare the options, relative to the repository root. */
  sources: string[];
  rows: OptionRow[];
}

function program(): { program: ts.Program; checker: ts.TypeChecker } {
  const configPath = join(ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const p = ts.createProgram({
    rootNames: ENTRIES.map((e) => join(ROOT, e.file)),
    options: { ...parsed.options, noEmit: true },
  });
  return { program: p, checker: p.getTypeChecker() };
}

/** One line of text: whitespace (newlines included) collapsed. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

const tagText = (tag: ts.JSDocTagInfo) => oneLine(ts.displayPartsToString(tag.text ?? []));

/** Tags the option comments use; anything else is text the parser cut at an `@` (`from @anon/core`). */
const KNOWN_TAGS = new Set(['default', 'deprecated', 'example', 'see', 'remarks', 'link', 'since']);

/** The comment's tags, with a tag the parser made of `@scope/package` in a tag's text joined back to it. */
function tagsOf(symbol: ts.Symbol, checker: ts.TypeChecker): { name: string; text: string }[] {
  const tags: { name: string; text: string }[] = [];
  for (const tag of symbol.getJsDocTags(checker)) {
    const last = tags.at(-1);
    if (!KNOWN_TAGS.has(tag.name) && last !== undefined)
      last.text = `${last.text} @${tag.name}${tagText(tag)}`;
    else tags.push({ name: tag.name, text: tagText(tag) });
  }
  return tags;
}

/**
 * The type parameters of the generic interfaces an options type instantiates, bound to the arguments as written
 * (`type AnonExpressOptions = BindingOptions<Request>`, `interface AnonHonoOptions extends BindingOptions<Context>`:
 * `Ctx` → `Request`, `Context`), so a row shows `(ctx: Request) => …` rather than the generic `Ctx`.
 */
function typeArguments(symbol: ts.Symbol, checker: ts.TypeChecker, bound = new Map<string, string>()) {
  const bind = (node: ts.NodeWithTypeArguments, target: ts.Symbol | undefined) => {
    const declared = target?.declarations?.find(
      (d): d is ts.InterfaceDeclaration | ts.TypeAliasDeclaration =>
        ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d),
    );
    declared?.typeParameters?.forEach((param, i) => {
      const arg = node.typeArguments?.[i];
      if (arg !== undefined && !bound.has(param.name.text))
        bound.set(param.name.text, oneLine(arg.getText()));
    });
    if (target) typeArguments(target, checker, bound);
  };
  const resolve = (node: ts.Node) => {
    const target = checker.getSymbolAtLocation(node);
    return target && target.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(target) : target;
  };
  for (const declaration of symbol.declarations ?? []) {
    if (ts.isTypeAliasDeclaration(declaration) && ts.isTypeReferenceNode(declaration.type)) {
      bind(declaration.type, resolve(declaration.type.typeName));
    } else if (ts.isInterfaceDeclaration(declaration)) {
      for (const clause of declaration.heritageClauses ?? []) {
        for (const base of clause.types) bind(base, resolve(base.expression));
      }
    }
  }
  return bound;
}

/** The type as written in the declaration (`{ intervalMs: number } | false`), with bound type parameters. */
function typeText(declaration: ts.Declaration | undefined, bound: Map<string, string>): string {
  let text = '';
  if (declaration && (ts.isPropertySignature(declaration) || ts.isPropertyDeclaration(declaration))) {
    text = declaration.type ? declaration.type.getText() : 'unknown';
  } else if (declaration && ts.isMethodSignature(declaration)) {
    const params = declaration.parameters.map((p) => p.getText()).join(', ');
    text = `(${params}) => ${declaration.type ? declaration.type.getText() : 'void'}`;
  } else {
    text = 'unknown';
  }
  text = oneLine(text);
  for (const [name, arg] of bound) text = text.replace(new RegExp(`\\b${name}\\b`, 'g'), arg);
  return text;
}

function rowsOf(
  type: ts.Type,
  symbol: ts.Symbol,
  checker: ts.TypeChecker,
): { rows: OptionRow[]; sources: Set<string> } {
  const bound = typeArguments(symbol, checker);
  const sources = new Set<string>();
  for (const d of symbol.declarations ?? []) sources.add(relative(ROOT, d.getSourceFile().fileName));
  const rows = checker.getPropertiesOfType(type).map((prop): OptionRow => {
    const declaration = prop.valueDeclaration ?? prop.declarations?.[0];
    if (declaration) sources.add(relative(ROOT, declaration.getSourceFile().fileName));
    const text = ts.displayPartsToString(prop.getDocumentationComment(checker));
    const tags = tagsOf(prop, checker);
    const defaults = tags.filter((t) => t.name === 'default').map((t) => t.text);
    const deprecated = tags.filter((t) => t.name === 'deprecated').map((t) => t.text);
    const description = [
      deprecated.length > 0 ? `**Deprecated:** ${deprecated.join(' ')}` : '',
      oneLine(text),
    ]
      .filter((s) => s !== '')
      .join(' ');
    return {
      name: prop.name,
      type: typeText(declaration, bound),
      required: (prop.flags & ts.SymbolFlags.Optional) === 0,
      defaultText: defaults.length > 0 ? defaults.join(' ') : null,
      description,
    };
  });
  return { rows, sources };
}

/** The first paragraph of a factory's TSDoc (its `@example` and other tags left out). */
function summaryOf(declaration: ts.SignatureDeclaration, checker: ts.TypeChecker): string {
  const signature = checker.getSignatureFromDeclaration(declaration);
  const text = signature ? ts.displayPartsToString(signature.getDocumentationComment(checker)) : '';
  return oneLine(text.split(/\n\s*\n/)[0] ?? '');
}

/** Every exported function of every entry whose parameter is an `…Options` object: one section each. */
function sections(): Section[] {
  const { program: p, checker } = program();
  const found: Section[] = [];
  const seen = new Set<string>();
  for (const entry of ENTRIES) {
    const source = p.getSourceFile(join(ROOT, entry.file));
    if (!source) throw new Error(`cannot read ${entry.file}`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (!moduleSymbol) continue;
    const exports = checker
      .getExportsOfModule(moduleSymbol)
      // Code-point order, not the locale's: the file must come out the same on every machine.
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const exported of exports) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declaration = symbol.declarations?.find(ts.isFunctionDeclaration);
      if (!declaration || seen.has(symbol.name)) continue;
      for (const param of declaration.parameters) {
        if (!param.type || !ts.isTypeReferenceNode(param.type)) continue;
        const typeName = param.type.typeName.getText();
        if (!typeName.endsWith('Options')) continue;
        seen.add(symbol.name);
        const type = checker.getTypeFromTypeNode(param.type);
        const named = checker.getSymbolAtLocation(param.type.typeName);
        const optionsSymbol =
          named && named.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(named) : named;
        if (!optionsSymbol) continue;
        const { rows, sources } = rowsOf(type, optionsSymbol, checker);
        found.push({
          pkg: entry.name,
          factory: symbol.name,
          params: declaration.parameters.map((p) => p.name.getText()).join(', '),
          typeName,
          summary: summaryOf(declaration, checker),
          sources: [...sources].sort(),
          rows,
        });
      }
    }
  }
  return found;
}

/** Text safe in a Markdown table cell. */
const cell = (text: string) => text.replace(/\|/g, '\\|');
/** Code in a table cell; a backtick inside gets a longer fence. */
const code = (text: string) => (text.includes('`') ? `\`\` ${cell(text)} \`\`` : `\`${cell(text)}\``);
/**
 * A default as code when it is a value (`'anon'`, `5_000 (5 s)`, `memoryHotStore()`, `systemClock`), as text when
 * it is a sentence ("every view anonymous") or already holds code spans.
 */
function defaultCell(text: string): string {
  if (text.includes('`')) return cell(text);
  const [, value = text, note = ''] = /^(.*?)((?: \(.*\))?)$/.exec(text) ?? [];
  const isValue =
    /^['"[{\d-]/.test(value) ||
    /^(true|false|null|undefined)$/.test(value) ||
    /^\(?[\w$.]*\)?( => .*)?\(.*\)$/.test(value) ||
    /^[a-z]+[A-Z][\w$]*$/.test(value);
  return isValue ? `${code(value)}${cell(note)}` : cell(text);
}

/** The anchor GitHub gives a heading. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- ]/gu, '')
    .replace(/ /g, '-');

function render(all: Section[]): string {
  const heading = (s: Section) => `\`${s.factory}(${s.params})\` — \`${s.typeName}\``;
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated by scripts/gen-config-reference.ts from the option types and their TSDoc: do not edit by hand.',
    '     Change the comment in the source, then run `node --import tsx scripts/gen-config-reference.ts`. -->',
    '',
    'Every option of every factory that takes an options object, read from the TypeScript types: its type as',
    'declared, its default (`@default`) and what it does. "required" means the option has no default. The',
    'concepts behind them are in [concepts.md](./concepts.md); running several processes is in',
    '[deployment.md](./deployment.md).',
    '',
  ];
  let pkg = '';
  for (const s of all) {
    if (s.pkg !== pkg) {
      pkg = s.pkg;
      lines.push(`- \`${pkg}\``);
    }
    lines.push(`  - [\`${s.factory}(${s.params})\`](#${anchor(heading(s))})`);
  }
  pkg = '';
  for (const s of all) {
    if (s.pkg !== pkg) {
      pkg = s.pkg;
      lines.push('', `## \`${pkg}\``);
    }
    lines.push('', `### ${heading(s)}`, '');
    if (s.summary !== '') lines.push(s.summary, '');
    lines.push(`Declared in ${s.sources.map((f) => `[${f}](../${f})`).join(', ')}.`, '');
    lines.push('| option | type | default | description |', '|---|---|---|---|');
    for (const row of s.rows) {
      const def = row.defaultText !== null ? defaultCell(row.defaultText) : row.required ? 'required' : '—';
      lines.push(`| \`${row.name}\` | ${code(row.type)} | ${def} | ${cell(row.description)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const all = sections();
const undocumented = all.flatMap((s) =>
  s.rows.filter((r) => r.description === '').map((r) => `${s.typeName}.${r.name}`),
);
if (undocumented.length > 0 && !process.argv.includes('--check'))
  console.warn(`options without a description: ${undocumented.join(', ')}`);
const text = render(all);
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(OUT, 'utf8');
  } catch {
    // missing: stale
  }
  if (committed !== text) {
    const a = committed.split('\n');
    const b = text.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    const at = line === -1 ? Math.min(a.length, b.length) : line;
    console.error(
      `docs/configuration.md is out of date with the option types (first difference at line ${at + 1}):\n` +
        `  committed: ${a[at] ?? '(end of file)'}\n  generated: ${b[at] ?? '(end of file)'}\n` +
        'Run: node --import tsx scripts/gen-config-reference.ts',
    );
    process.exit(1);
  }
  console.log('docs/configuration.md is up to date');
} else {
  writeFileSync(OUT, text);
  console.log(`wrote docs/configuration.md`);
}
