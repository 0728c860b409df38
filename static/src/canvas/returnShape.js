// The object a code step returns, read from its source without running it: the last
// `return { a: ..., b: ... }` of JavaScript, or `return {"a": ...}` of Python. Keys only
// (nested object literals too); other values read as null. A light reader, not a parser:
// good enough to offer {{ event.steps.build.to }} before any run, and when it is wrong it
// offers too little, never breaks anything.

const PUNCTUATION = "{}[](),:;.=";

function skipString(source, start) {
  const quote = source[start];
  const triple = quote !== "`" && source.startsWith(quote.repeat(3), start);
  const end = triple ? quote.repeat(3) : quote;
  let i = start + end.length;
  while (i < source.length && !source.startsWith(end, i)) {
    if (source[i] === "\\") i += 1;
    else if (!triple && quote !== "`" && source[i] === "\n") break; // unterminated: stop at the line
    i += 1;
  }
  return { text: source.slice(start + end.length, i), next: Math.min(source.length, i + end.length) };
}

function skipComment(source, i, python) {
  if (python ? source[i] === "#" : source.startsWith("//", i)) {
    const end = source.indexOf("\n", i);
    return end < 0 ? source.length : end;
  }
  if (!python && source.startsWith("/*", i)) {
    const end = source.indexOf("*/", i + 2);
    return end < 0 ? source.length : end + 2;
  }
  return i;
}

// Words, strings and punctuation; comments and whitespace dropped.
export function tokens(source, language) {
  const python = language === "python";
  const out = [];
  let i = 0;
  while (i < source.length) {
    const after = skipComment(source, i, python);
    if (after !== i) { i = after; continue; }
    const ch = source[i];
    const prefixed = python && /[rbfuRBFU]/.test(ch) && /["']/.test(source[i + 1] || "");
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === '"' || ch === "'" || (!python && ch === "`") || prefixed) {
      const { text, next } = skipString(source, prefixed ? i + 1 : i);
      out.push({ type: "string", value: text });
      i = next;
    } else if (source.startsWith("...", i)) {
      out.push({ type: "punct", value: "..." });
      i += 3;
    } else if (/[A-Za-z_$0-9]/.test(ch)) {
      const word = /^[A-Za-z_$0-9]+/.exec(source.slice(i, i + 200))[0];
      out.push({ type: "word", value: word });
      i += word.length;
    } else {
      out.push({ type: PUNCTUATION.includes(ch) ? "punct" : "other", value: ch });
      i += 1;
    }
  }
  return out;
}

const OPEN = { "{": "}", "[": "]", "(": ")" };

// Index after the value starting at `i`: up to the "," or closing bracket at depth 0.
function skipValue(list, i) {
  const stack = [];
  for (; i < list.length; i += 1) {
    const { type, value } = list[i];
    if (type !== "punct") continue;
    if (OPEN[value]) stack.push(OPEN[value]);
    else if (stack.length && value === stack[stack.length - 1]) stack.pop();
    else if (!stack.length && (value === "," || value === "}" || value === "]" || value === ")")) return i;
  }
  return i;
}

// Reads the object literal whose "{" is at `i`; returns [shape, index after its "}"].
function readObject(list, i, depth) {
  const shape = {};
  i += 1;
  while (i < list.length && !(list[i].type === "punct" && list[i].value === "}")) {
    const token = list[i];
    const next = list[i + 1];
    const key = token.type === "string" || token.type === "word" ? token.value : null;
    if (key !== null && next?.type === "punct" && next.value === ":") {
      const value = list[i + 2];
      if (value?.type === "punct" && value.value === "{" && depth < 4) {
        const [inner, after] = readObject(list, i + 2, depth + 1);
        shape[key] = inner;
        i = skipValue(list, after);
      } else {
        shape[key] = null;
        i = skipValue(list, i + 2);
      }
    } else if (token.type === "word" && next?.type === "punct" && (next.value === "," || next.value === "}")) {
      shape[key] = null; // JavaScript shorthand: { to, subject }
      i += 1;
    } else {
      i = skipValue(list, i); // a spread, a computed key, a method: nothing we can name
    }
    if (list[i]?.type === "punct" && list[i].value === ",") i += 1;
  }
  return [shape, i + 1];
}

// Completions are rebuilt as the graph changes; a step's source rarely does.
const cache = new Map();
const CACHE_SIZE = 100;

export function returnedShape(source, language) {
  if (!source) return null;
  const key = `${language}\u0000${source}`;
  if (!cache.has(key)) {
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value);
    cache.set(key, readReturn(source, language));
  }
  return cache.get(key);
}

function readReturn(source, language) {
  const list = tokens(source, language);
  for (let i = list.length - 2; i >= 0; i -= 1) {
    if (list[i].type === "word" && list[i].value === "return"
        && list[i + 1].type === "punct" && list[i + 1].value === "{") {
      return readObject(list, i + 1, 0)[0];
    }
  }
  return null;
}
