// Validates GLB files with the Khronos glTF Validator (npm gltf-validator); prints one JSON report.
const fs = require("fs");
const validator = require("gltf-validator");

async function main() {
  const reports = {};
  for (const file of process.argv.slice(2)) {
    const report = await validator.validateBytes(new Uint8Array(fs.readFileSync(file)), { uri: file, maxIssues: 200 });
    reports[file] = {
      mimeType: report.mimeType,
      numErrors: report.issues.numErrors,
      numWarnings: report.issues.numWarnings,
      errors: report.issues.messages.filter((m) => m.severity === 0),
    };
  }
  console.log(JSON.stringify(reports));
}

main().catch((error) => {
  console.error(String(error));
  process.exit(2);
});
