#!/usr/bin/env node
// We support Node 20 (Debian's and this project's floor); the AWS SDK's notice
// about its own future Node floor is not the operator's concern on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const { main } = await import("../dist/cli/main.js");

await main(process.argv);
