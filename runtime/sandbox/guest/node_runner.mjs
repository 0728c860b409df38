// Tributary's Node runner: runs INSIDE the sandbox, started before any request arrives.
// argv: <handler path> <result fd> <output limit in bytes>.
// It writes "R" on the result fd when warm, reads one request (JSON) from stdin, writes the
// user's module to <handler path>, imports it, calls handler(event, context) and writes a
// tagged result: O<json> | E<{message, traceback}> | I<{message}> | L<size> | M.
// The process serves exactly one execution; the host kills the whole sandbox afterwards.
import fs from "node:fs";
import { pathToFileURL } from "node:url";

const [handlerPath, resultFdText] = process.argv.slice(1);
const resultFd = Number(resultFdText);
const unavailable = (name) =>
  `Module '${name}' is not available to code steps; ` +
  "an admin can allow it in TRIBUTARY_CODE_NPM_PACKAGES";
let reported = false;

function send(tag, text = "") {
  if (reported) return;
  reported = true;
  const data = Buffer.from(tag + text, "utf8");
  let offset = 0;
  while (offset < data.length) offset += fs.writeSync(resultFd, data, offset);
  fs.closeSync(resultFd); // tells the host the report is whole
}

function userStack(error) {
  if (!(error instanceof Error) || typeof error.stack !== "string") return null;
  const url = pathToFileURL(handlerPath).href;
  const lines = error.stack.split("\n").filter((line) => {
    if (!/^\s+at /.test(line)) return true;
    return line.includes(url) || line.includes("/node_modules/");
  });
  return lines.join("\n").replaceAll(url, "handler.mjs");
}

function describe(error) {
  if (!(error instanceof Error)) return `Uncaught ${String(error)}`;
  // ERR_MODULE_NOT_FOUND from import, MODULE_NOT_FOUND from require (createRequire);
  // a path (relative or absolute) is the user's own mistake, not a package to declare.
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(error.message);
  const notFound = error.code === "ERR_MODULE_NOT_FOUND" || error.code === "MODULE_NOT_FOUND";
  if (notFound && missing && !/^[./]/.test(missing[1])) {
    return unavailable(missing[1]);
  }
  return `${error.name}: ${String(error.message).split("\n")[0].slice(0, 1000)}`;
}

function fail(error) {
  if (error instanceof RangeError && /allocation failed/i.test(error.message)) {
    send("M");
  } else {
    const traceback = userStack(error);
    send("E", JSON.stringify({ message: describe(error), traceback }));
  }
  process.exit(0);
}

function finite(key, value) {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`The output contains ${value}, which is not valid JSON.`);
  }
  return value;
}

function deliver(value, limit) {
  let text;
  try {
    text = JSON.stringify(value === undefined ? null : value, finite);
  } catch (error) {
    send("I", JSON.stringify({ message: describe(error) }));
    return;
  }
  if (text === undefined) text = "null"; // a function or symbol at the top level
  const size = Buffer.byteLength(text, "utf8");
  if (size > limit) send("L", String(size));
  else send("O", text);
}

async function readRequest() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

// Writes beyond RLIMIT_FSIZE must fail with EFBIG, not kill the process with SIGXFSZ.
process.on("SIGXFSZ", () => {});
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);
// Keeps the event loop alive while the handler awaits something that never settles, so a
// hang is a timeout (Node would otherwise exit with "unsettled top-level await").
const keepAlive = setInterval(() => {}, 1 << 30);
// Start libuv's thread pool now: its threads count against RLIMIT_NPROC (see node_limits).
await fs.promises.stat("/");
fs.writeSync(resultFd, "R");

const request = await readRequest();
fs.writeFileSync(handlerPath, request.source);
try {
  const module = await import(pathToFileURL(handlerPath).href);
  if (typeof module.handler !== "function") {
    throw new Error("Export a function: export async function handler(event, context).");
  }
  const value = await module.handler(request.event, request.context);
  deliver(value, request.output_bytes);
} catch (error) {
  fail(error);
}
clearInterval(keepAlive);
process.exit(0);
