// Promises nobody waits for: a call to an async function made as a statement without `await`, a
// promise used as a truth value (`if (getRepo(x))`, `!p`, `p && …`) or handed to a test's
// `expect(p)` without `.resolves`/`.rejects` compiles under strict TypeScript and is a bug.
// Reports each with its place; exits 1 when there is any.
//   node scripts/check-promises.mjs [tsconfig.json]
import * as path from 'node:path';
import ts from 'typescript';

const configPath = path.resolve(process.argv[2] ?? 'tsconfig.json');
const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(d) });
if (!config) process.exit(2);
const program = ts.createProgram(config.fileNames, config.options);
const checker = program.getTypeChecker();

function fail(d) {
  console.error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  process.exit(2);
}

/** A thenable: a type (or any member of a union) with a callable `then`. */
function isThenable(type) {
  if (type.isUnion()) return type.types.some((t) => isThenable(t));
  const then = type.getProperty('then');
  if (!then) return false;
  const t = checker.getTypeOfSymbol(then);
  return t.getCallSignatures().length > 0;
}

/** Where a promise is handed on (awaited, returned, stored, passed): not a floating one. */
function handedOn(node) {
  const p = node.parent;
  // expect(p).toEqual(x) compares the promise, not its value; expect(p).resolves waits for it
  if (ts.isCallExpression(p) && ts.isIdentifier(p.expression) && p.expression.text === 'expect' && p.arguments[0] === node) {
    return ts.isPropertyAccessExpression(p.parent) && (p.parent.name.text === 'resolves' || p.parent.name.text === 'rejects');
  }
  switch (p.kind) {
    case ts.SyntaxKind.ParenthesizedExpression:
    case ts.SyntaxKind.AsExpression:
    case ts.SyntaxKind.NonNullExpression:
    case ts.SyntaxKind.SatisfiesExpression:
      return handedOn(p);
    case ts.SyntaxKind.AwaitExpression:
    case ts.SyntaxKind.VoidExpression:
    case ts.SyntaxKind.ReturnStatement:
    case ts.SyntaxKind.ArrowFunction:
    case ts.SyntaxKind.VariableDeclaration:
    case ts.SyntaxKind.PropertyDeclaration:
    case ts.SyntaxKind.CallExpression:
    case ts.SyntaxKind.NewExpression:
    case ts.SyntaxKind.PropertyAssignment:
    case ts.SyntaxKind.ShorthandPropertyAssignment:
    case ts.SyntaxKind.ArrayLiteralExpression:
    case ts.SyntaxKind.PropertyAccessExpression:
    case ts.SyntaxKind.ElementAccessExpression:
    case ts.SyntaxKind.YieldExpression:
    case ts.SyntaxKind.SpreadElement:
    case ts.SyntaxKind.Parameter:
    case ts.SyntaxKind.ExportAssignment:
    case ts.SyntaxKind.TypeOfExpression:
      return true;
    case ts.SyntaxKind.ConditionalExpression:
      // `c ? p : q` hands p and q on as its own value; the condition itself is a truth test
      return p.condition !== node && handedOn(p);
    case ts.SyntaxKind.BinaryExpression: {
      const op = p.operatorToken.kind;
      // `x = p`, `x ??= p`: stored (a cache of a promise is tested on its left, on purpose)
      if (op >= ts.SyntaxKind.FirstAssignment && op <= ts.SyntaxKind.LastAssignment) return true;
      if (op === ts.SyntaxKind.InstanceOfKeyword) return true;
      // `a ?? p`, `a || p`: p is the value handed on; a promise on the left is a truth test
      if ((op === ts.SyntaxKind.QuestionQuestionToken || op === ts.SyntaxKind.BarBarToken || op === ts.SyntaxKind.AmpersandAmpersandToken) && p.right === node) return handedOn(p);
      if (op === ts.SyntaxKind.CommaToken) return p.right === node && handedOn(p);
      return false;
    }
    default:
      return false;
  }
}

/** `p.catch(f)` and `p.then(f, g)` deal with the rejection themselves. */
function handled(node) {
  if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return false;
  const name = node.expression.name.text;
  return name === 'catch' || (name === 'then' && node.arguments.length === 2);
}

const found = [];
for (const sf of program.getSourceFiles()) {
  if (sf.isDeclarationFile || sf.fileName.includes('/node_modules/')) continue;
  const visit = (node) => {
    // calls anywhere; a name or a property read only where it is tested for truth
    const truthTest = [ts.SyntaxKind.PrefixUnaryExpression, ts.SyntaxKind.IfStatement, ts.SyntaxKind.WhileStatement, ts.SyntaxKind.ConditionalExpression, ts.SyntaxKind.BinaryExpression].includes(node.parent?.kind);
    const candidate = ts.isCallExpression(node) || ts.isNewExpression(node) || ((ts.isIdentifier(node) || ts.isPropertyAccessExpression(node)) && truthTest);
    const type = candidate ? checker.getTypeAtLocation(node) : undefined;
    // a name that holds a promise or nothing (`if (pending) await pending`) is tested on purpose
    const maybeAbsent = truthTest && type?.isUnion() && type.types.some((t) => t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null));
    if (candidate && !maybeAbsent && !handled(node) && isThenable(type) && !handedOn(node)) {
      const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${path.relative(process.cwd(), sf.fileName)}:${line + 1}:${character + 1}: ${node.getText().slice(0, 100)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
for (const f of found) console.log(f);
console.error(`${found.length} promise${found.length === 1 ? '' : 's'} not awaited`);
process.exit(found.length > 0 ? 1 : 0);
