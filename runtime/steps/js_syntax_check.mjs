// Reads a JSON list of ES module sources on stdin; writes, for each, null when it
// compiles or the SyntaxError's message. Compiles only: nothing is linked or evaluated.
import vm from "node:vm";

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((source) => {
    try {
      new vm.SourceTextModule(source, { identifier: "handler.mjs" });
      return null;
    } catch (error) {
      const where = /handler\.mjs:(\d+)/.exec(String(error.stack));
      return (where ? `SyntaxError on line ${where[1]}: ` : "SyntaxError: ") + error.message;
    }
  });
  process.stdout.write(JSON.stringify(results));
});
